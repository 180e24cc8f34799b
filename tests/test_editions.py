"""The English (``notebooks/``) and Korean (``notebooks/ko/``) editions teach the same code.

For every lesson and every script a lesson runs (``notebooks/scripts/`` and ``notebooks/ko/scripts/``):

- the same cells in the same order (type, id, tags);
- the same code, token for token, except comments, the strings a learner reads (a changed string must
  contain Hangul, and an f-string keeps its ``{...}`` expressions) and the ``setup(...)`` call's arguments
  (the Korean one says ``language="ko"``);
- every English heading matched by one Korean heading of the same level, in the same cell;
- where an English markdown cell uses a glossary term (README's table), the Korean cell uses its Korean;
- no English paragraph left untranslated: in each Korean paragraph most words are Hangul (code excluded).

``python tests/test_editions.py`` prints the figures per lesson (cells, tokens, words, Hangul share).
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

REPO = Path(__file__).resolve().parents[1]
EN, KO = REPO / "notebooks", REPO / "notebooks" / "ko"
LESSONS = sorted(p.name for p in EN.glob("[0-9][0-9]_*.ipynb"))
SCRIPTS = sorted(p.name for p in (KO / "scripts").glob("*.py"))
HANGUL = re.compile(r"[\uac00-\ud7a3]")
SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
STRINGS = {tokenize.STRING} | ({tokenize.FSTRING_MIDDLE} if hasattr(tokenize, "FSTRING_MIDDLE") else set())


def _glossary() -> list[tuple[re.Pattern, str, str]]:
    """README's glossary: (pattern of the English term, English, Korean). A term the table qualifies in
    parentheses, "resume (training)" -> 학습 재개, counts as used in Korean with its head noun, 재개."""
    rows = re.findall(r"^\| ([^|]+?) \| ([^|]+?) \| `\d\d_", (REPO / "README.md").read_text(encoding="utf-8"), re.M)
    terms = []
    for english, korean in rows:
        term = re.sub(r"\s*\(.*?\)\s*", " ", english).strip()  # "resume (training)" -> "resume"
        pattern = re.compile(rf"(?<![\w-]){re.escape(term)}(s|es)?(?![\w-])", re.IGNORECASE)
        terms.append((pattern, term, korean.strip().split()[-1] if "(" in english else korean.strip()))
    return terms


GLOSSARY = _glossary()


@dataclass
class Figures:
    """What one comparison found (reported by ``python tests/test_editions.py``)."""

    tokens: int = 0
    strings_translated: int = 0
    comments_en: int = 0
    comments_ko: int = 0
    problems: list[str] = field(default_factory=list)


def _python(source: str) -> str:
    """A cell's source as plain Python (IPython's magics become calls, as the kernel sees them)."""
    return TransformerManager().transform_cell(source)


def _tokens(source: str) -> list[tokenize.TokenInfo]:
    return list(tokenize.generate_tokens(io.StringIO(source).readline))


def _fstring_expressions(token: str) -> list[str]:
    """The ``{...}`` expressions of a string literal (none for a plain string), as ASTs."""
    try:
        node = ast.parse(token.strip(), mode="eval").body
    except SyntaxError:
        return []
    if not isinstance(node, ast.JoinedStr):
        return []
    return [ast.dump(v) for v in node.values if isinstance(v, ast.FormattedValue)]


def _without_setup_arguments(tokens: list[tokenize.TokenInfo]) -> tuple[list[tokenize.TokenInfo], str]:
    """Drop the arguments of a ``setup(...)`` call; return the tokens and the arguments' text."""
    out, args, depth = [], "", None
    for i, tok in enumerate(tokens):
        if depth is not None:
            if tok.string in "([{" and tok.type == tokenize.OP:
                depth += 1
            elif tok.string in ")]}" and tok.type == tokenize.OP:
                depth -= 1
                if depth == 0:
                    depth = None
                    out.append(tok)
                    continue
            args += tok.string
            continue
        out.append(tok)
        if tok.string == "(" and i > 0 and tokens[i - 1].string == "setup" and tokens[i - 1].type == tokenize.NAME:
            depth = 1
    return out, args


