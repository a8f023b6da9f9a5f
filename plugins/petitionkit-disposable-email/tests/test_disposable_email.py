"""petitionkit-disposable-email through the real signing form and JSON API."""

from __future__ import annotations

from pathlib import Path

from petitionkit_disposable_email import is_disposable
from sqlalchemy import func, select

from petitionkit.extensions import db
from petitionkit.signatures.models import Signature
from petitionkit.testing import add_petition, make_test_app

MESSAGE = "Please use an address you will keep: temporary inboxes cannot sign this petition."


def test_refuses_disposable_domains_in_the_form_and_the_api(tmp_path: Path) -> None:
    app = make_test_app(tmp_path)
    slug = add_petition(app)
    client = app.test_client()
    page = client.post(f"/p/{slug}/sign", data={"name": "A", "email": "a@mailinator.com"})
    assert page.status_code == 422
    assert MESSAGE in page.text
    api = client.post(f"/api/v1/petitions/{slug}/signatures",
                      json={"name": "B", "email": "b@sub.mailinator.com"})
    assert api.status_code == 422
    assert api.json["errors"] == {"email": [MESSAGE]}
    fine = client.post(f"/api/v1/petitions/{slug}/signatures",
                       json={"name": "C", "email": "c@example.org"})
    assert fine.status_code == 202
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id))) == 1


def test_operator_adds_and_allows_domains(tmp_path: Path) -> None:
    app = make_test_app(tmp_path, PLUGINS={"petitionkit-disposable-email": {
        "extra_domains": ["Throwaway.Example"], "allowed_domains": ["mailinator.com"]}})
    slug = add_petition(app)
    client = app.test_client()
    refused = client.post(f"/api/v1/petitions/{slug}/signatures",
                          json={"name": "A", "email": "a@throwaway.example"})
    assert refused.status_code == 422
    allowed = client.post(f"/api/v1/petitions/{slug}/signatures",
                          json={"name": "B", "email": "b@mailinator.com"})
    assert allowed.status_code == 202


def test_is_disposable() -> None:
    assert is_disposable("x@MAILINATOR.com.")
    assert not is_disposable("x@gmail.com")
    assert not is_disposable("x@example.org")
