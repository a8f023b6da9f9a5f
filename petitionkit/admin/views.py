"""The organisers' workspace under /admin: sign-in, accounts, the audit log, the petitions.

Each view is a thin shell over petitionkit/admin/accounts.py, audit.py and dashboard.py; what
role it needs is written on it with ``require_role``. Every POST here carries Flask-WTF's CSRF
token and comes from our own origin (``refuse_forged_posts``).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import qrcode
import qrcode.image.svg
from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_date, gettext
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf, validate_csrf
from markupsafe import Markup
from werkzeug.exceptions import BadRequest, Forbidden, NotFound
from werkzeug.wrappers import Response as BaseResponse
from wtforms.validators import ValidationError

from petitionkit.admin import access, accounts, audit, dashboard, passkeys
from petitionkit.admin.accounts import AccountError
from petitionkit.admin.forms import (
    AddUserForm,
    CodeForm,
    LimitForm,
    LoginForm,
    SetPasswordForm,
    chosen_petitions,
)
from petitionkit.admin.models import PASSKEY_NAME_MAX, StaffUser
from petitionkit.admin.roles import require_role
from petitionkit.admin.sessions import (
    end_idle_sessions,
    end_session,
    load_session_user,
    start_session,
)
from petitionkit.extensions import db
from petitionkit.keys import KEYS
from petitionkit.security import is_cross_site_post
from petitionkit.signatures.limits import check_client_limit

bp = Blueprint("admin", __name__, url_prefix="/admin")
login_manager = LoginManager()
# Sign-ins are rows of staff_sessions (sessions.py), revoked there; Flask-Login's own checks
# would put a hash of the client's address into the cookie for nothing.
login_manager.session_protection = None

# The workspace's pages load only their own stylesheet and scripts (the bulk invalidation's
# progress fetches its own page again, passkeys post to the workspace); nothing may frame them.
ADMIN_POLICY = (
    "default-src 'none'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# How long the password step of a sign-in waits for its second factor, in seconds.
PENDING_SECONDS = 600
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Endpoints whose forms may be larger than MAX_CONTENT_LENGTH (a petition's text), and how large.
LARGE_FORMS: set[str] = set()
LARGE_FORM_BYTES = 1024 * 1024

# How the pages name what the database keeps as plain words.
STATUS_NAMES = {
    "draft": _l("draft"), "open": _l("open"), "scheduled": _l("scheduled"),
    "closed": _l("closed"), "archived": _l("archived"),
}
SIGNATURE_STATES = {
    "pending": _l("waiting for confirmation"), "confirmed": _l("confirmed"),
    "cancelled": _l("withdrawn"),
}
ROLE_NAMES = {
    "viewer": _l("viewer"), "moderator": _l("moderator"), "editor": _l("editor"),
    "owner": _l("owner"),
}
ACTION_NAMES = {
    "signed in": _l("signed in"), "signed out": _l("signed out"),
    "sign-in failed": _l("sign-in failed"), "second factor failed": _l("second factor failed"),
    "second factor enrolled": _l("second factor set up"),
    "recovery code used": _l("recovery code used"), "password set": _l("password set"),
    "user added": _l("user added"), "user removed": _l("user removed"),
    "petitions limited": _l("petitions limited"),
    "passkey added": _l("passkey added"), "passkey removed": _l("passkey removed"),
    "second factor reset": _l("second factor reset"),
    "user disabled": _l("account disabled"), "user enabled": _l("account enabled"),
}


def _idle() -> timedelta:
    return timedelta(minutes=float(current_app.config["ADMIN_IDLE_MINUTES"]))


@login_manager.user_loader
def _load_user(token: str) -> StaffUser | None:
    return load_session_user(db.session(), token, _idle())


@login_manager.unauthorized_handler
def _to_sign_in() -> BaseResponse:
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("admin.login", next=target), code=303)


@bp.before_request
def refuse_forged_posts() -> None:
    if request.method in _SAFE_METHODS:
        return
    if request.endpoint in LARGE_FORMS:
        request.max_content_length = request.max_form_memory_size = LARGE_FORM_BYTES
    if is_cross_site_post():
        raise Forbidden(gettext("This form was sent from another site and was refused."))
    # Forms carry the token as a field; the passkey script sends JSON with it in a header.
    token = request.form.get("csrf_token") or request.headers.get("X-CSRFToken")
    try:
        validate_csrf(token)
    except ValidationError as error:
        raise BadRequest(gettext(
            "This form has expired or did not come from this site. Please go back, reload the "
            "page and try again."
        )) from error


def _format_hour(moment: Any) -> str:
    return f"{format_date(moment)} {moment:%H}:00"


@bp.context_processor
def workspace_names() -> dict[str, Any]:
    return {"status_names": STATUS_NAMES, "role_names": ROLE_NAMES,
            "signature_states": SIGNATURE_STATES,
            "action_names": ACTION_NAMES, "format_day": format_date,
            "format_hour": _format_hour,
            "csrf_token": generate_csrf, "passkey_name_max": PASSKEY_NAME_MAX,
            "passkeys_usable": passkeys.usable_at(str(current_app.config["PUBLIC_URL"]))}


@bp.after_request
def workspace_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = ADMIN_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a page of the workspace, never another site."""
    if target and target.startswith("/admin/") and not target.startswith("/admin//") \
            and "\\" not in target:
        return target
    return url_for("admin.index")


