"""The solver of the engine's proof-of-work challenges, for tests: what a signer's browser
computes. It lives in petitionkit.testing, where plugins' tests find it too."""

from __future__ import annotations

import base64
import json
from typing import Any

from petitionkit.testing import challenge_payload as encode
from petitionkit.testing import solve_challenge as solve

__all__ = ["decode", "encode", "solve"]


def decode(payload: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.b64decode(payload))
    return decoded
