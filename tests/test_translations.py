"""The Korean message catalogs (gettext, ``src/keraslab/locale/ko/LC_MESSAGES/<domain>.po`` and ``.mo``).

- every ``_("...")`` in the package is a plain literal and has a Korean text in its module's domain,
  with the same ``{fields}``; no catalog keeps a message the code no longer has;
- the compiled ``.mo`` files say what the ``.po`` files say (``make translations`` rebuilds them);
- English is the default, ``setup(language="ko")`` switches, and an unknown language is refused.
"""

from __future__ import annotations

import ast
import gettext
import re
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from keraslab import i18n

SRC = Path(i18n.__file__).resolve().parent
CATALOGS = SRC / "locale" / "ko" / "LC_MESSAGES"
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def messages_in_code() -> dict[str, dict[str, str]]:
    """``{domain: {msgid: "module.py:line"}}`` for every ``_("...")`` call in the package."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
        domains = {c.args[0].value for c in calls if c.func.id == "translator" and c.args
                   and isinstance(c.args[0], ast.Constant)}
        uses = [c for c in calls if c.func.id == "_"]
        if not uses:
            continue
        where = path.relative_to(SRC).as_posix()
        assert len(domains) == 1, f"{where} uses _() but names {len(domains)} translator domains"
        for call in uses:
            arg = call.args[0] if len(call.args) == 1 else None
            assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), (
                f"{where}:{call.lineno}: _() needs one plain string literal; a catalog cannot hold an f-string or a "
                "variable: write _(\"... {name} ...\").format(name=...)"
            )
            found.setdefault(next(iter(domains)), {})[arg.value] = f"{where}:{call.lineno}"
    return found


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


CODE = messages_in_code()


def _catalog(domain: str):
    path = CATALOGS / f"{domain}.po"
    assert path.is_file(), f"no Korean catalog {path.relative_to(SRC)} for the domain {domain!r}"
    with open(path, "rb") as f:
        return read_po(f, locale="ko")


def test_the_package_translates_its_messages():
    assert {"keraslab"} <= set(CODE)
    assert sum(len(m) for m in CODE.values()) >= 30


@pytest.mark.parametrize("domain", sorted(CODE))
def test_every_message_has_a_korean_text(domain):
    catalog = _catalog(domain)
    problems = []
    for msgid, where in CODE[domain].items():
        entry = catalog.get(msgid)
        if entry is None or not entry.string:
            problems.append(f"{where}: no Korean text for {msgid!r}")
        elif entry.fuzzy:
            problems.append(f"{where}: the Korean text of {msgid!r} is marked fuzzy")
        elif _fields(entry.string) != _fields(msgid):
            problems.append(f"{where}: fields {_fields(msgid)} in English, {_fields(entry.string)} in Korean")
        elif re.search(r"[A-Za-z]{2}", msgid.replace("{", " ").split("}")[-1]) and not HANGUL.search(entry.string):
            problems.append(f"{where}: the Korean text of {msgid!r} has no Hangul: {entry.string!r}")
    stale = sorted(m.id for m in catalog if m.id and m.id not in CODE[domain])
    problems += [f"{domain}.po keeps a message the code no longer has: {m!r}" for m in stale]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("domain", sorted(CODE))
def test_the_compiled_catalog_matches_its_text(domain):
    """``make translations`` was run: the .mo says what the .po says."""
    with open(CATALOGS / f"{domain}.mo", "rb") as f:
        compiled = gettext.GNUTranslations(f)
    stale = [m.id for m in _catalog(domain) if m.id and compiled.gettext(m.id) != m.string]
    assert not stale, f"{domain}.mo is older than {domain}.po ({len(stale)} messages differ): run `make translations`"


def test_english_is_the_default_and_korean_is_chosen_by_the_lesson():
    _ = i18n.translator("keraslab")
    assert i18n.language() == "en" and _("Hint: {hint}") == "Hint: {hint}"
    try:
        i18n.set_language("ko")
        assert _("Hint: {hint}") == "힌트: {hint}"
        with pytest.raises(ValueError, match="language='fr' is not an edition of this course: use one of en, ko"):
            i18n.set_language("fr")
        assert i18n.language() == "ko"
    finally:
        i18n.set_language("en")
