"""A small parser for unified diffs (as `git diff` writes them), keeping line numbers.

The flags need to say which lines raised them, so every added line carries its number in the
new file and every removed line its number in the old one. Only the standard library is used:
a child's diff is untrusted text, and this parser never fails on it (malformed parts are
skipped), so a review always opens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_GIT_HEADER = re.compile(r"^diff --git (\"(?:[^\"\\]|\\.)*\"|\S+) (\"(?:[^\"\\]|\\.)*\"|\S+)$")
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "r": "\r", "v": "\v"}


@dataclass(frozen=True)
class DiffLine:
    kind: str
    """'+' added, '-' removed, ' ' context."""
    text: str
    old_no: int | None
    new_no: int | None


@dataclass
class FileDiff:
    old_path: str | None
    """None for a new file."""
    new_path: str | None
    """None for a deleted file."""
    binary: bool = False
    lines: list[DiffLine] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""

    @property
    def added(self) -> list[DiffLine]:
        return [line for line in self.lines if line.kind == "+"]

    @property
    def removed(self) -> list[DiffLine]:
        return [line for line in self.lines if line.kind == "-"]


def _unquote(token: str) -> str:
    """Git quotes paths with unusual bytes C-style ("a/x\\303\\251"); undo that."""
    if not (len(token) >= 2 and token.startswith('"') and token.endswith('"')):
        return token
    body, out, i = token[1:-1], bytearray(), 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "01234567" and re.match(r"[0-7]{3}", body[i + 1 : i + 4]):
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            out += _ESCAPES.get(nxt, nxt).encode()
            i += 2
            continue
        out += ch.encode()
        i += 1
    return out.decode("utf-8", "replace")


def _strip_prefix(path: str) -> str | None:
    path = _unquote(path.split("\t")[0].strip())
    if path == "/dev/null":
        return None
    if path[:2] in ("a/", "b/"):
        return path[2:]
    return path


def parse_diff(text: str) -> list[FileDiff]:
    """The files of a unified diff, each with its numbered lines; never raises."""
    files: list[FileDiff] = []
    current: FileDiff | None = None
    old_no = new_no = 0
    old_left = new_left = 0
    for raw in text.splitlines():
        if current is not None and (old_left > 0 or new_left > 0) and raw[:1] in ("+", "-", " ", ""):
            kind = raw[:1] or " "
            body = raw[1:]
            if kind == "+":
                current.lines.append(DiffLine("+", body, None, new_no))
                new_no, new_left = new_no + 1, new_left - 1
            elif kind == "-":
                current.lines.append(DiffLine("-", body, old_no, None))
                old_no, old_left = old_no + 1, old_left - 1
            else:
                current.lines.append(DiffLine(" ", body, old_no, new_no))
                old_no, new_no = old_no + 1, new_no + 1
                old_left, new_left = old_left - 1, new_left - 1
            continue
        if raw.startswith("\\"):  # "\ No newline at end of file"
            continue
        match = _GIT_HEADER.match(raw)
        if match:
            current = FileDiff(_strip_prefix(match.group(1)), _strip_prefix(match.group(2)))
            files.append(current)
            old_left = new_left = 0
            continue
        if raw.startswith("--- "):
            path = _strip_prefix(raw[4:])
            if current is None or current.lines:  # a plain unified diff: no git header
                current = FileDiff(path, None)
                files.append(current)
            else:
                current.old_path = path
            continue
        if raw.startswith("+++ ") and current is not None:
            current.new_path = _strip_prefix(raw[4:])
            continue
        if current is None:
            continue
        if raw.startswith("new file mode"):
            current.old_path = None
        elif raw.startswith("deleted file mode"):
            current.new_path = None
        elif raw.startswith("rename from "):
            current.old_path = _unquote(raw[len("rename from ") :])
        elif raw.startswith("rename to "):
            current.new_path = _unquote(raw[len("rename to ") :])
        elif raw.startswith("Binary files ") or raw.startswith("GIT binary patch"):
            current.binary = True
        else:
            hunk = _HUNK.match(raw)
            if hunk:
                old_no, new_no = int(hunk.group(1)), int(hunk.group(3))
                old_left = int(hunk.group(2)) if hunk.group(2) is not None else 1
                new_left = int(hunk.group(4)) if hunk.group(4) is not None else 1
    return files
