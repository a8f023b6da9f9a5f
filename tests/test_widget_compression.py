"""The widget's scripts go out gzipped to browsers that accept it, and as they are to the rest."""

from __future__ import annotations

import gzip

import pytest
from flask.testing import FlaskClient

from petitionkit.embed.assets import asset

PATHS = {
    "/widget.js": "loader.js",
    f"/widget/petitionkit.js?v={asset('petitionkit.js').etag}": "petitionkit.js",
    f"/widget/challenge.js?v={asset('challenge.js').etag}": "challenge.js",
}


@pytest.mark.parametrize("path", PATHS, ids=list(PATHS.values()))
def test_gzip_when_the_browser_accepts_it(client: FlaskClient, path: str) -> None:
    plain = client.get(path)
    assert "Content-Encoding" not in plain.headers
    assert plain.headers["Vary"] == "Accept-Encoding"

    packed = client.get(path, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.status_code == 200
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers["Vary"] == "Accept-Encoding"
    assert packed.mimetype == "text/javascript"
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data) / 2
    assert packed.headers["Cache-Control"] == plain.headers["Cache-Control"]
    assert packed.headers["ETag"] != plain.headers["ETag"], "two representations, two ETags"

    again = client.get(path, headers={"Accept-Encoding": "gzip",
                                      "If-None-Match": packed.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["Vary"] == "Accept-Encoding"


def test_gzip_refused_or_not_asked_for_is_not_sent(client: FlaskClient) -> None:
    for accepted in ("identity", "gzip;q=0", "br"):
        response = client.get("/widget.js", headers={"Accept-Encoding": accepted})
        assert "Content-Encoding" not in response.headers, accepted
        assert response.data.startswith(b"/*") or b"function" in response.data[:200], accepted
