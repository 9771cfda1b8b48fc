"""Suites by name: `get_suite("humaneval")`, `get_suite("reasoning", size=5)`,
`get_suite("custom:PATH")`. Suite modules are imported only when asked for."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from dgm.evals.base import Suite, UnknownSuiteError

SUITES: dict[str, tuple[str, str]] = {
    "humaneval": ("dgm.evals.humaneval", "HumanEvalSuite"),
    "humaneval-fix": ("dgm.evals.humaneval_fix", "HumanEvalFixSuite"),
    "reasoning": ("dgm.evals.reasoning", "ReasoningSuite"),
    "custom": ("dgm.evals.custom", "CustomSuite"),
}


def suite_names() -> list[str]:
    """Registered names; 'custom' takes a folder: 'custom:PATH'."""
    return list(SUITES)


def get_suite(name: str, **options: Any) -> Suite:
    """Raises: UnknownSuiteError for a name no suite answers to; TaskFormatError for a bad
    custom folder."""
    base, _, arg = name.partition(":")
    if base not in SUITES:
        raise UnknownSuiteError(f"unknown suite '{name}' (known: {', '.join(suite_names())}; custom:PATH for a folder)")
    module, cls = SUITES[base]
    factory = getattr(importlib.import_module(module), cls)
    if base == "custom":
        if not arg:
            raise UnknownSuiteError("the custom suite needs a folder: --suite custom:PATH")
        return factory(Path(arg), **options)
    if arg:
        raise UnknownSuiteError(f"suite '{base}' takes no argument (got '{name}')")
    return factory(**options)
