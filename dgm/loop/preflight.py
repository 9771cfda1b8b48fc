"""Checks made before a run (or an evaluation) starts: what would otherwise fail only after
money was spent."""

from __future__ import annotations

from dgm.config import RunConfig


def check_before_start(config: RunConfig) -> None:
    """What would otherwise fail only after money was spent: unknown suites, missing keys.

    Raises: ConfigError, UnknownSuiteError.
    """
    from dgm.evals import get_suite

    from dgm.errors import ConfigError
    from dgm.llm import missing_credentials

    for suite in config.eval.suites:
        get_suite(suite)
    if not config.model.is_dry_run:
        missing = missing_credentials(config.model.name, config.model.api_base)
        if missing:
            raise ConfigError(
                f"model {config.model.name} needs {', '.join(missing)} in the environment "
                "(read by the gateway on the host only; it never enters a sandbox)"
            )
