"""The embeddable widget: the iframe document and its pages."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from petitionkit.petitions.goals import current_goal
from petitionkit.petitions.models import Petition
from petitionkit.petitions.services import petition_or_404
from petitionkit.signatures.forms import SignatureForm, country_choices

bp = Blueprint("embed", __name__)


def render_embed_page(petition: Petition, form: SignatureForm, status: int = 200) -> tuple[str, int]:
    from petitionkit.i18n import current_locale_name

    body = render_template(
        "embed/show.html",
        petition=petition,
        form=form,
        goal=current_goal(petition, petition.signature_count),
        countries=country_choices(current_locale_name()) if petition.asks_country else [],
        is_open=petition.is_open(),
    )
    return body, status


@bp.get("/embed/<slug>")
def show(slug: str) -> tuple[str, int]:
    petition = petition_or_404(slug)
    return render_embed_page(petition, SignatureForm(petition, formdata=None))


@bp.get("/embed/<slug>/check-email")
def check_email(slug: str) -> str:
    petition = petition_or_404(slug)
    return render_template(
        "embed/check_email.html",
        petition=petition,
        demo_mail_dir=current_app.config["DEV_MAIL_DIR"] if not current_app.config["MAIL_URL"] else None,
    )
