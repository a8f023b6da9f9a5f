"""A solver of the engine's proof-of-work challenges written from the protocol alone (ALTCHA
PoW v2, iterated SHA-256 with one iteration), for tests: what a signer's browser computes."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any


def solve(challenge: dict[str, Any]) -> str:
    """The ``altcha`` value a browser would send for ``challenge`` (the endpoint's JSON)."""
    parameters = challenge["parameters"]
    assert parameters["algorithm"] == "SHA-256" and parameters["cost"] == 1
    start = bytes.fromhex(parameters["salt"]) + bytes.fromhex(parameters["nonce"])
    prefix = bytes.fromhex(parameters["keyPrefix"])
    for counter in range(2**32):
        key = hashlib.sha256(start + counter.to_bytes(4, "big")).digest()
        if key.startswith(prefix):
            break
    return encode({"parameters": parameters, "signature": challenge["signature"]},
                  {"counter": counter, "derivedKey": key[: parameters["keyLength"]].hex()})


def encode(challenge: dict[str, Any], solution: dict[str, Any]) -> str:
    body = json.dumps({"challenge": challenge, "solution": solution})
    return base64.b64encode(body.encode()).decode()


def decode(payload: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.b64decode(payload))
    return decoded
