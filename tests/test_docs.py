"""The documents: the README stays a front door, every link and every cited document exists, the
sections the code cites are there, and the configuration reference matches the schema."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from engine.config_reference import COMMAND, reference_markdown

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").rglob("*.md"))
MARKDOWN = [README, *DOCS]
ALGORITHM = ROOT / "docs" / "algorithm.md"
# the sections of docs/algorithm.md, by name (the code cites them by these names)
ALGORITHM_SECTIONS = ["Notation and sign convention", "WGAN with weight clipping", "WGAN-GP", "Other objectives",
                      "Example 1: parallel lines", "Toy data sets", "Quality measures", "Defaults", "Numerics"]
# where the repository's text lives: every file here that names a .md document must name one that exists
CITING = ["README.md", "Makefile", "pyproject.toml", "studio.spec", ".ci", "docs", "engine", "studio", "benchmarks",
          "scripts", "tests", "examples"]
TEXT_SUFFIXES = {".py", ".md", ".sh", ".toml", ".txt", ".spec", ".cfg", ".ini", ".json", ".qss", ".desktop", ""}
MAX_README_LINES = 200

FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.I)
DOCUMENT = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-][\w.-]*\.md)\b")
# prose that cites a section: a document's name, then a comma or a parenthesis, then the section in quotes
SECTION_CITATION = re.compile(r"((?:[\w.-]+/)*[\w-]+\.md)(?:,\s*|\s+\()[\"“]([^\"”\n]+)[\"”]")


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text without formatting, lower case, punctuation
    dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@functools.cache
def anchors(path: Path) -> set[str]:
    out: set[str] = set()
    for line in FENCE.sub("", path.read_text(encoding="utf-8")).splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            base = slug(m.group(1))
            name, k = base, 1
            while name in out:
                name, k = f"{base}-{k}", k + 1
            out.add(name)
    return out


@functools.cache
def headings(path: Path, level: int) -> list[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return re.findall(rf"^{'#' * level}\s+(.*?)\s*$", text, re.M)


def citing_files() -> list[Path]:
    files: list[Path] = []
    for name in CITING:
        p = ROOT / name
        candidates = [p] if p.is_file() else sorted(p.rglob("*")) if p.is_dir() else []
        files += [f for f in candidates if f.is_file() and f.suffix in TEXT_SUFFIXES
                  and "__pycache__" not in f.parts and f.stat().st_size < 2_000_000]
    return files


@functools.cache
def repository_documents() -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for p in ROOT.rglob("*.md"):
        if not {".git", ".venv", "node_modules"} & set(p.relative_to(ROOT).parts):
            out.setdefault(p.name, []).append(p)
    return out


def resolve_document(name: str, citing: Path) -> Path | None:
    """A cited ``name``. A path (``docs/algorithm.md``) is relative to the citing file's folder or
    a folder above it, up to the repository root; a bare file name (``RESULTS.md``) is any
    document of that name in the repository."""
    if "/" not in name:
        found = repository_documents().get(name, [])
        near = [p for p in found if p.parent == citing.parent]
        return (near or found or [None])[0]
    folder = citing.parent
    while True:
        if (folder / name).is_file():
            return folder / name
        if folder == ROOT or ROOT not in folder.parents:
            return None
        folder = folder.parent


def test_the_readme_is_a_front_door():
    text = README.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines: move the rest to docs/"
    # what users and CI copy from it
    for needed in ("bash scripts/run.sh", "bash scripts/test.sh", "WGAN_TORCH", "WGAN_PYTHON", "WGAN_VENV",
                   "WGAN_STUDIO_RUNS", "WGAN_CACHE_DIR", "sudo apt-get install libxcb-cursor0",
                   "docs/studio-toy-light.png"):
        assert needed in text, needed
    linked = {target.split("#")[0] for target in LINK.findall(FENCE.sub("", text))}
    for doc in DOCS:
        assert rel(doc) in linked, f"README.md does not link {rel(doc)}"


@pytest.mark.parametrize("doc", MARKDOWN, ids=rel)
def test_every_relative_link_resolves(doc):
    text = INLINE_CODE.sub("", FENCE.sub("", doc.read_text(encoding="utf-8")))
    broken = []
    for target in LINK.findall(text):
        if URL.match(target) or target.startswith("mailto:"):
            continue
        path_part, _, fragment = target.partition("#")
        dest = (doc.parent / path_part).resolve() if path_part else doc
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
            broken.append(f"{target}: no heading #{fragment} in {rel(dest)}")
    assert not broken, f"{rel(doc)}: " + "; ".join(broken)


def test_every_cited_document_exists():
    missing = []
    for f in citing_files():
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(URL.sub("", text).splitlines(), 1):
            for name in DOCUMENT.findall(line):
                if resolve_document(name, f) is None:
                    missing.append(f"{rel(f)}:{n}: {name}")
    assert not missing, "documents cited but not in the repository:\n" + "\n".join(missing)


def test_cited_sections_exist():
    """``docs/algorithm.md, "Quality measures"`` (and the like) name a heading of that document."""
    wrong = []
    for f in citing_files():
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            for name, section in SECTION_CITATION.findall(line):
                doc = resolve_document(name, f)
                if doc is None or doc.parent == ROOT and doc.name == "README.md" and f.suffix == ".md":
                    continue  # a missing document is the test above's; a README quotes its own words
                titles = {h.strip() for level in range(1, 7) for h in headings(doc, level)}
                if section.strip() not in titles:
                    wrong.append(f"{rel(f)}:{n}: {name} has no section {section!r}")
    assert not wrong, "\n".join(wrong)


def test_the_algorithm_page_has_the_sections_the_code_cites():
    assert headings(ALGORITHM, 2) == ALGORITHM_SECTIONS


def test_the_configuration_reference_is_current():
    path = ROOT / "docs" / "configuration.md"
    current = path.read_text(encoding="utf-8") if path.is_file() else ""
    assert current == reference_markdown(), (
        f"docs/configuration.md is out of date with the config schema: run `{COMMAND}` and commit the result")


def test_the_configuration_reference_covers_every_key_and_preset():
    from engine.config import SCHEMA, list_presets

    text = reference_markdown()
    for dotted, info in SCHEMA.items():
        assert f"### `[{info.section}] {info.key}`" in text, dotted
        assert info.help in text, dotted
    for name in list_presets():
        assert f"### `{name}`" in text, name
    # the table's links land on the keys' own sections
    reference = ROOT / "docs" / "configuration.md"
    for info in SCHEMA.values():
        assert f"{info.section}-{info.key}" in anchors(reference), info.dotted


def test_the_reference_example_is_the_preset_it_names():
    from engine.config import load_preset, loads_config

    text = reference_markdown()
    example = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
    assert loads_config(example) == load_preset("toy-wgan-clip")