# Signing in ---------------------------------------------------------------------------------

def _sign_in(user: StaffUser) -> None:
    """A new session for ``user``: whatever the cookie held before is dropped (no fixation)."""
    session.clear()
    end_idle_sessions(db.session(), _idle())
    start_session(db.session(), user)
    login_user(user)
    audit.record(db.session(), user.email, "signed in", user.email)
    db.session.commit()


def _start_second_step(user: StaffUser, next_page: str) -> BaseResponse:
    session.clear()
    session["pending"] = {"user": user.id, "at": int(time.time()), "next": next_page}
    step = "admin.second_factor" if user.has_second_factor else "admin.enrol"
    return redirect(url_for(step), code=303)


def _pending_user() -> StaffUser | None:
    """The account whose password was right a moment ago, waiting for its second factor."""
    pending = session.get("pending")
    if not isinstance(pending, dict):
        return None
    user_id, at = pending.get("user"), pending.get("at")
    if not isinstance(user_id, int) or not isinstance(at, int):
        return None
    if time.time() - at > PENDING_SECONDS:
        return None
    user = db.session.get(StaffUser, user_id)
    if user is None or user.disabled:
        return None
    return user


def _pending_next() -> str:
    pending = session.get("pending")
    target = pending.get("next") if isinstance(pending, dict) else None
    return _safe_next(target if isinstance(target, str) else None)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    next_page = _safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_page, code=303)
    form = LoginForm()
    if request.method != "POST":
        return render_template("admin/login.html", form=form, error=None)
    check_client_limit(str(current_app.config["RATELIMIT_ADMIN_LOGIN"]), "admin-login")
    if not form.validate():
        return render_template("admin/login.html", form=form, error=None), 422
    user = accounts.find_user(db.session(), str(form.email.data))
    if accounts.verify_password(user, str(form.password.data)):
        assert user is not None
        if user.has_second_factor or current_app.config["ADMIN_REQUIRE_SECOND_FACTOR"]:
            return _start_second_step(user, next_page)
        _sign_in(user)
        return redirect(next_page, code=303)
    audit.record(db.session(), None, "sign-in failed",
                 user.email if user is not None else audit.UNKNOWN_ACCOUNT)
    db.session.commit()
    # The same answer whether the address has an account or not.
    error = gettext("The e-mail address or the password is not right.")
    return render_template("admin/login.html", form=form, error=error), 401


@bp.route("/login/second-factor", methods=["GET", "POST"])
def second_factor() -> Any:
    user = _pending_user()
    if user is None or not user.has_second_factor:
        return redirect(url_for("admin.login"), code=303)
    form = CodeForm()
    if request.method != "POST":
        return render_template("admin/second_factor.html", form=form, user=user, error=None)
    check_client_limit(str(current_app.config["RATELIMIT_ADMIN_LOGIN"]), "admin-second-factor")
    if not form.validate():
        return render_template("admin/second_factor.html", form=form, user=user, error=None), 422
    code = str(form.code.data)
    keys = KEYS.of()
    try:
        accepted = accounts.check_totp(db.session(), keys, user, code) or (
            accounts.looks_like_recovery_code(code)
            and accounts.use_recovery_code(db.session(), keys, user, code)
        )
    except AccountError as error:
        return render_template("admin/second_factor.html", form=form, user=user,
                               error=str(error)), 409
    if accepted:
        next_page = _pending_next()
        _sign_in(user)
        return redirect(next_page, code=303)
    audit.record(db.session(), None, "second factor failed", user.email)
    db.session.commit()
    error_text = gettext("This code is not right. Codes change every 30 seconds.")
    return render_template("admin/second_factor.html", form=form, user=user,
                           error=error_text), 401


