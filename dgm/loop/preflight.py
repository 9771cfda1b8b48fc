"""Checks made before a run (or an evaluation) starts: what would otherwise fail only after
money was spent."""

from __future__ import annotations

from dgm.config import RunConfig


def check_before_start(config: RunConfig) -> None:
    """What would otherwise fail only after money was spent: unknown suites, missing keys, the
    local model's packages.

    Raises: ConfigError, UnknownSuiteError.
    """
    from dgm.evals import get_suite

    from dgm.errors import ConfigError
    from dgm.llm import missing_credentials
    from dgm.llm.local import check_local_model, is_local

    options = config.suite_options()
    for suite in config.eval.suites:
        get_suite(suite, **options.get(suite.partition(":")[0], {}))
    if is_local(config.model.name):
        check_local_model()
    elif not config.model.is_dry_run:
        missing = missing_credentials(config.model.name, config.model.api_base)
        if missing:
            raise ConfigError(
                f"model {config.model.name} needs {', '.join(missing)} in the environment "
                "(read by the gateway on the host only; it never enters a sandbox)"
            )
