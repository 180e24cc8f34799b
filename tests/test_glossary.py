"""The README's glossary (용어집) against the lessons.

Every row names an English term, its Korean and the lesson that first teaches or uses it. The Korean
must appear in that lesson's markdown, at or right after the first English mention (the lessons write
"English term (한국어)"), and no earlier lesson may use the English term without it.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
NOTEBOOKS = ROOT / "notebooks"

# How far after the end of the first English mention the Korean may start: room for markup and a
# short aside, e.g. "validation accuracy (`val_accuracy`, 검증 정확도)".
WINDOW = 60


def glossary_rows():
    """(english, korean, lesson) for every row of the README's "## Glossary (용어집)" table."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## Glossary \(용어집\)\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, "README.md has no '## Glossary (용어집)' section"
    rows = []
    for line in match.group(1).splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("English", "") or set(cells[0]) <= set("-: "):
            continue
        rows.append((cells[0], cells[1], cells[2].strip("`")))
    return rows


def lesson_markdown(lesson):
    """The markdown of one lesson, without its title line (a title is not prose)."""
    path = NOTEBOOKS / f"{lesson}.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    text = "\n\n".join("".join(cell["source"]) for cell in nb["cells"] if cell["cell_type"] == "markdown")
    text = re.sub(r"\A# [^\n]*\n", "", text)
    return re.sub(r"\s+", " ", text)  # a line break inside a term renders as a space


def english_pattern(english):
    """A regex for the English term: parenthesised parts dropped, space or hyphen alike, plurals allowed."""
    term = re.sub(r"\s*\(.*?\)", "", english).replace("`", "").strip()
    words = [re.escape(word) for word in re.split(r"[\s-]+", term)]
    if words[-1].endswith("y"):  # strategy, strategies
        words[-1] = words[-1][:-1] + "(?:y|ie)"
    return re.compile(r"\b" + r"[\s-]+".join(words) + r"(?:s|es)?\b", re.IGNORECASE)


ROWS = glossary_rows()
LESSONS = sorted(path.stem for path in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def test_glossary_has_rows_and_known_lessons():
    assert len(ROWS) >= 40, f"only {len(ROWS)} glossary rows"
    unknown = sorted({lesson for _, _, lesson in ROWS} - set(LESSONS))
    assert not unknown, f"glossary names lessons that do not exist: {unknown}"
    englishes = [english for english, _, _ in ROWS]
    assert len(englishes) == len(set(englishes)), "a term is listed twice"
    assert all(re.search(r"[\uac00-\ud7a3]", korean) for _, korean, _ in ROWS), "a row has no Korean"


@pytest.mark.parametrize(("english", "korean", "lesson"), ROWS, ids=[row[0] for row in ROWS])
def test_korean_term_at_first_mention(english, korean, lesson):
    markdown = lesson_markdown(lesson)
    assert korean in markdown, f"{lesson}: {korean!r} ({english}) never appears in its markdown"
    first_english = english_pattern(english).search(markdown)
    assert first_english, f"{lesson}: the English term {english!r} never appears; is this the right lesson?"
    first_korean = markdown.index(korean)
    context = markdown[max(0, first_english.start() - 40) : first_english.end() + WINDOW]
    assert first_korean <= first_english.end() + WINDOW, (
        f"{lesson}: {english!r} is first used without its Korean {korean!r}: ...{context}..."
    )


@pytest.mark.parametrize(("english", "korean", "lesson"), ROWS, ids=[row[0] for row in ROWS])
def test_no_earlier_lesson_uses_the_term_first(english, korean, lesson):
    pattern = english_pattern(english)
    earlier = [name for name in LESSONS if name < lesson]
    users = [name for name in earlier if pattern.search(lesson_markdown(name))]
    assert not users, f"{english!r} is used in {users} before {lesson}, where the glossary says it is taught"


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_lesson_gives_the_korean_at_its_own_first_mention(lesson):
    """Lessons can be studied alone: each one gives the Korean again at its own first English mention."""
    markdown = lesson_markdown(lesson)
    missing = []
    for english, korean, first_lesson in ROWS:
        if first_lesson > lesson:
            continue
        first_english = english_pattern(english).search(markdown)
        if first_english is None:
            continue
        first_korean = markdown.find(korean)
        if first_korean == -1 or first_korean > first_english.end() + WINDOW:
            context = markdown[max(0, first_english.start() - 40) : first_english.end() + 20].replace("\n", " ")
            missing.append(f"{english} ({korean}): ...{context}...")
    assert not missing, f"{lesson} first uses these terms without their Korean:\n" + "\n".join(missing)