def qr_code_svg(text: str) -> Markup:
    """``text`` as a QR code in inline SVG, drawn on the server (no script, no image request)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    svg = image.to_string(encoding="unicode")
    return Markup(svg)  # noqa: S704 - drawn by the library from our own otpauth URI


@bp.route("/login/enrol", methods=["GET", "POST"])
def enrol() -> Any:
    """The first sign-in of an account without a second factor: set up an authenticator app."""
    user = _pending_user()
    if user is None:
        return redirect(url_for("admin.login"), code=303)
    if user.has_second_factor:
        return redirect(url_for("admin.second_factor"), code=303)
    keys = KEYS.of()
    sealed = session.get("enrol_secret")
    if not isinstance(sealed, bytes):
        sealed = accounts.seal_totp_secret(keys, accounts.new_totp_secret())
        session["enrol_secret"] = sealed
    secret = accounts.open_totp_secret(keys, sealed)
    uri = accounts.provisioning_uri(secret, user.email, accounts.TOTP_ISSUER)
    form = CodeForm()
    page: dict[str, Any] = {"form": form, "secret": secret, "uri": uri,
                            "qr": qr_code_svg(uri), "error": None}
    if request.method != "POST":
        return render_template("admin/enrol.html", **page)
    check_client_limit(str(current_app.config["RATELIMIT_ADMIN_LOGIN"]), "admin-second-factor")
    if not form.validate():
        return render_template("admin/enrol.html", **page), 422
    step = accounts.check_enrolment_code(secret, str(form.code.data))
    if step is None:
        page["error"] = gettext("This code is not right. Check the clock of your phone and "
                                "enter the code the app shows now.")
        return render_template("admin/enrol.html", **page), 401
    next_page = _pending_next()
    codes = accounts.enrol_totp(db.session(), keys, user, secret, step, user.email)
    _sign_in(user)
    return render_template("admin/recovery_codes.html", codes=codes, next_page=next_page)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    if current_user.is_authenticated:
        audit.record(db.session(), current_user.email, "signed out", current_user.email)
        end_session(db.session(), current_user.session_token)
    logout_user()
    session.clear()
    return redirect(url_for("admin.login"), code=303)


@bp.route("/setup/<token>", methods=["GET", "POST"])
def set_password(token: str) -> Any:
    """The one-time link that sets an account's password."""
    try:
        user = accounts.user_of_setup_token(
            db.session(), KEYS.of(), token, int(current_app.config["ADMIN_SETUP_LINK_MAX_AGE"])
        )
    except AccountError as error:
        return render_template("admin/message.html", title=gettext("Link not usable"),
                               message=str(error)), 400
    form = SetPasswordForm()
    minimum = int(current_app.config["ADMIN_PASSWORD_MIN_LENGTH"])
    if request.method != "POST" or not form.validate():
        status = 200 if request.method != "POST" else 422
        return render_template("admin/set_password.html", form=form, user=user,
                               minimum=minimum), status
    try:
        accounts.set_password(db.session(), user, str(form.password.data), minimum, user.email)
    except AccountError as error:
        form.password.errors = [str(error)]
        return render_template("admin/set_password.html", form=form, user=user,
                               minimum=minimum), 422
    return render_template(
        "admin/message.html", title=gettext("Password set"),
        message=gettext("Your password is set. You can sign in now."),
        link=url_for("admin.login"), link_text=gettext("Sign in"),
    )


# The workspace ------------------------------------------------------------------------------

