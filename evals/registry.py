"""Suites by name: `get_suite("humaneval")`, `get_suite("reasoning", size=5)`,
`get_suite("custom:PATH")`, `get_suite("polyglot-go:PATH")`, `get_suite("swebench:FILE")`. Suite
modules are imported only when asked for."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from dgm.evals.base import Suite, UnknownSuiteError
from dgm.sandbox import DEFAULT_IMAGE, POLYGLOT_IMAGE

SUITES: dict[str, tuple[str, str]] = {
    "humaneval": ("dgm.evals.humaneval", "HumanEvalSuite"),
    "humaneval-fix": ("dgm.evals.humaneval_fix", "HumanEvalFixSuite"),
    "reasoning": ("dgm.evals.reasoning", "ReasoningSuite"),
    "custom": ("dgm.evals.custom", "CustomSuite"),
    "polyglot": ("dgm.evals.polyglot", "PolyglotSuite"),
    "swebench": ("dgm.evals.swebench", "SweBenchSuite"),
}
TAKES_PATH = {"custom": "a folder", "polyglot": "a folder", "swebench": "a file of instances"}
"""Suites that take a path: 'custom:PATH', 'polyglot:PATH' (and polyglot-<lang>[+tests]:PATH),
'swebench:FILE'."""


def _family(base: str) -> str:
    """'polyglot-go+tests' -> 'polyglot'; other names are their own family."""
    return "polyglot" if base == "polyglot" or base.startswith(("polyglot-", "polyglot+")) else base


def suite_image(name: str) -> str | None:
    """The sandbox image a suite needs, when it is not the default one (without loading data)."""
    return POLYGLOT_IMAGE if _family(name.partition(":")[0]) == "polyglot" else None


def image_for(suites: list[str], configured: str = DEFAULT_IMAGE) -> str:
    """The image to run these suites in: a configured non-default image wins; else the one
    a suite needs (the polyglot image also serves every other suite), else the default."""
    if configured != DEFAULT_IMAGE:
        return configured
    needed = {image for image in map(suite_image, suites) if image is not None}
    return needed.pop() if needed else DEFAULT_IMAGE


def suite_names() -> list[str]:
    """Registered names; 'custom' and 'polyglot' take a folder ('custom:PATH', 'polyglot:PATH'),
    'swebench' a file of instances ('swebench:FILE')."""
    return list(SUITES)


def get_suite(name: str, **options: Any) -> Suite:
    """Raises: UnknownSuiteError for a name no suite answers to; TaskFormatError for a bad
    custom folder."""
    base, _, arg = name.partition(":")
    family = _family(base)
    if family not in SUITES:
        raise UnknownSuiteError(f"unknown suite '{name}' (known: {', '.join(suite_names())}; custom:PATH for a folder, swebench:FILE for SWE-bench instances)")
    module, cls = SUITES[family]
    factory = getattr(importlib.import_module(module), cls)
    if family in TAKES_PATH:
        if not arg:
            raise UnknownSuiteError(f"the {base} suite needs {TAKES_PATH[family]}: --suite {base}:PATH")
        if family == "polyglot":
            return factory(Path(arg), base, **options)
        return factory(Path(arg), **options)
    if arg:
        raise UnknownSuiteError(f"suite '{base}' takes no argument (got '{name}')")
    return factory(**options)
