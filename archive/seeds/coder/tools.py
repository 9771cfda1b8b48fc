"""The agent's tools: a shell in the workspace, viewing, writing and editing files, finishing.

Every tool returns text for the model. Mistakes (a missing file, an ambiguous edit, a command
that timed out) come back as explanations the model can act on, never as exceptions.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile

OUTPUT_CHARS = 12_000
VIEW_LINES = 400
BASH_TIMEOUT = 120
MAX_BASH_TIMEOUT = 600
SKIP_DIRS = {".git", "__pycache__", ".pytest_cache", ".mypy_cache", "node_modules", ".venv"}


def _schema(name, description, properties, required):
    return {"type": "function", "function": {"name": name, "description": description, "parameters": {
        "type": "object", "properties": properties, "required": required}}}


TOOLS = [
    _schema("bash", "Run a shell command (bash) in the workspace directory and get its exit code and "
            "combined stdout/stderr (long output keeps its head and tail). Use it to explore (ls, grep -rn, "
            "find), run Python and tests, and check your work. No network; no interactive programs. "
            f"Default timeout {BASH_TIMEOUT}s.",
            {"command": {"type": "string", "description": "The command line."},
             "timeout": {"type": "integer", "description": f"Seconds before the command is killed (max {MAX_BASH_TIMEOUT})."}},
            ["command"]),
    _schema("view", "Show a file with line numbers (the numbers are not part of the file), or list a "
            f"directory. Shows up to {VIEW_LINES} lines; pass start_line/end_line for other parts.",
            {"path": {"type": "string", "description": "File or directory, relative to the workspace or absolute."},
             "start_line": {"type": "integer", "description": "First line to show (1-based)."},
             "end_line": {"type": "integer", "description": "Last line to show (inclusive)."}},
            ["path"]),
    _schema("write", "Create a file or overwrite it entirely with the given content (parent folders "
            "are created). Prefer `edit` for changing part of an existing file.",
            {"path": {"type": "string"}, "content": {"type": "string", "description": "The complete new content."}},
            ["path", "content"]),
    _schema("edit", "Replace an exact piece of text in a file. old_str must match the file exactly "
            "(including indentation and blank lines) and be unique unless replace_all is true; include "
            "a few surrounding lines to make it unique. Returns the edited region.",
            {"path": {"type": "string"}, "old_str": {"type": "string", "description": "Exact text to replace."},
             "new_str": {"type": "string", "description": "The replacement text."},
             "replace_all": {"type": "boolean", "description": "Replace every occurrence."}},
            ["path", "old_str", "new_str"]),
    _schema("finish", "End the task. Call it only after you have verified your work.",
            {"summary": {"type": "string", "description": "What you changed and how you verified it."}},
            ["summary"]),
]


SHELL_FENCES = ("", "bash", "sh", "shell")


def shell_blocks(text):
    """The bodies of the fenced shell blocks (```bash, ```sh, ```shell or a bare ```) in a
    text answer, in order; blocks in other languages (```python) are not actions."""
    blocks, language, body = [], None, []
    for line in text.splitlines():
        fence = line.strip()
        if language is None:
            if fence.startswith("```"):
                language, body = fence[3:].strip().lower(), []
        elif fence.startswith("```"):
            if language in SHELL_FENCES and "\n".join(body).strip():
                blocks.append("\n".join(body))
            language = None
        else:
            body.append(line)
    return blocks


def clip(text, limit=OUTPUT_CHARS):
    if len(text) <= limit:
        return text
    head = limit // 3
    tail = limit - head
    return f"{text[:head]}\n[... {len(text) - limit} characters omitted ...]\n{text[-tail:]}"


class Toolbox:
    def __init__(self, workspace):
        self.root = os.path.abspath(workspace)
        self.changed = set()

    def path(self, name):
        return os.path.normpath(os.path.join(self.root, os.path.expanduser(str(name))))

    def run(self, name, raw_arguments):
        """Returns (text for the model, finished?)."""
        try:
            args = json.loads(raw_arguments or "{}")
            if not isinstance(args, dict):
                raise ValueError("arguments must be a JSON object")
        except ValueError as exc:
            return f"Error: the arguments of {name} are not a valid JSON object ({exc}). Call the tool again.", False
        method = getattr(self, "tool_" + str(name), None)
        if method is None:
            return f"Error: unknown tool {name!r}. Available: bash, view, write, edit, finish.", False
        try:
            return method(**args)
        except TypeError as exc:
            return f"Error: wrong arguments for {name}: {exc}", False
        except OSError as exc:
            return f"Error: {exc}", False

    def tool_finish(self, summary=""):
        return f"Finished: {summary}", True

    def tool_bash(self, command, timeout=BASH_TIMEOUT):
        timeout = max(1, min(int(timeout or BASH_TIMEOUT), MAX_BASH_TIMEOUT))
        shell = shutil.which("bash") or "/bin/sh"
        env = dict(os.environ, PAGER="cat", GIT_PAGER="cat", TERM="dumb", PYTHONUNBUFFERED="1")
        with tempfile.TemporaryFile() as out:
            proc = subprocess.Popen([shell, "-c", command], cwd=self.root, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
            try:
                code = proc.wait(timeout=timeout)
                status = f"exit code {code}"
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                status = f"killed after {timeout}s timeout (use a longer timeout or a faster command)"
            finally:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)  # background children must not outlive the call
                except OSError:
                    pass
            output = _head_and_tail(out)
        return f"[{status}]\n{output}" if output.strip() else f"[{status}] (no output)", False

    def tool_view(self, path, start_line=None, end_line=None):
        full = self.path(path)
        if os.path.isdir(full):
            return self._listing(full), False
        if not os.path.exists(full):
            return f"Error: {path} does not exist. Use `view` on a directory or `bash` (ls, find) to look around.", False
        with open(full, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
        start = max(1, int(start_line or 1))
        end = min(len(lines), int(end_line or start + VIEW_LINES - 1))
        body = "\n".join(f"{n:6}\t{lines[n - 1]}" for n in range(start, end + 1))
        note = f"\n[lines {start}-{end} of {len(lines)}]" if (start > 1 or end < len(lines)) else ""
        return clip(body or "(empty file)") + note, False

    def _listing(self, top):
        rows = []
        for folder, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            depth = os.path.relpath(folder, top).count(os.sep) + (folder != top)
            if depth > 2:
                dirs[:] = []
                continue
            for name in sorted(files):
                rel = os.path.relpath(os.path.join(folder, name), top)
                try:
                    size = os.path.getsize(os.path.join(folder, name))
                except OSError:
                    size = -1
                rows.append(f"{rel}  ({size} bytes)")
        return clip("\n".join(rows) or "(empty directory)")

    def tool_write(self, path, content):
        full = self.path(path)
        os.makedirs(os.path.dirname(full) or ".", exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write(content)
        self.changed.add(full)
        return f"Wrote {len(content.splitlines())} lines to {path}.{syntax_note(full, content)}", False

    def tool_edit(self, path, old_str, new_str, replace_all=False):
        full = self.path(path)
        if not os.path.isfile(full):
            return f"Error: {path} is not a file. Use `write` to create a new file.", False
        with open(full, encoding="utf-8", errors="replace") as f:
            text = f.read()
        count = text.count(old_str) if old_str else 0
        if count == 0:
            return (f"Error: old_str was not found in {path}. It must match exactly, including indentation "
                    "and whitespace; `view` the file and copy the text without the line numbers."), False
        if count > 1 and not replace_all:
            lines = [text[:i].count("\n") + 1 for i in _positions(text, old_str)]
            return (f"Error: old_str occurs {count} times in {path} (lines {lines[:10]}). Add surrounding "
                    "lines to make it unique, or pass replace_all=true."), False
        new_text = text.replace(old_str, new_str) if replace_all else text.replace(old_str, new_str, 1)
        with open(full, "w", encoding="utf-8") as f:
            f.write(new_text)
        self.changed.add(full)
        first = text[: text.index(old_str)].count("\n") + 1
        lines = new_text.splitlines()
        lo, hi = max(1, first - 3), min(len(lines), first + new_str.count("\n") + 3)
        snippet = "\n".join(f"{n:6}\t{lines[n - 1]}" for n in range(lo, hi + 1))
        return f"Edited {path} ({count if replace_all else 1} replacement). Lines {lo}-{hi} now:\n{snippet}{syntax_note(full, new_text)}", False


def _head_and_tail(handle, limit=OUTPUT_CHARS):
    """Read a command's output file, keeping its head and tail when it is long."""
    size = handle.seek(0, os.SEEK_END)
    handle.seek(0)
    if size <= limit:
        return handle.read().decode("utf-8", "replace")
    head = handle.read(limit // 3).decode("utf-8", "replace")
    handle.seek(size - (limit - limit // 3))
    tail = handle.read().decode("utf-8", "replace")
    return f"{head}\n[... {size - limit} bytes omitted ...]\n{tail}"


def _positions(text, sub):
    i = text.find(sub)
    while i >= 0:
        yield i
        i = text.find(sub, i + 1)


def syntax_note(path, text):
    if not path.endswith(".py"):
        return ""
    try:
        compile(text, path, "exec")
    except SyntaxError as exc:
        return f"\nWarning: the file now has a SyntaxError at line {exc.lineno}: {exc.msg}. Fix it."
    return ""
