"""API tokens in the workspace (owners): create one (shown once), limited to some petitions or
not, see each one's limit and when it was last used, revoke. The same service as
`petitionkit tokens`."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import NotFound

from petitionkit.admin.access import petitions_to_choose_from
from petitionkit.admin.forms import TokenForm, chosen_petitions
from petitionkit.admin.roles import require_role
from petitionkit.admin.views import ACTION_NAMES, bp
from petitionkit.api.tokens import TokenError, create_token, list_tokens, revoke, slugs_of
from petitionkit.extensions import db

ACTION_NAMES.update({"token created": _l("API token created"),
                     "token revoked": _l("API token revoked")})


def _page(form: TokenForm, status: int = 200, chosen: list[str] | None = None,
          **values: Any) -> Any:
    session = db.session()
    tokens = list_tokens(session)
    return render_template("admin/tokens.html", tokens=tokens, form=form,
                           limits={token.id: slugs_of(session, token) for token in tokens},
                           petitions=petitions_to_choose_from(session),
                           chosen=set(chosen or ()), secret=values.get("secret"),
                           created=values.get("created"), error=values.get("error")), status


@bp.route("/tokens", methods=["GET", "POST"])
@require_role("owner")
def tokens() -> Any:
    form = TokenForm()
    if request.method != "POST":
        return _page(form)
    chosen = chosen_petitions(request.form)
    if not form.validate():
        return _page(form, status=422, chosen=chosen)
    try:
        token, secret = create_token(db.session(), str(form.name.data), str(form.role.data),
                                     current_user.email, petitions=chosen)
    except TokenError as error:
        db.session.rollback()
        return _page(form, status=422, chosen=chosen, error=str(error))
    return _page(TokenForm(formdata=None), secret=secret, created=token)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@require_role("owner")
def revoke_token(token_id: int) -> Any:
    try:
        revoke(db.session(), token_id, current_user.email)
    except TokenError as error:
        raise NotFound(str(error)) from error
    return redirect(url_for("admin.tokens"), code=303)
