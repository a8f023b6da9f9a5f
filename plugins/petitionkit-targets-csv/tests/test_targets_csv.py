"""petitionkit-targets-csv: targets by country and postal-code prefix, with fallbacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from petitionkit.extensions import db
from petitionkit.petitions.models import Petition
from petitionkit.plugins import PluginConfigError
from petitionkit.signatures.models import Signature
from petitionkit.targets.delivery import targets_for
from petitionkit.testing import add_petition, make_test_app, run_jobs, sign_and_confirm

TABLE = """country,postal_code,petition,name,title,email,salutation,languages
GB,SW1A,,Member for Example Central,MP,central@example.org,Dear Member,en
GB,SW1A 2,,Member for Example South,MP,south@example.org,Dear Member,en
GB,SW1A 2,,Second Member for Example South,MP,south2@example.org,Dear Member,en
FR,,,Ambassador of Examplestan,,embassy@example.org,Dear Ambassador,"fr, en"
DE,,other-petition,Only for the other petition,,other@example.org,,
"""

FALLBACK = {"name": "Minister of Examples", "email": "minister@example.gov"}


def csv_app(tmp_path: Path, table: str = TABLE, **settings: Any) -> Any:
    path = tmp_path / "targets.csv"
    path.write_text(table, encoding="utf-8")
    return make_test_app(tmp_path, PLUGINS={"petitionkit-targets-csv": {"path": str(path),
                                                                        **settings}})


def targets_of(app: Any, signature_id: int) -> list[str]:
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        petition = db.session.get(Petition, signature.petition_id)
        return [target.name for target in targets_for(petition, signature, app)]


def test_longest_postal_prefix_wins_and_all_its_rows_are_targets(tmp_path: Path) -> None:
    app = csv_app(tmp_path)
    slug = add_petition(app, targets=[FALLBACK])
    south = sign_and_confirm(app, slug, "A", "a@example.org", country="GB", postal_code="sw1a 2aa")
    central = sign_and_confirm(app, slug, "B", "b@example.org", country="GB",
                               postal_code="SW1A 1AA")
    france = sign_and_confirm(app, slug, "C", "c@example.org", country="FR", postal_code="75001")
    assert targets_of(app, south) == ["Member for Example South", "Second Member for Example South"]
    assert targets_of(app, central) == ["Member for Example Central"]
    assert targets_of(app, france) == ["Ambassador of Examplestan"]


def test_uncovered_signers_fall_back_to_the_petition_file(tmp_path: Path) -> None:
    app = csv_app(tmp_path)
    slug = add_petition(app, targets=[FALLBACK])
    outside = sign_and_confirm(app, slug, "A", "a@example.org", country="KE")
    no_country = sign_and_confirm(app, slug, "B", "b@example.org")
    other_petition_row = sign_and_confirm(app, slug, "C", "c@example.org", country="DE")
    assert targets_of(app, outside) == ["Minister of Examples"]
    assert targets_of(app, no_country) == ["Minister of Examples"]
    assert targets_of(app, other_petition_row) == ["Minister of Examples"]


def test_limited_to_the_listed_petitions(tmp_path: Path) -> None:
    app = csv_app(tmp_path, petitions=["listed"])
    add_petition(app, slug="listed")
    add_petition(app, slug="unlisted", targets=[FALLBACK])
    listed = sign_and_confirm(app, "listed", "A", "a@example.org", country="FR")
    unlisted = sign_and_confirm(app, "unlisted", "B", "b@example.org", country="FR")
    assert targets_of(app, listed) == ["Ambassador of Examplestan"]
    assert targets_of(app, unlisted) == ["Minister of Examples"]


def test_the_letter_reaches_the_target_from_the_file(tmp_path: Path) -> None:
    app = csv_app(tmp_path)
    slug = add_petition(app, targets=[FALLBACK], letter={"delivery": "live"})
    sign_and_confirm(app, slug, "Constituent", "c@example.org", country="GB",
                     postal_code="SW1A 1AA", show_name=True)
    run_jobs(app)
    mail = "".join(path.read_text() for path in (tmp_path / "instance" / "mail").glob("*.eml"))
    assert "To: MP Member for Example Central <central@example.org>" in mail
    assert "Dear Member," in mail


def test_a_file_without_the_required_columns_is_refused(tmp_path: Path) -> None:
    app = csv_app(tmp_path, table="country,name\nFR,Someone\n")
    slug = add_petition(app)
    signature_id = sign_and_confirm(app, slug, "A", "a@example.org", country="FR")
    with pytest.raises(PluginConfigError, match="missing columns postal_code"):
        targets_of(app, signature_id)


def test_inactive_without_a_path(tmp_path: Path) -> None:
    app = make_test_app(tmp_path)
    slug = add_petition(app, targets=[FALLBACK])
    signature_id = sign_and_confirm(app, slug, "A", "a@example.org", country="GB",
                                    postal_code="SW1A 1AA")
    assert targets_of(app, signature_id) == ["Minister of Examples"]
