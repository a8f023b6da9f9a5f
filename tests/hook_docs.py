"""Reading the hook reference of docs/plugins.md: sections, signatures, examples."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"


@dataclass(frozen=True)
class HookSection:
    name: str
    text: str
    example_path: str
    example: str


def hook_sections() -> dict[str, HookSection]:
    text = DOCS.read_text(encoding="utf-8")
    reference = text.split("## Hook reference", 1)[1]
    sections = {}
    for chunk in re.split(r"^### ", reference, flags=re.MULTILINE)[1:]:
        name = chunk.split("\n", 1)[0].strip()
        # An instance plugin's file; or, for what only an installed plugin can do (tables of its
        # own), a file of the plugin template, which the test then compares with the template.
        where = r"instance/plugins/\w+\.py|examples/plugin-template/[\w/]+\.py"
        match = re.search(rf"```python\n(# ({where})\n.*?)```", chunk, re.DOTALL)
        assert match, f"the section on {name} has no example starting with its instance path"
        sections[name] = HookSection(name, chunk, match.group(2), match.group(1))
    return sections


def install_example(instance: Path, hook_name: str) -> str:
    """Save the documented example where its first line says; returns the plugin's name."""
    section = hook_sections()[hook_name]
    path = instance.parent / section.example_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(section.example, encoding="utf-8")
    return path.stem
