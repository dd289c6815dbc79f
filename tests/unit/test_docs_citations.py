"""Every ``docs/...md#section`` the code cites exists: the file, and a heading with that anchor.

Anchors are GitHub's: the heading text lower-cased, punctuation other than ``-`` and ``_``
dropped, spaces turned into ``-``, and ``-1``, ``-2``, ... added to repeated headings. Links
between the documentation pages (``[text](page.md#section)``) are checked the same way, and
no code may cite the old out-of-repository reference (a file named ``hardware`` + ``.md``)
any more.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = ("agent", "drivers", "simulator", "tests", "config")
CODE_SUFFIXES = {".py", ".toml", ".cfg", ".sh", ".service", ".yaml", ".yml"}

CITATION = re.compile(r"(?<![\w./-])(docs/[\w./-]+?\.md)(?:#([\w-]+))?")
MD_LINK = re.compile(r"\]\(([^)\s]+?\.md)?(?:#([\w-]+))?\)")
OLD_REFERENCE = re.compile("hardware" + r"\.md")  # the pages are docs/hardware/*.md, none is named so
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text (inline markup removed first)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # [text](url) -> text
    text = re.sub(r"[`*]", "", text)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    in_fence = False
    for line in markdown.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        m = None if in_fence else HEADING.match(line)
        if m:
            base = slug(m.group(2))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


def code_files(root: Path):
    this_file = Path(__file__).resolve()  # its examples point nowhere on purpose
    for top in CODE_DIRS:
        for path in sorted((root / top).rglob("*")):
            if path.is_file() and path.suffix in CODE_SUFFIXES and "__pycache__" not in path.parts:
                if path.resolve() != this_file:
                    yield path


def problem(target: Path, anchor: str | None, cache: dict[Path, set[str]]) -> str | None:
    if not target.is_file():
        return "no such file"
    if anchor is None:
        return None
    if target not in cache:
        cache[target] = anchors(target.read_text(encoding="utf-8"))
    return None if anchor in cache[target] else f"no section #{anchor}"


def broken_citations(root: Path) -> list[str]:
    """``path:line: citation: what is wrong`` for every citation in the code that points nowhere."""
    cache: dict[Path, set[str]] = {}
    broken = []
    for path in code_files(root):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in CITATION.finditer(line):
                doc, anchor = m.group(1), m.group(2)
                if why := problem(root / doc, anchor, cache):
                    broken.append(f"{path.relative_to(root)}:{lineno}: {m.group(0)}: {why}")
    return broken


def broken_doc_links(root: Path) -> list[str]:
    """The same for relative links between the pages under ``docs/``."""
    cache: dict[Path, set[str]] = {}
    broken = []
    for page in sorted((root / "docs").rglob("*.md")):
        for lineno, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            for m in MD_LINK.finditer(line):
                target_name, anchor = m.group(1), m.group(2)
                if target_name is None and anchor is None:
                    continue
                if target_name and "://" in target_name:
                    continue
                target = (page.parent / target_name).resolve() if target_name else page
                if why := problem(target, anchor, cache):
                    broken.append(f"{page.relative_to(root)}:{lineno}: {m.group(0)}: {why}")
    return broken


def old_references(root: Path) -> list[str]:
    hits = []
    for path in code_files(root):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if OLD_REFERENCE.search(line):
                hits.append(f"{path.relative_to(root)}:{lineno}: {line.strip()}")
    return hits


# ---- the repository -------------------------------------------------------------------


def test_code_cites_the_hardware_docs():
    cited = {m.group(1) for path in code_files(ROOT) for m in CITATION.finditer(path.read_text(encoding="utf-8"))}
    assert any(doc.startswith("docs/hardware/") for doc in cited)


def test_every_cited_doc_section_exists():
    assert broken_citations(ROOT) == []


def test_links_between_doc_pages_resolve():
    assert broken_doc_links(ROOT) == []


def test_no_citation_of_the_out_of_repository_reference():
    assert old_references(ROOT) == []


# ---- the checker itself ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Registers", "registers"),
        ("Energy word order", "energy-word-order"),
        ("IEC 61851-1 control pilot", "iec-61851-1-control-pilot"),
        ("Current and duty cycle (A.8)", "current-and-duty-cycle-a8"),
        ("`FF CA` pseudo-APDU", "ff-ca-pseudo-apdu"),
        ("SDM630, SDM72D-M / SDM120", "sdm630-sdm72d-m--sdm120"),
        ("Not yet sourced", "not-yet-sourced"),
    ],
)
def test_slug_is_githubs(heading, anchor):
    assert slug(heading) == anchor


def test_repeated_headings_get_numbered_anchors():
    text = "# Page\n## Sources\n```\n## not a heading\n```\n## Sources\n"
    assert anchors(text) == {"page", "sources", "sources-1"}


def test_a_citation_that_points_nowhere_is_reported(tmp_path):
    (tmp_path / "docs" / "hardware").mkdir(parents=True)
    (tmp_path / "docs" / "hardware" / "board.md").write_text("# Board\n## Registers\n", encoding="utf-8")
    (tmp_path / "drivers").mkdir()
    (tmp_path / "drivers" / "board.py").write_text(
        '"""Board — docs/hardware/board.md#registers."""\n'
        "REG = 1000  # docs/hardware/board.md#status-bits\n"
        "# docs/hardware/meter.md#registers\n",
        encoding="utf-8",
    )
    assert broken_citations(tmp_path) == [
        "drivers/board.py:2: docs/hardware/board.md#status-bits: no section #status-bits",
        "drivers/board.py:3: docs/hardware/meter.md#registers: no such file",
    ]


def test_a_doc_link_that_points_nowhere_is_reported(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text(
        "# A\n## Link\nSee [b](b.md#link), [b](b.md#nothing), [here](#link), [x](https://x/y.md#z).\n",
        encoding="utf-8",
    )
    (tmp_path / "docs" / "b.md").write_text("# B\n## Link\n", encoding="utf-8")
    assert broken_doc_links(tmp_path) == ["docs/a.md:3: ](b.md#nothing): no section #nothing"]


def test_an_old_reference_is_reported(tmp_path):
    (tmp_path / "simulator").mkdir()
    (tmp_path / "simulator" / "twin.py").write_text(
        "X = 1  # " + "hardware" + ".md §2a\nY = 2  # docs/hardware/evse-din.md#registers\n", encoding="utf-8"
    )
    assert old_references(tmp_path) == ["simulator/twin.py:1: X = 1  # " + "hardware" + ".md §2a"]
