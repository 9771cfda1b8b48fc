"""Host side of the runner protocol: framed requests over a byte stream, with a deadline
and a size cap on every reply (the runner shares a user with agent code, so it is untrusted).

Frame: 4-byte big-endian JSON length, JSON header, 8-byte payload length, payload.
"""

from __future__ import annotations

import json
import os
import select
import socket
import struct
import time
from typing import Any

from dgm.sandbox.base import SandboxError


class ChannelClosed(SandboxError):
    """The runner's stream ended (the session died or was killed)."""


class ChannelTimeout(SandboxError):
    """The runner did not answer before the host's deadline."""


class ReplyTooLarge(SandboxError):
    """The runner's reply broke a size cap; the session is not trusted any more."""


class Channel:
    """A byte stream to the runner. Subclasses provide `_read_some` and `send`."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def send(self, data: bytes) -> None:
        raise NotImplementedError

    def _read_some(self, timeout: float) -> bytes:
        """Up to 64 KiB; b'' at end of stream. Raises ChannelTimeout."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def recv_exact(self, n: int, deadline: float) -> bytes:
        while len(self._buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ChannelTimeout("the sandbox runner did not answer in time")
            chunk = self._read_some(remaining)
            if not chunk:
                raise ChannelClosed("the sandbox session ended")
            self._buf += chunk
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def request(self, header: dict[str, Any], payload: bytes, deadline: float, max_reply: int) -> tuple[dict, bytes]:
        """Send one request and read its reply, refusing replies larger than `max_reply`.

        Raises: ChannelTimeout, ChannelClosed, ReplyTooLarge.
        """
        data = json.dumps(header).encode()
        self.send(struct.pack(">I", len(data)) + data + struct.pack(">Q", len(payload)) + payload)
        (hlen,) = struct.unpack(">I", self.recv_exact(4, deadline))
        if hlen > 16 * 1024 * 1024:
            raise ReplyTooLarge(f"the sandbox runner sent a {hlen}-byte header")
        try:
            reply = json.loads(self.recv_exact(hlen, deadline))
        except ValueError:
            raise ReplyTooLarge("the sandbox runner sent a malformed reply") from None
        (plen,) = struct.unpack(">Q", self.recv_exact(8, deadline))
        if plen > max_reply or not isinstance(reply, dict):
            raise ReplyTooLarge(f"the sandbox runner sent {plen} bytes, more than the cap of {max_reply}")
        return reply, self.recv_exact(plen, deadline) if plen else b""


class PipeChannel(Channel):
    """The runner's stdin and stdout as pipes of a host process (bubblewrap)."""

    def __init__(self, write_fd: int, read_fd: int) -> None:
        super().__init__()
        self._w, self._r = write_fd, read_fd

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._w, view) :]
        except OSError as exc:
            raise ChannelClosed(f"the sandbox session ended ({exc.strerror})") from None

    def _read_some(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self._r], [], [], timeout)
        if not ready:
            raise ChannelTimeout("the sandbox runner did not answer in time")
        try:
            return os.read(self._r, 65536)
        except OSError:
            return b""

    def close(self) -> None:
        for fd in (self._w, self._r):
            try:
                os.close(fd)
            except OSError:
                pass


class DockerExecChannel(Channel):
    """A `docker exec` socket (no tty): output arrives in frames of an 8-byte header
    (stream, 0, 0, 0, size) plus data; only stdout (stream 1) belongs to the protocol."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock
        self._sock.settimeout(None)
        self._raw = bytearray()
        self._left = 0
        self._stream = 0

    def send(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise ChannelClosed(f"the sandbox session ended ({exc})") from None

    def _read_some(self, timeout: float) -> bytes:
        end = time.monotonic() + timeout
        while True:
            out = self._demux()
            if out:
                return out
            remaining = end - time.monotonic()
            ready, _, _ = select.select([self._sock], [], [], max(0.0, remaining))
            if not ready:
                raise ChannelTimeout("the sandbox runner did not answer in time")
            try:
                chunk = self._sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                return b""
            self._raw += chunk

    def _demux(self) -> bytes:
        out = bytearray()
        while self._raw:
            if self._left == 0:
                if len(self._raw) < 8:
                    break
                self._stream = self._raw[0]
                (self._left,) = struct.unpack(">I", bytes(self._raw[4:8]))
                del self._raw[:8]
                continue
            take = min(self._left, len(self._raw))
            if self._stream == 1:
                out += self._raw[:take]
            del self._raw[:take]  # the runner's stderr is dropped: nobody reads it
            self._left -= take
        return bytes(out)

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass
