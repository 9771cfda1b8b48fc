"""Checks made before a run (or an evaluation) starts: what would otherwise fail only after
money was spent."""

from __future__ import annotations

from dgm.config import RunConfig


def check_before_start(config: RunConfig) -> None:
    """What would otherwise fail only after money was spent: unknown suites, a model no
    provider serves, missing keys, the local model's packages.

    Raises: ConfigError, UnknownSuiteError.
    """
    from dgm.evals import get_suite

    from dgm.errors import ConfigError
    from dgm.llm import missing_credentials
    from dgm.llm.local import check_local_model, is_local
    from dgm.llm.models import route_problem

    for suite in config.eval.suites:
        get_suite(suite, **config.options_for(suite))
    if is_local(config.model.name):
        check_local_model()
    elif not config.model.is_dry_run:
        problem = route_problem(config.model.name, config.model.api_base) or server_problem(config.model.api_base)
        if problem:
            raise ConfigError(problem)
        missing = missing_credentials(config.model.name, config.model.api_base)
        if missing:
            raise ConfigError(
                f"model {config.model.name} needs {', '.join(missing)} in the environment "
                "(read by the gateway on the host only; it never enters a sandbox)"
            )


def server_problem(api_base: str, timeout: float = 3.0) -> str | None:
    """Why the model server at `api_base` cannot be reached (None when it can, or when
    there is none): a TCP connection only, no model call and no cost."""
    import socket
    from urllib.parse import urlsplit

    if not api_base:
        return None
    url = urlsplit(api_base)
    if not url.hostname:
        return f"--api-base {api_base} is not a URL (e.g. http://127.0.0.1:8080/v1)"
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=timeout).close()
    except OSError as exc:
        return f"no model server answers at {api_base} ({exc.strerror or exc})"
    return None
