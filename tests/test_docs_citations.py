"""The tests the README and docs/*.md cite exist: a claim backed by a test that is not there is
backed by nothing."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A path from the repository's root (tests/test_x.py, tests/browser/test_y.py,
# plugins/…/tests/test_z.py), or a bare test_x.py as docs/signing.md cites them in brackets.
CITED_PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*tests/(?:[\w.-]+/)*[\w.-]+\.py)\b")
CITED_NAME = re.compile(r"(?<![\w/.-])(test_\w+\.py)\b")
TEST_FILES = {path.name for path in ROOT.glob("**/tests/**/test_*.py")
              if ".venv" not in path.parts}


def citations() -> list[tuple[str, str]]:
    """(document, what it cites) for every test file named in the documents."""
    cited = []
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        cited += [(document.name, path) for path in CITED_PATH.findall(text)]
        cited += [(document.name, name) for name in CITED_NAME.findall(text)]
    return cited


def test_the_citation_patterns_find_what_the_docs_cite() -> None:
    cited = citations()
    assert ("plugins.md", "tests/test_hooks_reference.py") in cited
    assert ("signing.md", "test_signing_path.py") in cited
    assert ("widget.md", "tests/browser/test_wordpress_embed.py") in cited


def test_every_cited_test_file_exists() -> None:
    missing = [
        f"{document} cites {cited}" for document, cited in citations()
        if not ((ROOT / cited).is_file() if "/" in cited else cited in TEST_FILES)
    ]
    assert missing == []
