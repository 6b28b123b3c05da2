"""The zh_CN and en catalogs are complete and their committed .mo files match the .po files (no build step needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "webui" / "translations"
# Babel resolves zh_CN to zh_Hans_CN and looks for that folder.
CATALOGS = ["zh_Hans_CN", "en"]


def _extracted() -> set[str | tuple[str, ...]]:
    method_map = [("**/static/**", "ignore"), ("**.py", "python"), ("templates/**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT / "webui"), method_map=method_map):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def _key(text: object) -> str | tuple[str, ...]:
    return text if isinstance(text, str) else tuple(text)  # type: ignore[arg-type]


def _ids(catalog: object) -> set[str | tuple[str, ...]]:
    return {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog if m.id}  # type: ignore[attr-defined]


@pytest.mark.parametrize("locale", CATALOGS)
def test_every_message_is_translated(locale):
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    missing = _extracted() - _ids(catalog)
    assert not missing, f"run the catalog update in docs/ui.md; missing in {locale}: {sorted(map(str, missing))}"
    untranslated = [
        m.id for m in catalog if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))
    ]
    assert untranslated == []
    assert [m.id for m in catalog if m.id and m.fuzzy] == []
    problems = [(m.id, errors) for m, errors in catalog.check() if errors]
    assert problems == [], "placeholders must match between msgid and msgstr"


@pytest.mark.parametrize("locale", CATALOGS)
def test_the_compiled_catalog_matches_its_source(locale):
    folder = TRANSLATIONS / locale / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as f:
        source = {_key(m.id): _key(m.string) for m in read_po(f) if m.id}
    with (folder / "messages.mo").open("rb") as f:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(f) if m.id}
    assert compiled == source, "compile the catalogs again: pybabel compile -d webui/translations"
