"""The sources travel with the project: every citation resolves inside the repository.

docs/sources.md defines one entry per source, `[F1]`… for what the source article says and
`[P1]`… for public figures and publications. The docs, the scenarios and the configuration
files cite those IDs. These tests hold the three together:

- no tracked file points outside the repository for a source (the seed notes the model was
  first built from are not part of it);
- every ID cited in docs/, scenarios/ or configs/ is defined in docs/sources.md, and every ID
  defined there is cited somewhere else, so that no entry is dead weight;
- every ID has an anchor that `[F1]: sources.md#f1` links point to, and every such link
  points to an existing anchor;
- every http(s) URL in docs/sources.md is well formed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "docs" / "sources.md"

# Built from parts, so that this file does not match its own check.
OUTSIDE = ("shared" + "/seed", ".." + "/shared")

ID = r"[FP][1-9][0-9]*"
CITED = re.compile(rf"\[({ID})\]")
# A Markdown link reference definition, e.g. `[F1]: sources.md#f1`: a link target, not a citation.
LINK_DEFINITION = re.compile(rf"^\s*\[({ID})\]:\s*(\S+)\s*$")
# An entry of docs/sources.md: an anchor line, a blank line (so the heading is not swallowed by
# the HTML block), then its heading `### [F1] …` (or `####`).
ANCHOR = re.compile(r'^<a id="([a-z0-9-]+)"></a>\s*$')
ENTRY = re.compile(rf"^#{{3,4}}\s+\[({ID})\]\s+\S")
URL = re.compile(r"https?://[^\s<>()\"'`]+")


def citing_files() -> list[Path]:
    """Every file that may cite a source: docs, scenarios (sweeps and validation included),
    configs."""
    files = sorted((ROOT / "docs").rglob("*.md"))
    for folder in ("scenarios", "configs"):
        files += sorted((ROOT / folder).rglob("*.yaml"))
        files += sorted((ROOT / folder).rglob("*.md"))
    return files


def entries(text: str) -> dict[str, str]:
    """The IDs docs/sources.md defines, each with the anchor on the line before its heading."""
    found: dict[str, str] = {}
    lines = text.splitlines()
    for number, line in enumerate(lines):
        match = ENTRY.match(line)
        if not match:
            continue
        key = match.group(1)
        assert key not in found, f"docs/sources.md defines [{key}] twice"
        before = [text for text in lines[:number] if text.strip()]
        anchor = ANCHOR.match(before[-1]) if before else None
        assert anchor, f'[{key}] in docs/sources.md needs <a id="{key.lower()}"></a> above it'
        assert not lines[number - 1].strip(), f"[{key}]: a blank line must follow its anchor"
        found[key] = anchor.group(1)
    return found


def citations(path: Path) -> set[str]:
    """The IDs a file cites: every `[F…]`/`[P…]` outside link reference definitions."""
    cited: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not LINK_DEFINITION.match(line):
            cited.update(CITED.findall(line))
    return cited


def link_definitions(path: Path) -> dict[str, str]:
    defined: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = LINK_DEFINITION.match(line)
        if match:
            defined[match.group(1)] = match.group(2)
    return defined


def tracked_files() -> list[Path]:
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: tracked files unknown")
    listing = subprocess.run(
        [git, "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return [ROOT / name for name in listing.decode().split("\0") if name]


def test_no_tracked_file_points_outside_the_repository_for_a_source():
    offenders = []
    for path in tracked_files():
        if not path.is_file():  # deleted in the working tree, not yet committed
            continue
        data = path.read_bytes()
        for needle in OUTSIDE:
            if needle.encode() in data:
                offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert not offenders, "sources outside the repository: " + "; ".join(offenders)


def test_sources_md_is_where_every_source_lives():
    text = SOURCES.read_text(encoding="utf-8")
    defined = entries(text)
    assert any(key.startswith("F") for key in defined), "no article entries [F…]"
    assert any(key.startswith("P") for key in defined), "no public-source entries [P…]"
    for key, anchor in defined.items():
        assert anchor == key.lower(), f"[{key}] has anchor {anchor!r}, expected {key.lower()!r}"
    for prefix in ("F", "P"):
        numbers = sorted(int(key[1:]) for key in defined if key[0] == prefix)
        assert numbers == list(range(1, len(numbers) + 1)), f"[{prefix}…] IDs have gaps"
    assert "## Notional defaults (no source)" in text, "the list of notional defaults is missing"


def test_every_cited_id_is_defined_in_sources_md():
    defined = entries(SOURCES.read_text(encoding="utf-8"))
    missing = {
        f"{path.relative_to(ROOT)}: [{key}]"
        for path in citing_files()
        for key in citations(path)
        if key not in defined
    }
    assert not missing, "cited but not in docs/sources.md: " + ", ".join(sorted(missing))


def test_every_id_defined_in_sources_md_is_cited_elsewhere():
    defined = entries(SOURCES.read_text(encoding="utf-8"))
    cited = set().union(*(citations(path) for path in citing_files() if path != SOURCES))
    unused = sorted(set(defined) - cited, key=lambda key: (key[0], int(key[1:])))
    assert not unused, "defined in docs/sources.md but cited nowhere: " + ", ".join(unused)


def test_id_links_point_to_existing_entries():
    defined = entries(SOURCES.read_text(encoding="utf-8"))
    problems = []
    for path in citing_files():
        for key, target in link_definitions(path).items():
            document, _, anchor = target.partition("#")
            resolved = (path.parent / document).resolve()
            if resolved != SOURCES.resolve() or anchor != defined.get(key):
                problems.append(f"{path.relative_to(ROOT)}: [{key}]: {target}")
    assert not problems, "ID links to the wrong place: " + "; ".join(problems)


def test_every_url_in_sources_md_is_well_formed():
    text = SOURCES.read_text(encoding="utf-8")
    urls = URL.findall(text)
    assert urls, "docs/sources.md gives no URL at all"
    bad = []
    for url in urls:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if (
            parts.scheme not in {"http", "https"}
            or "." not in host
            or not re.fullmatch(r"[a-z0-9.-]+", host)
            or host.startswith(".")
            or host.endswith(".")
            or url.endswith((".", ",", ";", ":"))
            or parts.port is not None
        ):
            bad.append(url)
    assert not bad, "malformed URLs: " + ", ".join(bad)
    # Every URL is written as a Markdown autolink, so that no renderer cuts it short.
    bare = [url for url in urls if f"<{url}>" not in text]
    assert not bare, "URLs not written as <…>: " + ", ".join(bare)
