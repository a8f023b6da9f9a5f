"""Petitions as files: Markdown with YAML front matter, loaded idempotently by slug.

The file is the source of truth: every key it leaves out takes its default, so deleting a line
from the front matter and loading again resets that field. The signature count is never read
from a file and never written by the loader. docs/petitions.md describes every key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import frontmatter
import yaml
from email_validator import EmailNotValidError, validate_email
from limits import parse_many
from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from petitionkit.actions import ACTION_KEY, MAX_OUTCOMES, MAX_REPORT_ACTIONS
from petitionkit.extensions import as_utc
from petitionkit.petitions.images import (
    ImageProblem,
    PetitionImage,
    PreparedImage,
    prepare_image,
)
from petitionkit.petitions.markdown import render_markdown
from petitionkit.petitions.models import ORGANIZATIONS, PEOPLE, STATUSES, Petition

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
LOCALE_PATTERN = re.compile(r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")
KINDS = ("petition", "letter", "joint-letter", "urgent-action")
ASKS = ("country", "postal_code")
# Who may sign (``signers``), and what a goal may count besides signatures (``goal_counts``).
SIGNERS = (PEOPLE, ORGANIZATIONS)
GOAL_COUNTS = ("signatures", ORGANIZATIONS)
SHARE_KEYS = ("hashtags", "posts")
LETTER_KEYS = ("salutation", "closing", "delivery", "organizer_email", "editable",
               "max_per_hour", "max_letter_length", "sample", "subject", "via", "batch")
# Who sends a letter: the engine (batched and throttled per target), the signer's own mail
# program (a mailto: link, so the letter never passes through the engine), or both.
LETTER_VIA = ("engine", "signer", "both")
# Read by the built-in delivery of letters to targets (petitionkit/targets).
DELIVERY_MODES = ("off", "test", "live")
TARGET_KEYS = ("name", "title", "organization", "address", "email", "phone", "salutation",
               "languages", "hours", "timezone")
REPORT_ACTION_KEYS = ("key", "label", "outcomes")
# A plugin's reader of its own section of the petition file: the value as stored, or ValueError
# with a message for the organiser (petitionkit_petition_sections).
SectionReader = Callable[[Any], Any]
# The steps a campaign page offers, in the order of the file's ``steps:`` list. ``sign`` is the
# signing form itself, shown first whether listed or not (a petition's page is there to be
# signed); the others are shown after it, and only those listed. Plugins add theirs
# (petitionkit_step_names), each with a check that a petition configures it.
SIGN_STEP, LETTER_STEP, REPORT_STEP, SHARE_STEP = "sign", "letter", "report", "share"
CORE_STEPS = (SIGN_STEP, LETTER_STEP, REPORT_STEP, SHARE_STEP)
STEP_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
# A plugin's check of one of its steps against a petition's loaded values (model attributes:
# ``targets``, ``sections`` …): ``None`` when the petition configures the step, else what is
# missing, for the organiser ("needs a call: section").
StepCheck = Callable[[Mapping[str, Any]], str | None]

# Text keys: front-matter key -> (default, longest accepted length or None).
_TEXT_FIELDS: dict[str, tuple[str | None, int | None]] = {
    "summary": ("", None),
    "locale": ("en", 16),
    "status": ("draft", 10),
    "status_line": (None, 200),
    "kind": ("petition", 20),
    "consent_text": ("", None),
    "consent_version": ("1", 40),
    "rate_limit": (None, 100),
}
KNOWN_KEYS = frozenset(_TEXT_FIELDS) | {
    "slug", "title", "goal", "opens_at", "closes_at", "goal_ladder", "allowed_origins", "share",
    "asks", "letter", "targets", "extra", "listed", "image", "show_count_from", "signers",
    "goal_counts", "retain_days", "report_actions", "steps",
}
# Never set from a file: the counts belong to confirm/cancel, offline entries and
# `petitionkit recount`.
_PROTECTED = frozenset({"id", "signature_count", "offline_count", "organization_count",
                        "created_at", "updated_at", "closed_at", "purged_at"})


class PetitionFileError(ValueError):
    """A petition that cannot be loaded. ``message`` starts with the front-matter key it is
    about (``letter.sample …``, ``targets[2] …``), which ``key`` gives, so that a form can show
    the message beside its field; ``key`` is None for a problem with no single key."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.message = message
        self.key = _key_of(message)


