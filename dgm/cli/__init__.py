"""The `dgm` command: a small launcher that loads only the command group asked for.

Each group lives in its own module with its own typer app and is imported on demand, so
`dgm --help` needs only the standard library and `dgm archive ls` never imports litellm,
docker or scikit-learn. Expected errors cross the edge here, once: one line, non-zero exit.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import NamedTuple


class Command(NamedTuple):
    module: str
    summary: str


COMMANDS: dict[str, Command] = {
    "init": Command("dgm.cli.runs_init", "Create a run, seeding its archive with the seed agent."),
    "run": Command("dgm.cli.runs_daemon", "Run or resume the evolution daemon until a stop condition."),
    "status": Command("dgm.cli.runs_status", "What is in flight, best score and spend of a run."),
    "archive": Command("dgm.cli.archive", "Browse the archive: ls, tree, show, diff, best, export, verify."),
    "review": Command("dgm.cli.review", "Review children's diffs: next, approve, reject, note, ls, show, difftool."),
    "eval": Command("dgm.cli.eval", "Evaluate one agent directory on a suite, no run needed."),
    "sandbox": Command("dgm.cli.sandbox", "Build the sandbox image; check which isolation is in effect."),
    "report": Command("dgm.cli.report", "Write plots and an HTML report of a run."),
    "compare": Command("dgm.cli.compare", "Compare runs: a table, best-so-far plots and one HTML page."),
    "serve": Command("dgm.cli.serve", "Serve a local web view of a run (needs dgm[web])."),
    "worker": Command("dgm.cli.worker", "Join a Ray cluster as a sandbox node, after a sandbox self-check."),
    "cluster": Command("dgm.cli.cluster", "Show a Ray cluster's nodes, sandbox slots and what each runs."),
}

# (module, class) of every package's base of expected errors; checked only after a failure.
EXPECTED_ERRORS = (
    ("dgm.archive.errors", "ArchiveError"),
    ("dgm.sandbox.base", "SandboxError"),
    ("dgm.evals.base", "EvalError"),
    ("dgm.errors", "DgmError"),
)


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [
        "Usage: dgm COMMAND [ARGS]...",
        "",
        "  A Darwin Gödel Machine: coding agents that improve themselves, run in a",
        "  hardened sandbox, with their lineage kept in git and SQLite.",
        "",
        "Commands:",
    ]
    lines += [f"  {name.ljust(width)}  {cmd.summary}" for name, cmd in COMMANDS.items()]
    lines += ["", "Run 'dgm COMMAND --help' for a command's options."]
    return "\n".join(lines)


def is_expected(exc: BaseException) -> bool:
    for module_name, class_name in EXPECTED_ERRORS:
        module = sys.modules.get(module_name)
        base = getattr(module, class_name, None) if module else None
        if base is not None and isinstance(exc, base):
            return True
    return False


def fail(message: str, code: int) -> int:
    sys.stderr.write(f"dgm: error: {message}\n")
    return code


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if args[0] == "--version":
        from importlib.metadata import version

        print(f"dgm {version('dgm')}")
        return 0
    command = COMMANDS.get(args[0])
    if command is None:
        return fail(f"no such command '{args[0]}' (see 'dgm --help')", 2)
    try:
        app = importlib.import_module(command.module).app
        code = app(args=args[1:], prog_name=f"dgm {args[0]}", standalone_mode=False)
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    except Exception as exc:  # the edge: every error becomes one line
        return handle_error(exc)
    return code if isinstance(code, int) else 0  # click returns typer.Exit's code here


def handle_error(exc: Exception) -> int:
    import typer.exceptions

    # typer >= 0.29 carries its own copy of click, so match its classes, not click's
    if isinstance(exc, typer.exceptions.Exit):
        return exc.exit_code
    if isinstance(exc, typer.exceptions.Abort):
        return fail("aborted", 130)
    if isinstance(exc, typer.exceptions.TyperException):  # usage errors, as one line
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        context = getattr(exc, "ctx", None)
        where = context.command_path if context is not None else "dgm"
        return fail(f"{message} (see '{where} --help')", int(getattr(exc, "exit_code", 2)))
    if os.environ.get("DGM_DEBUG"):
        raise exc
    if is_expected(exc):
        return fail(str(exc), 2)
    if isinstance(exc, OSError):  # a path that cannot be read or written: the user's to fix
        where = f": {exc.filename}" if exc.filename else ""
        return fail(f"{exc.strerror or exc}{where}", 2)
    return fail(f"internal error: {type(exc).__name__}: {exc} (DGM_DEBUG=1 shows the traceback)", 1)


def entry() -> None:
    sys.exit(main())
