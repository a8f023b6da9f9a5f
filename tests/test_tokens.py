"""Double opt-in links: signed, purpose-salted, expiring, single use; "It wasn't me" withdraws."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select, update

from petitionkit.extensions import db
from petitionkit.outbox.worker import run_once
from petitionkit.petitions.models import Petition, utcnow
from petitionkit.signatures.models import Signature
from petitionkit.signatures.tokens import Purpose, make_token

from .conftest import add_petition, make_app
from .smtp import RecordingSMTPServer, link_from

SLUG = "free-the-poet"
SIGNER = {"name": "Odile Farrowmere", "email": "odile@example.org"}


@pytest.fixture
def mail_app(tmp_path: Path, migrated_sqlite: Path,
             smtp_server: RecordingSMTPServer) -> Iterator[Flask]:
    application = make_app(tmp_path, migrated_sqlite, MAIL_URL=smtp_server.url)
    add_petition(application)
    yield application
    with application.app_context():
        db.engine.dispose()


def deliver(app: Flask) -> int:
    with app.app_context():
        delivered = run_once(app)
        db.session.remove()
    return delivered


def path_of(url: str) -> str:
    return url.removeprefix("http://localhost")


def count(app: Flask, client: FlaskClient) -> int:
    app.extensions["petitionkit.summary_cache"].clear()
    return int(client.get(f"/api/v1/petitions/{SLUG}").json["count"])


def the_signature(app: Flask) -> Signature:
    with app.app_context():
        signature = db.session.scalars(select(Signature)).one()
        db.session.expunge(signature)
    return signature


def token_for(app: Flask, purpose: Purpose, signature: Signature) -> str:
    return make_token(app.config["SECRET_KEY"], purpose, signature.id, signature.token_nonce)


def sign(app: Flask, client: FlaskClient) -> Signature:
    assert client.post(f"/p/{SLUG}/sign", data=SIGNER).status_code == 303
    return the_signature(app)


class _EightDaysAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time() - timedelta(days=8).total_seconds())


def expired_token(app: Flask, purpose: Purpose, signature: Signature) -> str:
    """A token made by the real serializer eight days ago (the default lifetime is seven)."""
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=purpose.value,
                                        signer=_EightDaysAgo)
    return str(serializer.dumps([signature.id, signature.token_nonce]))


def test_confirm_link_shows_one_button_and_only_the_post_confirms(
    mail_app: Flask, smtp_server: RecordingSMTPServer
) -> None:
    client = mail_app.test_client()
    sign(mail_app, client)
    assert deliver(mail_app) == 1
    [message] = smtp_server.wait_for(1)
    confirm_path = path_of(link_from(message, "http://localhost/confirm/"))

    for _ in range(3):  # a mail scanner may fetch the link several times
        page = client.get(confirm_path)
        assert page.status_code == 200
        assert page.get_data(as_text=True).count("<button") == 1
    assert count(mail_app, client) == 0

    assert client.post(confirm_path).status_code == 200
    assert count(mail_app, client) == 1
    for _ in range(2):
        replay = client.post(confirm_path)
        assert replay.status_code == 200
        assert "Thank you, your signature counts" in replay.get_data(as_text=True)
    assert count(mail_app, client) == 1
    assert the_signature(mail_app).status == "confirmed"


def test_expired_link_offers_a_new_email_that_works(
    mail_app: Flask, smtp_server: RecordingSMTPServer
) -> None:
    client = mail_app.test_client()
    signature = sign(mail_app, client)
    deliver(mail_app)
    smtp_server.wait_for(1)
    old = expired_token(mail_app, Purpose.CONFIRM, signature)

    page = client.get(f"/confirm/{old}")
    assert page.status_code == 410
    text = page.get_data(as_text=True)
    assert "This link has expired" in text
    assert f'action="/confirm/{old}/resend"' in text
    assert client.post(f"/confirm/{old}").status_code == 410
    assert count(mail_app, client) == 0

    resent = client.post(f"/confirm/{old}/resend")
    assert resent.status_code == 200
    assert "Check your email" in resent.get_data(as_text=True)
    assert deliver(mail_app) == 1
    messages = smtp_server.wait_for(2)
    fresh = path_of(link_from(messages[1], "http://localhost/confirm/"))
    assert client.post(fresh).status_code == 200
    assert count(mail_app, client) == 1


def test_expired_link_of_a_confirmed_signature_says_so(app: Flask, client: FlaskClient,
                                                       petition: str) -> None:
    signature = sign(app, client)
    assert client.post(f"/confirm/{token_for(app, Purpose.CONFIRM, signature)}").status_code == 200
    old = expired_token(app, Purpose.CONFIRM, signature)
    page = client.get(f"/confirm/{old}")
    assert page.status_code == 200
    assert "your signature counts" in page.get_data(as_text=True)


@pytest.mark.parametrize("where", ["payload", "signature", "truncated", "other-secret"])
def test_tampered_links_get_a_clear_page(app: Flask, client: FlaskClient, petition: str,
                                         where: str) -> None:
    signature = sign(app, client)
    token = token_for(app, Purpose.CONFIRM, signature)
    payload, timestamp, mac = token.split(".")
    flip = {"A": "B"}.get(mac[0], "A")
    tampered = {
        "payload": f"{payload[:-1]}{'x' if payload[-1] != 'x' else 'y'}.{timestamp}.{mac}",
        "signature": f"{payload}.{timestamp}.{flip}{mac[1:]}",
        "truncated": token[:-5],
        "other-secret": make_token("another-secret-0123456789", Purpose.CONFIRM,
                                   signature.id, signature.token_nonce),
    }[where]
    for method in (client.get, client.post):
        response = method(f"/confirm/{tampered}")
        assert response.status_code == 400
        assert "This link does not work" in response.get_data(as_text=True)
    assert client.post(f"/confirm/{tampered}/resend").status_code == 400
    assert count(app, client) == 0


def test_a_cancel_token_does_not_confirm_and_a_confirm_token_does_not_cancel(
    app: Flask, client: FlaskClient, petition: str
) -> None:
    signature = sign(app, client)
    cancel_token = token_for(app, Purpose.CANCEL, signature)
    confirm_token = token_for(app, Purpose.CONFIRM, signature)
    assert client.post(f"/confirm/{cancel_token}").status_code == 400
    assert client.post(f"/confirm/{cancel_token}/resend").status_code == 400
    assert the_signature(app).status == "pending"
    assert client.post(f"/cancel/{confirm_token}").status_code == 400
    assert the_signature(app).status == "pending"


def test_token_of_a_recreated_signature_does_not_carry_over(
    app: Flask, client: FlaskClient, petition: str
) -> None:
    signature = sign(app, client)
    token = token_for(app, Purpose.CONFIRM, signature)
    with app.app_context():
        db.session.execute(update(Signature).values(token_nonce="another-nonce"))
        db.session.commit()
    assert client.post(f"/confirm/{token}").status_code == 400
    assert the_signature(app).status == "pending"


def test_it_wasnt_me_withdraws_a_confirmed_signature_and_stops_mail(
    mail_app: Flask, smtp_server: RecordingSMTPServer
) -> None:
    client = mail_app.test_client()
    sign(mail_app, client)
    deliver(mail_app)
    [message] = smtp_server.wait_for(1)
    assert client.post(path_of(link_from(message, "http://localhost/confirm/"))).status_code == 200
    assert count(mail_app, client) == 1

    cancel_path = path_of(link_from(message, "http://localhost/cancel/"))
    assert message["List-Unsubscribe"] == f"<http://localhost{cancel_path}>"
    page = client.get(cancel_path)
    assert page.status_code == 200
    assert page.get_data(as_text=True).count("<button") == 1
    assert count(mail_app, client) == 1, "a GET must not cancel"

    done = client.post(cancel_path)
    assert done.status_code == 200
    assert "Your signature was withdrawn" in done.get_data(as_text=True)
    assert count(mail_app, client) == 0
    assert client.post(cancel_path).status_code == 200
    assert count(mail_app, client) == 0, "a replayed cancel changes nothing"

    confirm_again = client.post(path_of(link_from(message, "http://localhost/confirm/")))
    assert confirm_again.status_code == 410
    assert count(mail_app, client) == 0

    assert client.post(f"/p/{SLUG}/sign", data=SIGNER).status_code == 303
    assert deliver(mail_app) == 0
    time.sleep(0.3)
    assert len(smtp_server.messages) == 1, "no more mail to this address for this petition"


def test_it_wasnt_me_before_delivery_drops_the_queued_mail(
    mail_app: Flask, smtp_server: RecordingSMTPServer
) -> None:
    client = mail_app.test_client()
    signature = sign(mail_app, client)
    cancel_path = f"/cancel/{token_for(mail_app, Purpose.CANCEL, signature)}"
    assert client.post(cancel_path).status_code == 200
    deliver(mail_app)
    time.sleep(0.3)
    assert smtp_server.messages == []
    assert the_signature(mail_app).status == "cancelled"
    assert count(mail_app, client) == 0


def test_cancel_links_do_not_expire(app: Flask, client: FlaskClient, petition: str) -> None:
    signature = sign(app, client)
    old = expired_token(app, Purpose.CANCEL, signature)
    assert client.get(f"/cancel/{old}").status_code == 200
    assert client.post(f"/cancel/{old}").status_code == 200
    assert the_signature(app).status == "cancelled"


def test_confirming_after_the_petition_closed_is_refused(
    app: Flask, client: FlaskClient, petition: str
) -> None:
    signature = sign(app, client)
    with app.app_context():
        db.session.execute(update(Petition).values(closes_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    confirm_path = f"/confirm/{token_for(app, Purpose.CONFIRM, signature)}"
    for method in (client.get, client.post):
        response = method(confirm_path)
        assert response.status_code == 409
        assert "This petition is closed" in response.get_data(as_text=True)
    assert count(app, client) == 0
    assert the_signature(app).status == "pending"


def test_concurrent_confirm_presses_count_once(pg_app: Flask) -> None:
    from concurrent.futures import ThreadPoolExecutor

    add_petition(pg_app)
    client = pg_app.test_client()
    signature = sign(pg_app, client)
    confirm_path = f"/confirm/{token_for(pg_app, Purpose.CONFIRM, signature)}"

    def press(_: int) -> int:
        return pg_app.test_client().post(confirm_path).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(press, range(16)))
    assert statuses == [200] * 16
    with pg_app.app_context():
        assert db.session.scalar(select(Petition.signature_count)) == 1
        db.session.remove()



def test_new_links_share_the_daily_mail_allowance(app: Flask, client: FlaskClient,
                                                  petition: str) -> None:
    from petitionkit.outbox.models import OutboxJob

    signature = sign(app, client)
    old = expired_token(app, Purpose.CONFIRM, signature)
    cap = app.config["MAX_EMAILS_PER_ADDRESS_PER_DAY"]
    answers = [client.post(f"/confirm/{old}/resend") for _ in range(cap + 1)]
    assert {response.status_code for response in answers} == {200}
    assert len({response.get_data() for response in answers}) == 1
    with app.app_context():
        queued = db.session.scalar(select(func.count()).select_from(OutboxJob))
    assert queued == cap, "the first mail and the new links together stay within the cap"