def compare_code(english: str, korean: str, where: str, figures: Figures, *, magics: bool = True) -> None:
    """Token-for-token comparison of one cell or script; problems go into ``figures.problems``."""
    if magics and english.startswith("%%writefile") and korean.startswith("%%writefile"):
        (head_en, _, english), (head_ko, _, korean) = english.partition("\n"), korean.partition("\n")
        if head_en != head_ko:
            figures.problems.append(f"{where}: the magic line differs: {head_en!r} vs {head_ko!r}")
        magics = False
    try:
        en = _tokens(_python(english) if magics else english)
        ko = _tokens(_python(korean) if magics else korean)
    except (tokenize.TokenError, SyntaxError, IndentationError) as exc:
        figures.problems.append(f"{where}: does not tokenize: {exc}")
        return
    figures.comments_en += sum(t.type == tokenize.COMMENT for t in en)
    figures.comments_ko += sum(t.type == tokenize.COMMENT and bool(HANGUL.search(t.string)) for t in ko)
    english_words = re.compile(r"[A-Za-z]{3,}(?: [A-Za-z]{2,}){3,}")
    for t in ko:
        if t.type == tokenize.COMMENT and english_words.search(t.string) and not HANGUL.search(t.string):
            figures.problems.append(f"{where}: an English comment in the Korean edition: {t.string!r}")
    en, args_en = _without_setup_arguments([t for t in en if t.type not in SKIPPED])
    ko, args_ko = _without_setup_arguments([t for t in ko if t.type not in SKIPPED])
    if args_en or args_ko:
        if not re.search(r"language=['\"]ko['\"]", args_ko) or "language" in args_en:
            figures.problems.append(f'{where}: setup({args_en}) vs setup({args_ko}): the Korean one says language="ko"')
    if len(en) != len(ko):
        figures.problems.append(f"{where}: {len(en)} tokens in English, {len(ko)} in Korean")
    for a, b in zip(en, ko, strict=False):
        figures.tokens += 1
        if a.type != b.type or (a.string != b.string and a.type not in STRINGS):
            figures.problems.append(f"{where} line {b.start[0]}: {a.string!r} in English, {b.string!r} in Korean")
            return
        if a.string != b.string:
            if not HANGUL.search(b.string):
                figures.problems.append(f"{where} line {b.start[0]}: string {a.string!r} changed to {b.string!r} "
                                        "(only text a learner reads may change, into Korean)")
            elif _fstring_expressions(a.string) != _fstring_expressions(b.string):
                figures.problems.append(f"{where} line {b.start[0]}: the f-string's {{...}} expressions differ")
            else:
                figures.strings_translated += 1


