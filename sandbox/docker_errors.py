"""How the Docker SDK fails, in one place for every module that talks to the daemon: which
exceptions mean "the daemon said no or is gone", and how to say one in a line."""

from __future__ import annotations


def docker_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean 'the daemon said no or is gone' (not a bug of ours)."""
    import docker.errors
    import requests.exceptions

    return (docker.errors.DockerException, requests.exceptions.RequestException, OSError)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
