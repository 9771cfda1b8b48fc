"""The Session both backends share: every operation is a request to the in-sandbox runner.

A backend only starts the isolated runner, hands over a channel to it, and knows how to
kill everything (`_kill`) and how to count memory kills (`_oom_events`). The host keeps the
last word on time and size: each request has a host deadline (the runner's own timeout
plus a grace) and a reply cap; breaking either kills the session.
"""

from __future__ import annotations

import base64
import threading
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

from dgm.sandbox.base import (
    BackendUnavailable,
    BatchItem,
    ExecResult,
    Limits,
    SandboxError,
    SessionClosedError,
    TransferCaps,
    TransferError,
)
from dgm.sandbox.protocol import Channel, ChannelClosed, ChannelTimeout, ReplyTooLarge
from dgm.sandbox.transfer import check_sandbox_dir, pack_files, read_dir, unpack_untrusted

GRACE = 5.0
"""Seconds the host waits past a command's own timeout before it kills the session."""


class RunnerSession:
    """A sandbox session driven through the runner protocol. Subclasses: `_kill`, `_oom_events`."""

    backend_name = "?"

    def __init__(self, session_id: str, channel: Channel, limits: Limits, release: Callable[[], None] | None = None) -> None:
        """`release`: called once the session is killed (a warm pool's folders behind its mounts go)."""
        self.id = session_id
        self.limits = limits
        self.transfer_caps = TransferCaps()
        self._channel = channel
        self._lock = threading.Lock()
        self._kill_lock = threading.Lock()
        self._killed = False
        self._closed = False
        self._dead_reason = ""
        self._release = release
        self._timer = threading.Timer(limits.wall_seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    # --- backend hooks -------------------------------------------------------------------
    def _kill(self) -> None:
        """Kill every process of the session and remove it. Must not raise."""
        raise NotImplementedError

    def _oom_events(self) -> int:
        """How many processes the kernel killed for memory so far (0 when unknown)."""
        return 0

    def _outage(self) -> bool:
        """Whether the session ended because the backend itself failed (not the code inside)."""
        return False

    def _check_outage(self, exc: SandboxError) -> None:
        """A stream that ended while nobody of ours was killing the session: if the backend
        failed, kill what is left and raise BackendUnavailable instead of blaming the command.

        Raises: BackendUnavailable."""
        if isinstance(exc, ChannelClosed) and not self._dead_reason and self._outage():
            self._die(f"the sandbox backend stopped answering ({exc})")
            raise BackendUnavailable(f"sandbox session {self.id} was lost: the {self.backend_name} backend stopped answering") from None

    # --- the contract --------------------------------------------------------------------
    def exec(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = None,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> ExecResult:
        """Run a command in its own process group; stragglers are killed when it ends.

        Raises: SessionClosedError when the session is gone; SandboxError for an empty argv.
        """
        if not argv:
            raise SandboxError("an empty command was given to exec")
        timeout = self.limits.exec_timeout if timeout is None else timeout
        cap = self.limits.output_bytes
        header = {"op": "exec", "argv": list(argv), "timeout": timeout, "env": dict(env or {}), "cwd": cwd, "cap": cap}
        start = time.monotonic()
        oom_before = self._oom_events()
        try:
            reply, payload = self._request(header, stdin or b"", timeout + GRACE, 2 * cap)
        except (ChannelTimeout, ChannelClosed, ReplyTooLarge) as exc:
            return self._lost(exc, start, oom_before)
        try:
            split = int(reply.get("stdout_len", 0))
            return self._result(reply, payload[:split], payload[split:], oom_before)
        except (KeyError, TypeError, ValueError, AttributeError):
            return self._lost(ReplyTooLarge("the sandbox runner sent a malformed reply"), start, oom_before)

    def run_batch(self, items: Sequence[BatchItem], parallel: int | None = None) -> list[ExecResult]:
        """Run many short commands in this session, each in its own process group and
        directory (a fresh one under /tmp unless `cwd` is set) with its own timeout.
        `parallel` defaults to the session's CPU share.

        Raises: SessionClosedError when the session is gone.
        """
        if not items:
            return []
        if not all(item.argv for item in items):
            raise SandboxError("a batch item has an empty command")
        workers = parallel or max(1, int(self.limits.cpus))
        cap = self.limits.output_bytes
        wire = [
            {
                "argv": list(item.argv),
                "stdin": base64.b64encode(item.stdin).decode() if item.stdin else "",
                "timeout": item.timeout,
                "cwd": item.cwd,
                "env": dict(item.env),
            }
            for item in items
        ]
        budget = sum(item.timeout + 1.0 for item in items) / workers + GRACE
        start = time.monotonic()
        oom_before = self._oom_events()
        try:
            reply, payload = self._request(
                {"op": "batch", "items": wire, "cap": cap, "parallel": workers}, b"", budget, 2 * cap * len(items)
            )
            results = reply["results"]
            if not isinstance(results, list) or len(results) != len(items):
                raise ReplyTooLarge("the sandbox runner sent a batch reply of the wrong length")
        except (ChannelTimeout, ChannelClosed, ReplyTooLarge) as exc:
            lost = self._lost(exc, start, oom_before)
            return [lost] * len(items)
        out, pos = [], 0
        try:
            for result in results:
                n_out, n_err = int(result["stdout_len"]), int(result["stderr_len"])
                out.append(self._result(result, payload[pos : pos + n_out], payload[pos + n_out : pos + n_out + n_err], oom_before))
                pos += n_out + n_err
        except (KeyError, TypeError, ValueError, AttributeError):  # the host trusts nothing the runner says
            return [self._lost(ReplyTooLarge("the sandbox runner sent a malformed batch reply"), start, oom_before)] * len(items)
        return out

    def put_files(self, dest: str, files: Mapping[str, bytes]) -> None:
        """Write files under the sandbox directory `dest`.

        Raises: TransferError on an unsafe path or a broken cap; SessionClosedError.
        """
        data = pack_files(files, self.transfer_caps)
        reply, _ = self._transfer({"op": "put", "dest": check_sandbox_dir(dest)}, data, 0)
        if "error" in reply:
            raise TransferError(f"cannot write under {dest}: {reply['error']}")

    def put_dir(self, src: Path, dest: str) -> None:
        """Copy a host directory's regular files under `dest`.

        Raises: TransferError on links, special files or a broken cap; SessionClosedError.
        """
        self.put_files(dest, read_dir(Path(src), self.transfer_caps))

    def get_files(self, src: str, caps: TransferCaps | None = None) -> dict[str, bytes]:
        """Read the regular files under the sandbox directory `src`.

        Raises: TransferError on links, devices, unsafe paths or broken caps; SessionClosedError.
        """
        caps = caps or self.transfer_caps
        header = {"op": "get", "src": check_sandbox_dir(src), "max_bytes": caps.max_bytes, "max_files": caps.max_files}
        reply, data = self._transfer(header, b"", caps.max_bytes + 1024 * (caps.max_files + 20))
        if "error" in reply:
            raise TransferError(f"cannot read {src}: {reply['error']}")
        return unpack_untrusted(data, caps)

    def close(self) -> None:
        """Kill everything in the session and remove it. Idempotent; never raises."""
        self._timer.cancel()
        if not self._closed:
            self._closed = True
            self._dead_reason = self._dead_reason or "the session was closed"
        self._channel.close()
        self._kill_once()

    def __enter__(self) -> "RunnerSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals -----------------------------------------------------------------------
    def _request(self, header: dict, payload: bytes, seconds: float, max_reply: int) -> tuple[dict, bytes]:
        with self._lock:
            if self._closed:
                raise SessionClosedError(f"sandbox session {self.id} is gone: {self._dead_reason}")
            return self._channel.request(header, payload, time.monotonic() + seconds, max_reply)

    def _transfer(self, header: dict, payload: bytes, max_reply: int) -> tuple[dict, bytes]:
        try:
            return self._request(header, payload, 60.0 + len(payload) / 1e6, max_reply)
        except ReplyTooLarge as exc:
            self._die(str(exc))
            raise TransferError(f"{exc}; session {self.id} killed") from None
        except (ChannelTimeout, ChannelClosed) as exc:
            self._check_outage(exc)
            self._die(str(exc))
            raise SessionClosedError(f"sandbox session {self.id} is gone: {exc}") from None

    def _result(self, reply: dict, stdout: bytes, stderr: bytes, oom_before: int) -> ExecResult:
        if "error" in reply:
            raise SandboxError(f"the sandbox runner refused the command: {reply['error']}")
        killed = reply.get("signal") == 9 and not reply.get("timed_out")
        return ExecResult(
            exit_code=reply.get("exit_code"),
            stdout=stdout,
            stderr=stderr,
            timed_out=bool(reply.get("timed_out")),
            oom_killed=killed and self._oom_events() > oom_before,
            duration=float(reply.get("duration", 0.0)),
            stdout_truncated=bool(reply.get("stdout_truncated")),
            stderr_truncated=bool(reply.get("stderr_truncated")),
        )

    def _lost(self, exc: SandboxError, start: float, oom_before: int) -> ExecResult:
        """The runner did not answer properly: kill the session and report what we know.

        Raises: BackendUnavailable when the backend, not the command, failed."""
        self._check_outage(exc)
        expired = self._dead_reason.startswith("wall")
        oom = self._oom_events() > oom_before
        self._die(str(exc))
        timed_out = isinstance(exc, ChannelTimeout) or expired
        return ExecResult(
            exit_code=None,
            stdout=b"",
            stderr=f"sandbox: {exc}; session killed\n".encode(),
            timed_out=timed_out,
            oom_killed=oom,
            duration=time.monotonic() - start,
            session_lost=not (timed_out or oom),
        )

    def _die(self, reason: str) -> None:
        if not self._dead_reason:
            self._dead_reason = reason
        self._closed = True
        self._kill_once()

    def _kill_once(self) -> None:
        """Kill and remove once; a second caller (timer, request, close) waits for the first."""
        with self._kill_lock:
            if not self._killed:
                self._killed = True
                try:
                    self._kill()
                finally:
                    if self._release is not None:
                        self._release()

    def _expire(self) -> None:
        self._dead_reason = self._dead_reason or f"wall-clock limit of {self.limits.wall_seconds:g}s passed"
        self._closed = True
        self._kill_once()
