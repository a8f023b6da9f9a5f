"""Signing in to the workspace: password, then a second factor; sessions, cookies, CSRF, roles,
rate limits and hostile input on every /admin route."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from petitionkit.admin import dashboard
from petitionkit.admin.models import StaffSession, StaffUser
from petitionkit.extensions import db
from petitionkit.petitions.models import utcnow
from petitionkit.signatures import figures
from petitionkit.signatures.models import Signature
from petitionkit.testing import sign_and_confirm

from .admin import PASSWORD, add_user, csrf_token, enrol, password_step, post_form, sign_in
from .conftest import add_petition, make_app

WRONG = "The e-mail address or the password is not right."


def test_wrong_password_and_unknown_account_get_the_same_answer(
    app: Flask, client: FlaskClient
) -> None:
    add_user(app, "ana@example.org", "owner")
    wrong = password_step(client, "ana@example.org", "not the password")
    unknown = password_step(app.test_client(), "nobody@example.org", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    for answer in (wrong, unknown):
        assert WRONG in answer.get_data(as_text=True)
        assert "not the password" not in answer.get_data(as_text=True)
    # The pages differ only in the address typed and the CSRF token.
    strip = [line for line in wrong.get_data(as_text=True).splitlines()
             if "csrf_token" not in line and "ana@" not in line]
    other = [line for line in unknown.get_data(as_text=True).splitlines()
             if "csrf_token" not in line and "nobody@" not in line]
    assert strip == other


def test_a_disabled_account_or_one_without_password_gets_the_same_answer(
    app: Flask, client: FlaskClient
) -> None:
    add_user(app, "ana@example.org", "owner")
    app.test_cli_runner().invoke(args=["users", "add", "new@example.org", "--role", "viewer"])
    with app.app_context():
        db.session.execute(update(StaffUser).where(StaffUser.email == "ana@example.org")
                           .values(disabled=True))
        db.session.commit()
    for email in ("ana@example.org", "new@example.org"):
        answer = password_step(app.test_client(), email, PASSWORD)
        assert answer.status_code == 401
        assert WRONG in answer.get_data(as_text=True)


def test_the_second_factor_is_required_and_checked(app: Flask, client: FlaskClient) -> None:
    add_user(app, "ana@example.org", "owner")
    enrolled = enrol(client, "ana@example.org")
    assert client.get("/admin/").status_code == 200
    post_form(client, "/admin/logout", {}, token_from="/admin/")
    assert client.get("/admin/").status_code == 303

    after_password = password_step(client, "ana@example.org")
    assert after_password.status_code == 303
    assert after_password.location.endswith("/admin/login/second-factor")
    # The password alone opens nothing.
    assert client.get("/admin/").status_code == 303
    wrong = post_form(client, "/admin/login/second-factor", {"code": "000000"})
    assert wrong.status_code == 401
    assert "This code is not right" in wrong.get_data(as_text=True)
    not_digits = post_form(client, "/admin/login/second-factor", {"code": "abcdef"})
    assert not_digits.status_code == 401
    right = post_form(client, "/admin/login/second-factor", {"code": enrolled.code()})
    assert right.status_code == 303
    assert client.get("/admin/").status_code == 200


def test_a_totp_code_is_accepted_once(app: Flask, client: FlaskClient) -> None:
    add_user(app, "ana@example.org", "owner")
    enrolled = enrol(client, "ana@example.org")
    other = app.test_client()
    password_step(other, "ana@example.org")
    # The code of the enrolment itself cannot be used again.
    enrolment_code = pyotp.TOTP(enrolled.secret).generate_otp(enrolled.last_step)
    replay = post_form(other, "/admin/login/second-factor", {"code": enrolment_code})
    assert replay.status_code == 401
    code = enrolled.code()
    assert post_form(other, "/admin/login/second-factor", {"code": code}).status_code == 303
    third = app.test_client()
    password_step(third, "ana@example.org")
    assert post_form(third, "/admin/login/second-factor", {"code": code}).status_code == 401


def test_the_totp_secret_is_not_stored_in_the_clear(app: Flask, client: FlaskClient) -> None:
    add_user(app, "ana@example.org", "owner")
    enrolled = enrol(client, "ana@example.org")
    with app.app_context():
        user = db.session.scalars(select(StaffUser)).one()
        assert user.totp_secret is not None
        assert enrolled.secret.encode() not in user.totp_secret
        assert all(code not in repr(user.recovery_codes) for code in enrolled.recovery_codes)


def test_a_recovery_code_works_once(app: Flask, client: FlaskClient) -> None:
    add_user(app, "ana@example.org", "owner")
    enrolled = enrol(client, "ana@example.org")
    code = enrolled.recovery_codes[3]
    for attempt in range(2):
        browser = app.test_client()
        password_step(browser, "ana@example.org")
        answer = post_form(browser, "/admin/login/second-factor", {"code": code.upper()})
        if attempt == 0:
            assert answer.status_code == 303
            assert browser.get("/admin/").status_code == 200
        else:
            assert answer.status_code == 401
    with app.app_context():
        assert len(db.session.scalars(select(StaffUser)).one().recovery_codes) == 9


def test_without_a_required_second_factor_the_password_suffices(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    app = make_app(tmp_path, migrated_sqlite, ADMIN_REQUIRE_SECOND_FACTOR=False)
    add_user(app, "ana@example.org", "viewer")
    client = app.test_client()
    answer = password_step(client, "ana@example.org")
    assert answer.status_code == 303 and answer.location.endswith("/admin/")
    assert client.get("/admin/").status_code == 200


def test_the_second_step_expires_and_needs_the_password_first(
    app: Flask, client: FlaskClient
) -> None:
    assert client.get("/admin/login/second-factor").status_code == 303
    assert client.get("/admin/login/enrol").status_code == 303
    add_user(app, "ana@example.org", "owner")
    password_step(client, "ana@example.org")
    with client.session_transaction("/admin/login") as session:
        session["pending"] = {**session["pending"], "at": session["pending"]["at"] - 3600}
    assert client.get("/admin/login/enrol").location.endswith("/admin/login")


def test_sessions_end_after_the_idle_timeout(app: Flask, client: FlaskClient) -> None:
    sign_in(client, "ana@example.org", "viewer", app)
    with app.app_context():
        db.session.execute(update(StaffSession).values(
            last_seen_at=utcnow() - timedelta(minutes=29)))
        db.session.commit()
    assert client.get("/admin/").status_code == 200
    with app.app_context():
        db.session.execute(update(StaffSession).values(
            last_seen_at=utcnow() - timedelta(minutes=31)))
        db.session.commit()
    answer = client.get("/admin/")
    assert answer.status_code == 303
    assert "/admin/login" in answer.location
    with app.app_context():
        assert db.session.scalar(select(StaffSession)) is None


def test_signing_in_starts_a_new_session_and_signing_out_ends_it(
    app: Flask, client: FlaskClient
) -> None:
    add_user(app, "ana@example.org", "owner")
    client.get("/admin/login")
    before = client.get_cookie("petitionkit_admin", path="/admin")
    assert before is not None
    enrol(client, "ana@example.org")
    after = client.get_cookie("petitionkit_admin", path="/admin")
    assert after is not None and after.value != before.value
    # A copy of the signed-in cookie stops working once its owner signs out.
    stolen = app.test_client()
    stolen.set_cookie("petitionkit_admin", after.value, path="/admin")
    assert stolen.get("/admin/").status_code == 200
    post_form(client, "/admin/logout", {}, token_from="/admin/")
    assert stolen.get("/admin/").status_code == 303


def test_removing_an_account_ends_its_sessions(app: Flask, client: FlaskClient) -> None:
    add_user(app, "owner@example.org", "owner")
    sign_in(client, "ana@example.org", "editor", app)
    app.test_cli_runner().invoke(args=["users", "remove", "ana@example.org"])
    assert client.get("/admin/").status_code == 303


@pytest.mark.parametrize("public_url, secure", [
    ("http://localhost", False), ("https://petitions.example.org", True),
])
def test_the_session_cookie_flags(tmp_path: Path, migrated_sqlite: Path, public_url: str,
                                  secure: bool) -> None:
    app = make_app(tmp_path, migrated_sqlite, PUBLIC_URL=public_url)
    answer = app.test_client().get("/admin/login", base_url=public_url)
    [cookie] = answer.headers.getlist("Set-Cookie")
    parts = [part.strip() for part in cookie.split(";")]
    assert parts[0].startswith("petitionkit_admin=")
    assert "HttpOnly" in parts
    assert "SameSite=Strict" in parts
    assert "Path=/admin" in parts
    assert ("Secure" in parts) is secure
    assert not any(part.lower().startswith(("expires", "max-age")) for part in parts)


def test_public_pages_still_set_no_cookie(app: Flask, client: FlaskClient, petition: str) -> None:
    for path in ("/", f"/p/{petition}", f"/api/v1/petitions/{petition}", "/healthz"):
        answer = client.get(path)
        assert "Set-Cookie" not in answer.headers, path
    client.get("/admin/login")
    signing = client.post(f"/p/{petition}/sign", data={"name": "A", "email": "a@example.org"})
    assert signing.status_code < 500
    assert "Set-Cookie" not in signing.headers


def test_posts_without_the_csrf_token_are_refused(app: Flask, client: FlaskClient) -> None:
    add_user(app, "ana@example.org", "owner")
    client.get("/admin/login")
    answer = client.post("/admin/login", data={"email": "ana@example.org",
                                                "password": PASSWORD})
    assert answer.status_code == 400
    assert "expired or did not come from this site" in answer.get_data(as_text=True)
    forged = client.post("/admin/login", data={"email": "ana@example.org", "password": PASSWORD,
                                                "csrf_token": "forged"})
    assert forged.status_code == 400
    sign_in(client, "owner@example.org", "owner", app)
    for path in ("/admin/users", "/admin/logout", "/admin/users/1/remove"):
        assert client.post(path, data={"email": "x@example.org", "role": "owner"}
                           ).status_code == 400, path
    assert client.get("/admin/").status_code == 200  # still signed in


def test_a_post_from_another_site_is_refused(app: Flask, client: FlaskClient) -> None:
    token = csrf_token(client, "/admin/login")
    answer = client.post("/admin/login", data={"csrf_token": token, "email": "a@example.org",
                                                "password": PASSWORD},
                         headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert answer.status_code == 403


def test_sign_in_is_rate_limited(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = make_app(tmp_path, migrated_sqlite, RATELIMIT_ADMIN_LOGIN="3/minute")
    client = app.test_client()
    statuses = [password_step(client, "ana@example.org", "wrong password").status_code
                for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


ROLE_PAGES = {"/admin/": "viewer", "/admin/users": "owner", "/admin/audit": "owner"}


@pytest.mark.parametrize("role", ["viewer", "moderator", "editor", "owner"])
def test_roles_are_enforced(app: Flask, client: FlaskClient, role: str) -> None:
    order = ["viewer", "moderator", "editor", "owner"]
    sign_in(client, f"{role}@example.org", role, app)
    for path, needed in ROLE_PAGES.items():
        expected = 200 if order.index(role) >= order.index(needed) else 403
        assert client.get(path).status_code == expected, (role, path)
    if role != "owner":
        token = csrf_token(client, "/admin/")
        answer = client.post("/admin/users", data={"csrf_token": token,
                                                   "email": "x@example.org", "role": "owner"})
        assert answer.status_code == 403


def test_pages_need_a_sign_in_and_come_back_after_it(app: Flask, client: FlaskClient) -> None:
    for path in ROLE_PAGES:
        answer = client.get(path)
        assert answer.status_code == 303 and "/admin/login" in answer.location
    answer = client.get("/admin/audit")
    assert "next=/admin/audit" in answer.location
    add_user(app, "ana@example.org", "owner")
    enrolled = enrol(client, "ana@example.org")
    post_form(client, "/admin/logout", {}, token_from="/admin/")
    token = csrf_token(client, "/admin/login?next=/admin/audit")
    step = client.post("/admin/login?next=/admin/audit", data={
        "csrf_token": token, "email": "ana@example.org", "password": PASSWORD})
    assert step.status_code == 303
    done = post_form(client, "/admin/login/second-factor", {"code": enrolled.code()})
    assert done.location.endswith("/admin/audit")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/admin//evil",
                                    "/\\evil.example", "/p/x"])
def test_the_page_after_sign_in_stays_in_the_workspace(
    app: Flask, client: FlaskClient, target: str
) -> None:
    add_user(app, "ana@example.org", "viewer")
    token = csrf_token(client, "/admin/login")
    app.config["ADMIN_REQUIRE_SECOND_FACTOR"] = False
    answer = client.post("/admin/login", query_string={"next": target}, data={
        "csrf_token": token, "email": "ana@example.org", "password": PASSWORD})
    assert answer.status_code == 303
    assert answer.location == "/admin/"


def test_the_workspace_headers(app: Flask, client: FlaskClient) -> None:
    answer = client.get("/admin/login")
    policy = answer.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Cache-Control"] == "no-store"


def test_the_petitions_page_shows_counts_and_a_trend(app: Flask, client: FlaskClient) -> None:
    slug = add_petition(app)
    add_petition(app, slug="quiet-one", title="A quiet petition")
    sign_and_confirm(app, slug, "Ayşe Yılmaz", "ayse@example.org")
    sign_and_confirm(app, slug, "Bo Chen", "bo@example.org")
    app.test_cli_runner().invoke(args=["petition", "offline", slug, "--add", "40", "--by", "t"])
    sign_in(client, "viewer@example.org", "viewer", app)
    page = client.get("/admin/").get_data(as_text=True)
    assert "Free the poet" in page and "A quiet petition" in page
    assert "<svg class=\"spark\"" in page
    assert "2 signatures confirmed in the last 14 days" in page
    assert ">40<" in page
    assert "Ayşe" not in page and "ayse@" not in page


ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


def admin_paths(app: Flask) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin"):
            paths.append(rule.rule.replace("<token>", "abc").replace("<int:user_id>", "1"))
    return paths


@pytest.mark.parametrize("signed_in", [False, True])
def test_every_method_on_every_admin_route_is_answered_sensibly(
    app: Flask, client: FlaskClient, signed_in: bool
) -> None:
    if signed_in:
        sign_in(client, "owner@example.org", "owner", app)
    paths = admin_paths(app)
    assert len(paths) >= 8
    for path in paths:
        for method in ALL_METHODS:
            answer = client.open(path, method=method)
            assert answer.status_code < 500, (method, path, answer.status_code)
            assert answer.status_code in (200, 204, 303, 400, 403, 404, 405), (
                method, path, answer.status_code)
    assert client.open("/admin/", method="PUT").status_code == 405


@pytest.mark.parametrize("email, password", [
    ("\u202eana@example.org", PASSWORD),
    ("ana@example.org\u0000", PASSWORD),
    ("a" * 5000 + "@example.org", PASSWORD),
    ("ana@example.org", "p" * 5000),
    ("", ""),
    ("ana@example.org", "\u202e" + PASSWORD),
])
def test_hostile_sign_in_input_is_refused_calmly(
    app: Flask, client: FlaskClient, email: str, password: str
) -> None:
    add_user(app, "ana@example.org", "owner")
    answer = password_step(client, email, password)
    assert answer.status_code in (401, 422)
    assert client.get("/admin/").status_code == 303


def test_huge_bodies_and_invalid_utf8_are_refused(app: Flask, client: FlaskClient) -> None:
    token = csrf_token(client, "/admin/login")
    huge = client.post("/admin/login", data={"csrf_token": token, "email": "a@example.org",
                                             "password": "x" * 200_000})
    assert huge.status_code == 413
    raw = b"csrf_token=" + token.encode() + b"&email=%FF%FE%80@example.org&password=%C3%28xx"
    answer = client.post("/admin/login", data=raw,
                         content_type="application/x-www-form-urlencoded")
    assert answer.status_code in (401, 422)
    json_body = client.post("/admin/login", json={"email": "a@example.org"})
    assert json_body.status_code == 400


@pytest.mark.parametrize("database", ["app", "pg_app"])
def test_the_trend_counts_confirmations_per_utc_day(
    request: pytest.FixtureRequest, database: str
) -> None:
    application: Flask = request.getfixturevalue(database)
    slug = add_petition(application)
    ids = [sign_and_confirm(application, slug, f"Signer {n}", f"s{n}@example.org")
           for n in range(4)]
    now = utcnow()
    with application.app_context():
        moments = {ids[0]: now - timedelta(days=1), ids[1]: now - timedelta(days=13),
                   ids[2]: now - timedelta(days=20)}
        for signature_id, moment in moments.items():
            db.session.execute(update(Signature).where(Signature.id == signature_id)
                               .values(confirmed_at=moment))
        # Moved behind the aggregate's back: rebuilt from the signatures, as `recount` does.
        figures.rebuild(db.session())
        db.session.commit()
        [row] = dashboard.petition_rows(db.session(), now)
    assert len(row.per_day) == 14 and row.days[-1] == now.date()
    assert row.per_day[-1] == 1 and row.per_day[-2] == 1 and row.per_day[0] == 1
    assert sum(row.per_day) == 3
    assert row.confirmed == 4
    assert len(row.spark_points.split()) == 14