# Messages that do not start with their key.
_MESSAGE_KEYS = {"a title is required": "title", "allowed origin": "allowed_origins",
                 "cannot be read": "body"}


def _key_of(message: str) -> str | None:
    for start, key in _MESSAGE_KEYS.items():
        if message.startswith(start):
            return key
    found = re.match(r"[a-z_]+", message)
    return found.group(0) if found and found.group(0) != "unknown" else None


@dataclass
class LoadResult:
    slug: str
    created: bool
    changed: list[str] = field(default_factory=list)


def parse_petition_file(
    path: str | Path, sections: Mapping[str, SectionReader] | None = None,
    steps: Mapping[str, StepCheck] | None = None,
) -> dict[str, Any]:
    """Read one file into model attributes, refusing anything unknown or malformed.

    ``sections`` are the plugins' readers of their own keys (``calls.petition_sections``); a
    key no reader claims is refused like any other unknown key. ``steps`` are the plugins' step
    names with their checks (``calls.step_names``): a step no one offers is refused."""
    where = str(path)
    try:
        post = frontmatter.load(where)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise PetitionFileError(where, f"cannot be read: {reason}") from error
    values = parse_petition(where, dict(post.metadata), post.content, sections, steps)
    if values["image"] is not None:
        # The picture's file is found beside the petition file, read and prepared once.
        picture = Path(where).parent / values["image"].pop("file")
        try:
            prepared = prepare_image(picture)
        except ImageProblem as error:
            raise PetitionFileError(where, f"image: {error}") from error
        values["image"].update(width=prepared.width, height=prepared.height,
                               version=prepared.version)
        values["image_data"] = prepared
    return values


def parse_petition(
    where: str, meta: dict[str, Any], body: str,
    sections: Mapping[str, SectionReader] | None = None,
    steps: Mapping[str, StepCheck] | None = None,
) -> dict[str, Any]:
    """Front matter and Markdown body as model attributes; ``where`` names the source in errors."""
    readers = dict(sections or {})
    unknown = set(meta) - KNOWN_KEYS - set(readers)
    if unknown:
        raise PetitionFileError(where, f"unknown keys: {', '.join(sorted(map(str, unknown)))}")
    for key, value in [*meta.items(), ("body", body)]:
        if _holds_nul(value):
            # PostgreSQL stores no NUL in text nor in JSON; no petition needs one.
            raise PetitionFileError(where, f"{key} holds a NUL character (U+0000)")
    slug = meta.get("slug") or Path(where).stem
    if not isinstance(slug, str) or not SLUG_PATTERN.match(slug):
        raise PetitionFileError(
            where, "slug must be 1 to 80 lowercase letters, digits and dashes (not first)"
        )
    title = meta.get("title")
    if title is None or (isinstance(title, str) and not title.strip()):
        raise PetitionFileError(where, "a title is required")
    if not isinstance(title, str):
        raise PetitionFileError(where, "title must be text (put it in quotes)")
    if len(title) > 300:
        raise PetitionFileError(where, "title is longer than 300 characters")
    values: dict[str, Any] = {"slug": slug, "title": title.strip()}
    for key, (default, longest) in _TEXT_FIELDS.items():
        values[key] = _text(where, key, meta.get(key, default), longest)

    if values["status"] not in STATUSES:
        raise PetitionFileError(where, f"status must be one of {', '.join(STATUSES)}")
    if values["kind"] not in KINDS:
        raise PetitionFileError(where, f"kind must be one of {', '.join(KINDS)}")
    if not LOCALE_PATTERN.match(values["locale"]):
        raise PetitionFileError(where, "locale must be a language tag such as en, ar or zh_Hans")

    if values["rate_limit"] is not None:
        try:
            parse_many(values["rate_limit"])
        except ValueError as error:
            raise PetitionFileError(
                where, "rate_limit must look like '10/minute;100/hour'"
            ) from error

    values["goal"] = _goal(where, "goal", meta.get("goal"))
    ladder = meta.get("goal_ladder")
    if ladder is None:
        values["goal_settings"] = {}
    elif ladder == "auto":
        values["goal_settings"] = {"ladder": "auto"}
    else:
        if not isinstance(ladder, list) or not ladder:
            raise PetitionFileError(where, "goal_ladder must be a list of whole numbers")
        # Not "steps": that is the plugins' steps of the campaign page, an argument here.
        milestones = [_positive(where, "goal_ladder", step) for step in ladder]
        if milestones != sorted(set(milestones)):
            raise PetitionFileError(where, "goal_ladder must rise step by step")
        values["goal_settings"] = {"ladder": milestones}

    values["signers"] = _signers(where, meta.get("signers", [PEOPLE]))
    goal_counts = meta.get("goal_counts", "signatures")
    if goal_counts not in GOAL_COUNTS:
        raise PetitionFileError(where, f"goal_counts must be one of {', '.join(GOAL_COUNTS)}")
    if goal_counts == ORGANIZATIONS:
        if ORGANIZATIONS not in values["signers"]:
            raise PetitionFileError(
                where, "goal_counts: organizations needs organizations among the signers"
            )
        values["goal_settings"] = {**values["goal_settings"], "counts": ORGANIZATIONS}

    values["opens_at"] = _moment(where, "opens_at", meta.get("opens_at"))
    values["closes_at"] = _moment(where, "closes_at", meta.get("closes_at"))
    if values["opens_at"] and values["closes_at"] and values["closes_at"] <= values["opens_at"]:
        raise PetitionFileError(where, "closes_at must be later than opens_at")

    asks = meta.get("asks", [])
    if not isinstance(asks, list) or set(asks) - set(ASKS):
        raise PetitionFileError(where, f"asks may list {' and '.join(ASKS)}")
    values["asks_country"] = "country" in asks or "postal_code" in asks
    values["asks_postal_code"] = "postal_code" in asks

    values["show_count_from"] = _count_threshold(where, meta.get("show_count_from"))
    values["retain_days"] = _retain_days(where, meta.get("retain_days"))

    listed = meta.get("listed", True)
    if not isinstance(listed, bool):
        raise PetitionFileError(where, "listed must be true or false")
    values["listed"] = listed

    values["allowed_origins"] = _origins(where, meta.get("allowed_origins", []))
    values["share"] = _share(where, meta.get("share", {}))
    values["letter"] = _letter(where, meta.get("letter", {}))
    values["targets"] = _targets(where, meta.get("targets", []))
    values["report_actions"] = _report_actions(where, meta.get("report_actions", []),
                                               values["locale"])
    values["sections"] = _sections(where, meta, readers)
    extra = meta.get("extra", {})
    if not isinstance(extra, dict):
        raise PetitionFileError(where, "extra must be a mapping")
    values["extra"] = extra
    values["image"] = _image(where, meta.get("image"))
    values["body"] = body
    values["body_html"] = render_markdown(body)
    if meta.get("steps") is not None:
        # Checked last, against every other value; kept with the plugins' sections, in a
        # JSON column the petition already has.
        values["sections"]["steps"] = _steps(where, meta["steps"], values, steps or {})
    values["front_matter"] = _plain(meta)
    return values


