"""A side-by-side, syntax-highlighted view of a unified diff (pure; Pygments for colours).

Each file becomes rows of (old line, new line): context lines sit on both sides, and within a
run of changes the removed lines face the added ones, as code-review tools show them. Lines
are highlighted one at a time with the lexer the file name suggests, and escaped by Pygments,
so a child's diff (untrusted text) never reaches the page as markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any, Mapping

from markupsafe import Markup, escape

from dgm.review.diffparse import DiffLine, parse_diff


@dataclass(frozen=True)
class Cell:
    number: int | None
    html: Markup
    kind: str
    """'add', 'del', 'ctx' or 'empty'."""


@dataclass
class FileView:
    path: str
    anchor: str
    added: int
    removed: int
    binary: bool
    rows: list[tuple[Cell, Cell, list[Any]]] = field(default_factory=list)
    """(old side, new side, line comments on the new line)."""


_EMPTY = Cell(None, Markup(""), "empty")
_GAP = Cell(None, Markup("⋯"), "gap")
"""Between two hunks: lines the diff does not show."""


def _highlighter(path: str) -> Any:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import TextLexer, get_lexer_for_filename
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_for_filename(path, stripnl=False, stripall=False, ensurenl=False)
    except ClassNotFound:
        lexer = TextLexer(stripnl=False, ensurenl=False)
    formatter = HtmlFormatter(nowrap=True)

    def render(text: str) -> Markup:
        return Markup(highlight(text, lexer, formatter))  # Pygments escapes the text it formats

    return render


def side_by_side(diff: str, line_notes: Mapping[tuple[str, int], list[Any]] | None = None) -> list[FileView]:
    notes = line_notes or {}
    views = []
    for i, fd in enumerate(parse_diff(diff)):
        render = _highlighter(fd.path)
        view = FileView(fd.path, f"file-{i + 1}", len(fd.added), len(fd.removed), fd.binary)
        removed: list[DiffLine] = []
        added: list[DiffLine] = []
        expected: list[int | None] = [None, None]  # the next old and new line numbers, if contiguous

        def gap_before(line: DiffLine) -> None:
            old_next, new_next = expected
            jumped = (line.old_no is not None and old_next is not None and line.old_no != old_next) or (
                line.new_no is not None and new_next is not None and line.new_no != new_next)
            if jumped:
                flush()  # the previous hunk's last changes come before the gap
                view.rows.append((_GAP, _GAP, []))
            if line.old_no is not None:
                expected[0] = line.old_no + 1
            if line.new_no is not None:
                expected[1] = line.new_no + 1

        def flush() -> None:
            for old, new in zip_longest(removed, added):
                left = Cell(old.old_no, render(old.text), "del") if old else _EMPTY
                right = Cell(new.new_no, render(new.text), "add") if new else _EMPTY
                view.rows.append((left, right, notes.get((fd.path, new.new_no), []) if new and new.new_no is not None else []))
            removed.clear()
            added.clear()

        for line in fd.lines:
            gap_before(line)
            if line.kind == "-":
                removed.append(line)
            elif line.kind == "+":
                added.append(line)
            else:
                flush()
                html = render(line.text)
                view.rows.append((Cell(line.old_no, html, "ctx"), Cell(line.new_no, html, "ctx"), notes.get((fd.path, line.new_no or 0), [])))
        flush()
        views.append(view)
    return views


def plain(text: str) -> Markup:
    return escape(text)
