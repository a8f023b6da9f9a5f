"""What the share step offers: the petition's link, its hashtags and suggested posts."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app, url_for

from petitionkit.petitions.models import Petition

# A Mastodon server as a person types it: "mastodon.social", "https://social.example/".
_SERVER = re.compile(r"^(?:https?://)?([a-z0-9-]+(?:\.[a-z0-9-]+)+(?::\d{1,5})?)/?$", re.IGNORECASE)


@dataclass(frozen=True)
class ShareDetails:
    url: str
    posts: list[str]
    hashtags: list[str]

    @property
    def post(self) -> str:
        """The first suggested post with the hashtags: what a share link pre-fills."""
        return " ".join([self.posts[0], *self.hashtags])

    @property
    def post_with_link(self) -> str:
        return f"{self.post} {self.url}"


def share_details(petition: Petition) -> ShareDetails:
    settings = petition.share or {}
    tags = [str(tag).strip().lstrip("#") for tag in settings.get("hashtags") or []]
    hashtags = ["#" + tag for tag in tags if tag]
    posts = [str(text).strip() for text in settings.get("posts") or [] if str(text).strip()]
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    url = base + url_for("petitions.show", slug=petition.slug)
    return ShareDetails(url=url, posts=posts or [petition.title], hashtags=hashtags)


def mastodon_server(typed: str) -> str | None:
    match = _SERVER.match(typed.strip())
    return match.group(1).lower() if match else None