def _plain(value: Any) -> Any:
    """The front matter as JSON can keep it: dates become ISO 8601 text."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _signers(where: str, value: object) -> list[str]:
    """``[people]``, ``[organizations]`` or both, in this order whatever the file's."""
    if isinstance(value, str):
        value = [value]
    if (not isinstance(value, list) or not value
            or not all(isinstance(item, str) and item in SIGNERS for item in value)):
        raise PetitionFileError(
            where, "signers must list people, organizations or both, e.g. [people, organizations]"
        )
    return [kind for kind in SIGNERS if kind in value]


def _text(where: str, key: str, value: object, longest: int | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)  # consent_version: 2 is as good as "2"
    if not isinstance(value, str):
        raise PetitionFileError(where, f"{key} must be text")
    if longest is not None and len(value) > longest:
        raise PetitionFileError(where, f"{key} is longer than {longest} characters")
    return value.strip() if longest is not None else value


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(item) for item in value)
    return False


# The largest goal or threshold: what the count columns hold (PostgreSQL's INTEGER), far past
# any petition's signatures.
MAX_COUNT = 2**31 - 1


def _goal(where: str, key: str, value: object) -> int | None:
    return None if value is None else _positive(where, key, value)


def _positive(where: str, key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COUNT:
        raise PetitionFileError(where, f"{key} must be a whole number from 1 to {MAX_COUNT}")
    return value


def _count_threshold(where: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise PetitionFileError(
            where, f"show_count_from must be a whole number from 0 to {MAX_COUNT}"
        )
    return value


# The longest retention a file may ask for: a hundred years, beyond any law's requirement and
# short of the overflow of a date.
MAX_RETAIN_DAYS = 36_500


def _retain_days(where: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RETAIN_DAYS:
        raise PetitionFileError(
            where, f"retain_days must be a whole number of days from 0 to {MAX_RETAIN_DAYS}"
        )
    return value


def _moment(where: str, key: str, value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        try:
            return as_utc(value)
        except ValueError as error:
            raise PetitionFileError(where, f"{key} is out of range") from error
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            return _moment(where, key, datetime.fromisoformat(value))
        except ValueError as error:
            raise PetitionFileError(where, f"{key} is not an ISO 8601 date") from error
    raise PetitionFileError(where, f"{key} is not a date")


def _origins(where: str, value: object) -> list[str]:
    if not isinstance(value, list):
        raise PetitionFileError(where, "allowed_origins must be a list")
    origins = []
    for item in value:
        origin = str(item).strip().rstrip("/").lower()
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
            raise PetitionFileError(
                where, f"allowed origin {item!r} must look like https://example.org[:port]"
            )
        origins.append(origin)
    return origins


def _share(where: str, value: object) -> dict[str, list[str]]:
    if not isinstance(value, dict) or set(value) - set(SHARE_KEYS):
        raise PetitionFileError(where, f"share is a mapping of {' and '.join(SHARE_KEYS)}")
    share: dict[str, list[str]] = {}
    for key in SHARE_KEYS:
        items = value.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
            raise PetitionFileError(where, f"share.{key} must be a list of text")
        share[key] = items
    share["hashtags"] = ["#" + tag.lstrip("#") for tag in share["hashtags"]]
    return share


def _string_mapping(
    where: str, key: str, value: object, allowed: tuple[str, ...]
) -> dict[str, str]:
    if not isinstance(value, dict):
        raise PetitionFileError(where, f"{key} must be a mapping")
    unknown = set(value) - set(allowed)
    if unknown:
        raise PetitionFileError(
            where, f"{key} has unknown keys: {', '.join(sorted(map(str, unknown)))}"
        )
    for name, text in value.items():
        if not isinstance(text, str):
            raise PetitionFileError(where, f"{key}.{name} must be text")
    return {name: text.strip() for name, text in value.items()}


def _letter(where: str, value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PetitionFileError(where, "letter must be a mapping")
    typed = ("editable", "batch", "max_per_hour", "max_letter_length")
    letter: dict[str, Any] = _string_mapping(
        where, "letter", {k: v for k, v in value.items() if k not in typed}, LETTER_KEYS
    )
    for key in ("editable", "batch"):
        if key in value:
            if not isinstance(value[key], bool):
                raise PetitionFileError(where, f"letter.{key} must be true or false")
            letter[key] = value[key]
    for key in ("max_per_hour", "max_letter_length"):
        if key in value:
            letter[key] = _positive(where, f"letter.{key}", value[key])
    if letter.get("delivery", "off") not in DELIVERY_MODES:
        raise PetitionFileError(
            where, f"letter.delivery must be one of {', '.join(DELIVERY_MODES)}"
        )
    if "sample" in letter:
        letter["sample"] = _paragraphs(letter["sample"])
    if len(letter.get("sample", "")) > letter.get("max_letter_length", 3000):
        raise PetitionFileError(
            where, "letter.sample is longer than letter.max_letter_length (3000 by default)"
        )
    if letter.get("via", "engine") not in LETTER_VIA:
        raise PetitionFileError(where, f"letter.via must be one of {', '.join(LETTER_VIA)}")
    if len(letter.get("subject", "")) > 200:
        raise PetitionFileError(where, "letter.subject must be at most 200 characters")
    if "organizer_email" in letter:
        try:
            validate_email(letter["organizer_email"], check_deliverability=False)
        except EmailNotValidError as error:
            raise PetitionFileError(
                where, "letter.organizer_email is not an e-mail address"
            ) from error
    if letter.get("delivery") == "test" and not letter.get("organizer_email"):
        raise PetitionFileError(
            where, "letter.delivery: test sends to letter.organizer_email; set it"
        )
    return letter


def _image(where: str, value: object) -> dict[str, str] | None:
    if value is None:
        return None
    image = _string_mapping(where, "image", value, ("file", "alt"))
    if not image.get("file"):
        raise PetitionFileError(where, "image.file names the picture, beside the petition file")
    if Path(image["file"]).is_absolute() or ".." in Path(image["file"]).parts:
        raise PetitionFileError(where, "image.file must be a file beside the petition file")
    if not image.get("alt"):
        raise PetitionFileError(
            where, "image.alt describes the picture for people who cannot see it; it is required"
        )
    if len(image["alt"]) > 300:
        raise PetitionFileError(where, "image.alt must be at most 300 characters")
    return image


def _paragraphs(text: str) -> str:
    """Paragraphs as a mail program shows them: a paragraph's lines joined, a blank line between.

    A file wraps its lines to stay readable; a letter box or a mail would keep those breaks."""
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    return "\n\n".join(" ".join(block.split()) for block in blocks if block.strip())


def _targets(where: str, value: object) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise PetitionFileError(where, "targets must be a list")
    targets = []
    for number, item in enumerate(value, start=1):
        label = f"targets[{number}]"
        if not isinstance(item, Mapping):
            raise PetitionFileError(where, f"{label} must be a mapping")
        languages = item.get("languages", [])
        if not isinstance(languages, list) or not all(
            isinstance(tag, str) and LOCALE_PATTERN.match(tag) for tag in languages
        ):
            raise PetitionFileError(where, f"{label}.languages must be a list of language tags")
        target: dict[str, Any] = _string_mapping(
            where, label, {k: v for k, v in item.items() if k != "languages"}, TARGET_KEYS
        )
        if not target.get("name"):
            raise PetitionFileError(where, f"{label} needs a name")
        if "email" in target:
            try:
                validate_email(target["email"], check_deliverability=False)
            except EmailNotValidError as error:
                raise PetitionFileError(where, f"{label}.email: {error}") from error
        if len(target.get("hours", "")) > 200:
            raise PetitionFileError(where, f"{label}.hours must be at most 200 characters")
        if "timezone" in target:
            target["timezone"] = _time_zone(where, f"{label}.timezone", target["timezone"])
        target["languages"] = languages
        targets.append(target)
    return targets


def _time_zone(where: str, key: str, name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise PetitionFileError(
            where, f"{key} must be an IANA time zone such as Europe/Brussels, not {name!r}"
        ) from error
    return name


def _report_actions(where: str, value: object, locale: str) -> list[dict[str, Any]]:
    """``report_actions``: what signers can report; each label in the petition's language at
    least, which is what other languages fall back to."""
    if not isinstance(value, list):
        raise PetitionFileError(where, "report_actions must be a list")
    if len(value) > MAX_REPORT_ACTIONS:
        raise PetitionFileError(where, f"report_actions may list at most {MAX_REPORT_ACTIONS}")
    actions: list[dict[str, Any]] = []
    for number, item in enumerate(value, start=1):
        label = f"report_actions[{number}]"
        if not isinstance(item, Mapping) or set(item) - set(REPORT_ACTION_KEYS):
            raise PetitionFileError(
                where, f"{label} is a mapping of {', '.join(REPORT_ACTION_KEYS)}"
            )
        key = item.get("key")
        if not isinstance(key, str) or not ACTION_KEY.fullmatch(key):
            raise PetitionFileError(
                where, f"{label}.key must be 1 to 40 lowercase letters, digits, - and _ "
                "(a letter first)"
            )
        if any(action["key"] == key for action in actions):
            raise PetitionFileError(where, f"{label}.key {key!r} is listed twice")
        labels = item.get("label")
        if isinstance(labels, str):
            labels = {locale: labels}
        if not isinstance(labels, Mapping) or not labels or not all(
            isinstance(tag, str) and LOCALE_PATTERN.match(tag) and isinstance(text, str)
            and text.strip() and len(text) <= 200
            for tag, text in labels.items()
        ):
            raise PetitionFileError(
                where, f"{label}.label maps language tags to text of at most 200 characters"
            )
        if locale not in labels:
            raise PetitionFileError(
                where, f"{label}.label needs the petition's own language ({locale})"
            )
        outcomes = item.get("outcomes", [])
        if (not isinstance(outcomes, list) or len(outcomes) > MAX_OUTCOMES
                or not all(isinstance(word, str) and ACTION_KEY.fullmatch(word)
                           for word in outcomes)
                or len(set(outcomes)) != len(outcomes)):
            raise PetitionFileError(
                where, f"{label}.outcomes must be a list of at most {MAX_OUTCOMES} different "
                "words (lowercase letters, digits, - and _)"
            )
        actions.append({"key": key, "label": {tag: text.strip() for tag, text in labels.items()},
                        "outcomes": outcomes})
    return actions


def _sections(
    where: str, meta: Mapping[str, Any], readers: Mapping[str, SectionReader]
) -> dict[str, Any]:
    sections: dict[str, Any] = {}
    for key, reader in readers.items():
        if key in meta:
            try:
                sections[key] = reader(meta[key])
            except ValueError as error:
                raise PetitionFileError(where, f"{key}: {error}") from error
    return sections


def _steps(
    where: str, value: object, values: Mapping[str, Any], plugin_steps: Mapping[str, StepCheck]
) -> list[str]:
    """``steps``: the order of the campaign page's steps, each one the petition configures."""
    known = [*CORE_STEPS, *(name for name in plugin_steps if name not in CORE_STEPS)]
    if not isinstance(value, list) or not value:
        raise PetitionFileError(
            where, f"steps must be a list of step names, such as [{', '.join(known)}]"
        )
    seen: list[str] = []
    for name in value:
        if not isinstance(name, str) or name not in known:
            raise PetitionFileError(
                where, f"steps: unknown step {name!r}; the steps are {', '.join(known)}"
            )
        if name in seen:
            raise PetitionFileError(where, f"steps lists {name!r} twice")
        seen.append(name)
    if SIGN_STEP in seen and seen[0] != SIGN_STEP:
        raise PetitionFileError(
            where, "steps: sign comes first; the other steps are shown after signing"
        )
    for name in seen:
        missing = _core_step_missing(name, values) if name in CORE_STEPS \
            else plugin_steps[name](values)
        if missing:
            raise PetitionFileError(where, f"steps: {name} {missing}")
    return seen


def _core_step_missing(name: str, values: Mapping[str, Any]) -> str | None:
    if name == LETTER_STEP:
        letter = values.get("letter") or {}
        if letter.get("via", "engine") not in ("signer", "both"):
            return ("is the letter from the signer's own mail program: set letter.via to "
                    "signer or both (a letter the engine sends is written in the signing form)")
        if not any(target.get("email") for target in values.get("targets") or []):
            return "needs a target with an email address to write to"
    if name == REPORT_STEP and not values.get("report_actions"):
        return "needs report_actions: the actions signers can report"
    return None


class PetitionListener(Protocol):
    """Enqueues a petition change's follow-up work (plugin events) in the same transaction."""

    def petition_saving(
        self, session: Session, petition: Petition, created: bool, changed: list[str]
    ) -> None: ...


def upsert_petition(
    session: Session | scoped_session[Any],
    values: dict[str, Any],
    listener: PetitionListener | None = None,
) -> LoadResult:
    """Create or update by slug; reports which fields changed and never touches the count.

    A ``listener`` hears of a creation or a change inside the transaction that makes it.
    """
    protected = _PROTECTED & set(values)
    if protected:
        raise ValueError(f"not settable from a petition file: {', '.join(sorted(protected))}")
    values = dict(values)
    prepared = values.pop("image_data", None)
    # Kept, not compared: the same petition may be written in other words.
    front_matter = values.pop("front_matter", None)
    petition = session.scalar(select(Petition).where(Petition.slug == values["slug"]))
    if petition is None:
        petition = Petition(signature_count=0, **values)
        session.add(petition)
        result = LoadResult(values["slug"], created=True, changed=sorted(values))
    else:
        changed = []
        for key, value in values.items():
            current = getattr(petition, key)
            if current != value:
                setattr(petition, key, value)
                changed.append(key)
        result = LoadResult(values["slug"], created=False, changed=changed)
    if front_matter is not None:
        petition.front_matter = front_matter
    if "image" in result.changed:
        session.flush()  # the new petition's id, for its picture
        _store_image(session, petition.id, prepared)
    if listener is not None and result.changed:
        session.flush()  # the new petition's id, for the listener's jobs
        plain = session() if isinstance(session, scoped_session) else session
        listener.petition_saving(plain, petition, result.created, result.changed)
    session.commit()
    return result


def _store_image(
    session: Session | scoped_session[Any], petition_id: int, prepared: PreparedImage | None
) -> None:
    stored = session.get(PetitionImage, petition_id)
    if prepared is None:
        if stored is not None:
            session.delete(stored)
        return
    if stored is None:
        stored = PetitionImage(petition_id=petition_id)
        session.add(stored)
    stored.version = prepared.version
    stored.width, stored.height = prepared.width, prepared.height
    stored.data = prepared.data