@bp.route("/", methods=["GET"])
@require_role("viewer")
def index() -> Any:
    plugin_labels: list[str] = []
    rows = dashboard.petition_rows(db.session(), plugin_labels=plugin_labels,
                                   only=access.limited_to(db.session(), current_user))
    return render_template("admin/index.html", rows=rows, plugin_labels=plugin_labels,
                           trend_days=dashboard.TREND_DAYS,
                           spark_width=dashboard.SPARK_WIDTH,
                           spark_height=dashboard.SPARK_HEIGHT)


def _users_page(form: AddUserForm, status: int = 200, link: str | None = None,
                added: StaffUser | None = None, error: str | None = None) -> Any:
    users = accounts.list_users(db.session())
    limits = {user.id: access.slugs_of(db.session(), user) for user in users}
    return render_template("admin/users.html", users=users, form=form, limits=limits,
                           link=link, added=added, error=error), status


@bp.route("/users", methods=["GET", "POST"])
@require_role("owner")
def users() -> Any:
    form = AddUserForm()
    if request.method != "POST":
        return _users_page(form)
    if not form.validate():
        return _users_page(form, status=422)
    try:
        user = accounts.add_user(db.session(), str(form.email.data), str(form.role.data),
                                 current_user.email)
    except AccountError as error:
        return _users_page(form, status=422, error=str(error))
    token = accounts.issue_setup_token(db.session(), KEYS.of(), user)
    link = accounts.setup_link(str(current_app.config["PUBLIC_URL"]), token)
    return _users_page(AddUserForm(formdata=None), link=link, added=user)


@bp.route("/users/<int:user_id>/remove", methods=["POST"])
@require_role("owner")
def remove_user(user_id: int) -> Any:
    user = db.session.get(StaffUser, user_id)
    if user is None:
        raise NotFound()
    try:
        accounts.remove_user(db.session(), user, current_user.email)
    except AccountError as error:
        return _users_page(AddUserForm(formdata=None), status=409, error=str(error))
    return redirect(url_for("admin.users"), code=303)


def _owner_action(user_id: int, action: Any) -> Any:
    """Run ``action(session, user, actor)`` on an account from the users page."""
    user = db.session.get(StaffUser, user_id)
    if user is None:
        raise NotFound()
    try:
        action(db.session(), user, current_user.email)
    except AccountError as error:
        db.session.rollback()
        return _users_page(AddUserForm(formdata=None), status=409, error=str(error))
    return redirect(url_for("admin.users"), code=303)


@bp.route("/users/<int:user_id>/reset-second-factor", methods=["POST"])
@require_role("owner")
def reset_second_factor(user_id: int) -> Any:
    """Forget the account's passkeys and authenticator app; it sets one up at next sign-in."""
    return _owner_action(user_id, passkeys.reset_second_factor)


@bp.route("/users/<int:user_id>/disable", methods=["POST"])
@require_role("owner")
def disable_user(user_id: int) -> Any:
    return _owner_action(user_id, accounts.disable_user)


@bp.route("/users/<int:user_id>/enable", methods=["POST"])
@require_role("owner")
def enable_user(user_id: int) -> Any:
    return _owner_action(user_id, accounts.enable_user)


@bp.route("/users/<int:user_id>/petitions", methods=["GET", "POST"])
@require_role("owner")
def user_petitions(user_id: int) -> Any:
    """Limit an account to some petitions, or lift its limit (no box ticked)."""
    user = db.session.get(StaffUser, user_id)
    if user is None:
        raise NotFound()
    petitions = access.petitions_to_choose_from(db.session())
    form = LimitForm()
    error = None
    status = 200
    if request.method == "POST":
        if not form.validate():
            status = 422
            error = gettext("The form had expired; please try again.")
        else:
            try:
                access.limit(db.session(), user, chosen_petitions(request.form),
                             current_user.email)
            except AccountError as refused:
                db.session.rollback()
                status, error = 422, str(refused)
            else:
                db.session.commit()
                return redirect(url_for("admin.users"), code=303)
    return render_template("admin/user_petitions.html", user=user, petitions=petitions,
                           chosen=set(access.slugs_of(db.session(), user)), form=form,
                           error=error), status


@bp.route("/audit", methods=["GET"])
@require_role("owner")
def audit_log() -> Any:
    before = request.args.get("before", type=int)
    entries = audit.entries(db.session(), before=before)
    older = entries[-1].id if len(entries) == audit.PAGE_SIZE else None
    return render_template("admin/audit.html", entries=entries, older=older)
