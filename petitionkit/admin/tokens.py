"""API tokens in the workspace (owners): create one (shown once), see when each was last used,
revoke. The same service as `petitionkit tokens`."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import NotFound

from petitionkit.admin.forms import TokenForm
from petitionkit.admin.roles import require_role
from petitionkit.admin.views import ACTION_NAMES, bp
from petitionkit.api.tokens import TokenError, create_token, list_tokens, revoke
from petitionkit.extensions import db

ACTION_NAMES.update({"token created": _l("API token created"),
                     "token revoked": _l("API token revoked")})


def _page(form: TokenForm, status: int = 200, **values: Any) -> Any:
    return render_template("admin/tokens.html", tokens=list_tokens(db.session()), form=form,
                           secret=values.get("secret"), created=values.get("created"),
                           error=values.get("error")), status


@bp.route("/tokens", methods=["GET", "POST"])
@require_role("owner")
def tokens() -> Any:
    form = TokenForm()
    if request.method != "POST":
        return _page(form)
    if not form.validate():
        return _page(form, status=422)
    try:
        token, secret = create_token(db.session(), str(form.name.data), str(form.role.data),
                                     current_user.email)
    except TokenError as error:
        return _page(form, status=422, error=str(error))
    return _page(TokenForm(formdata=None), secret=secret, created=token)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@require_role("owner")
def revoke_token(token_id: int) -> Any:
    try:
        revoke(db.session(), token_id, current_user.email)
    except TokenError as error:
        raise NotFound(str(error)) from error
    return redirect(url_for("admin.tokens"), code=303)