def _prose(markdown: str) -> str:
    """Markdown without code blocks, code spans, URLs, link targets and HTML tags."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"https?://\S+|<[^>]+>", " ", text)
    return text


def _headings(markdown: str) -> list[int]:
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    return [len(m.group(1)) for m in re.finditer(r"^(#{1,6}) \S", text, re.M)]


def hangul_share(markdown: str) -> float:
    """Hangul letters / all letters of the prose (code excluded)."""
    letters = re.findall(r"[A-Za-z\uac00-\ud7a3]", _prose(markdown))
    return sum(bool(HANGUL.match(c)) for c in letters) / len(letters) if letters else 1.0


def untranslated_paragraphs(markdown: str) -> list[str]:
    """Paragraphs (or table rows, list items) of 6+ words where fewer than half the words have Hangul."""
    found = []
    for block in re.split(r"\n\s*\n|\n(?=\s*[-*|]|\s*\d+\. )", _prose(markdown)):
        words = [w for w in re.findall(r"[\w'’-]+", block) if re.search(r"[^\W\d_]", w)]
        hangul = sum(bool(HANGUL.search(w)) for w in words)
        if len(words) >= 6 and hangul < len(words) / 2:
            found.append(" ".join(block.split())[:120])
    return found


def compare_lesson(name: str) -> tuple[Figures, dict]:
    english = nbformat.read(EN / name, as_version=4)
    korean = nbformat.read(KO / name, as_version=4)
    figures, stats = Figures(), {"cells": len(korean.cells), "headings": 0, "glossary": 0, "words": 0}
    if [(c.cell_type, c.get("id"), c.metadata.get("tags", [])) for c in english.cells] != [
        (c.cell_type, c.get("id"), c.metadata.get("tags", [])) for c in korean.cells
    ]:
        figures.problems.append(f"{name}: the cells differ in number, order, type, id or tags")
        return figures, stats
    prose = []
    for i, (a, b) in enumerate(zip(english.cells, korean.cells, strict=True)):
        where = f"ko/{name} cell {i}"
        if a.cell_type == "code":
            compare_code(a.source, b.source, where, figures)
            continue
        if a.cell_type != "markdown":
            continue
        prose.append(b.source)
        stats["words"] += len(_prose(b.source).split())
        if _headings(a.source) != _headings(b.source):
            figures.problems.append(f"{where}: headings {_headings(a.source)} in English, {_headings(b.source)} here")
        stats["headings"] += len(_headings(a.source))
        for pattern, term, korean_term in GLOSSARY:
            if pattern.search(_prose(a.source)):
                stats["glossary"] += 1
                if korean_term not in b.source:
                    figures.problems.append(f"{where}: the English cell says {term!r}, this one lacks {korean_term!r}")
        for paragraph in untranslated_paragraphs(b.source):
            figures.problems.append(f"{where}: untranslated paragraph: {paragraph!r}")
    stats["hangul_share"] = hangul_share("\n\n".join(prose))
    return figures, stats


def test_both_editions_have_the_same_lessons_and_scripts():
    assert LESSONS and sorted(p.name for p in KO.glob("[0-9][0-9]_*.ipynb")) == LESSONS
    assert SCRIPTS == sorted(p.name for p in (EN / "scripts").glob("*.py"))


@pytest.mark.parametrize("name", LESSONS)
def test_the_korean_lesson_teaches_the_same_code(name):
    figures, stats = compare_lesson(name)
    assert not figures.problems, "\n".join(figures.problems[:30])
    assert stats["hangul_share"] >= 0.6, stats


@pytest.mark.parametrize("name", SCRIPTS)
def test_the_korean_script_is_the_same_program(name):
    figures = Figures()
    english, korean = ((folder / "scripts" / name).read_text(encoding="utf-8") for folder in (EN, KO))
    compare_code(english, korean, f"ko/scripts/{name}", figures, magics=False)
    assert not figures.problems, "\n".join(figures.problems[:30])
    assert figures.comments_ko or not figures.comments_en, "its comments are not in Korean"


def test_the_readmes_link_each_other_on_their_first_line_and_share_the_glossary():
    english, korean = ((REPO / name).read_text(encoding="utf-8") for name in ("README.md", "README.ko.md"))
    assert "(README.ko.md)" in english.splitlines()[0] and "(README.md)" in korean.splitlines()[0]
    pairs_en = set(re.findall(r"^\| ([^|]+?) \| ([^|]+?) \| `\d\d_", english, re.M))
    pairs_ko = set(re.findall(r"^\| ([^|]+?) \| ([^|]+?) \| \d\d \|$", korean, re.M))
    assert {(en, ko) for ko, en in pairs_ko} == pairs_en and len(pairs_en) == len(GLOSSARY)
    for section in ("make run", "make test", "EDITION=ko", "JupyterLab", "VS Code", "Colab", "make tensorboard"):
        assert section in korean, section


def test_the_comparison_catches_changed_code():
    """The sync check can fail: a changed name, an untranslated changed string, a lost f-string field."""
    cases = {
        "x = 1\nprint('a')": ("y = 1\nprint('a')", "'x' in English, 'y' in Korean"),
        "fit(monitor='val_loss')": ("fit(monitor='loss')", "changed to"),
        "print(f'acc: {acc:.4f}')": ("print(f'정확도: {loss:.4f}')", "expressions differ"),
        "setup(backend='jax')": ("setup(backend='jax')", 'language="ko"'),
    }
    for english, (korean, problem) in cases.items():
        figures = Figures()
        compare_code(english, korean, "case", figures)
        assert any(problem in p for p in figures.problems), (english, korean, figures.problems)
    figures = Figures()
    english = "# train\nsetup(backend='jax')\nprint(f'acc: {acc}')"
    compare_code(english, "# 훈련\nsetup(backend='jax', language='ko')\nprint(f'정확도: {acc}')", "case", figures)
    assert figures.problems == [] and figures.strings_translated == 1
    assert untranslated_paragraphs("케라스의 콜백입니다.\n\nThis paragraph was left in English by mistake.") == [
        "This paragraph was left in English by mistake."]
    assert _headings("# 제목\n## 둘") == [1, 2]


if __name__ == "__main__":
    for lesson in LESSONS:
        if not (KO / lesson).exists():
            print(f"{lesson}: no Korean edition yet")
            continue
        f, s = compare_lesson(lesson)
        print(f"{lesson}: {s['cells']} cells, {f.tokens} code tokens compared, {f.strings_translated} strings and "
              f"{f.comments_ko}/{f.comments_en} comments in Korean, {s['headings']} headings, {s['glossary']} glossary "
              f"uses, {s['words']} Korean words, Hangul share {s.get('hangul_share', 0):.0%}, "
              f"{len(f.problems)} problems")
        for p in f.problems[:8]:
            print("   ", p)
    sys.exit(0)
