"""Safe file transfer: host-built archives going in, untrusted archives coming out.

Everything that leaves a sandbox is hostile: archives are read in memory (never extracted
on the host) through tarfile's `data` filter plus stricter rules of our own: only regular
files and directories, relative paths without `..`, and caps on count and size.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path, PurePosixPath
from typing import Mapping

from dgm.sandbox.base import TransferCaps, TransferError


def check_relpath(name: str) -> str:
    """The normalised relative path, or TransferError for absolute paths and `..`.

    Raises: TransferError.
    """
    if not name or "\x00" in name or name.startswith("/") or "\\" in name:
        raise TransferError(f"unsafe path {name!r}: must be relative")
    parts = PurePosixPath(name).parts
    if ".." in parts or not parts:
        raise TransferError(f"unsafe path {name!r}: '..' is not allowed")
    return "/".join(p for p in parts if p != ".")


def check_sandbox_dir(path: str) -> str:
    """A sandbox-side directory: absolute, no `..`.

    Raises: TransferError.
    """
    if not path.startswith("/") or ".." in PurePosixPath(path).parts or "\x00" in path:
        raise TransferError(f"sandbox path {path!r} must be absolute and without '..'")
    return path


def check_files(files: Mapping[str, bytes], caps: TransferCaps) -> dict[str, bytes]:
    """The files with normalised names, after checking every path, type and cap: for files
    that arrive as a mapping from somewhere not trusted (a cluster node's reply).

    Raises: TransferError.
    """
    if not isinstance(files, Mapping) or len(files) > caps.max_files:
        raise TransferError(f"not a mapping of at most {caps.max_files} files")
    clean: dict[str, bytes] = {}
    total = 0
    for name, data in files.items():
        if not isinstance(name, str) or not isinstance(data, bytes):
            raise TransferError("malformed file entry: names must be text and contents bytes")
        if len(data) > caps.max_file_bytes:
            raise TransferError(f"{name} is {len(data)} bytes, more than the cap of {caps.max_file_bytes}")
        total += len(data)
        if total > caps.max_bytes:
            raise TransferError(f"the files add up to more than the cap of {caps.max_bytes} bytes")
        clean[check_relpath(name)] = data
    return clean


def pack_files(files: Mapping[str, bytes], caps: TransferCaps) -> bytes:
    """A tar of the given files, after checking every path and the caps.

    Raises: TransferError.
    """
    if len(files) > caps.max_files:
        raise TransferError(f"{len(files)} files is more than the cap of {caps.max_files}")
    total = 0
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            clean = check_relpath(name)
            if len(data) > caps.max_file_bytes:
                raise TransferError(f"{name} is {len(data)} bytes, more than the cap of {caps.max_file_bytes}")
            total += len(data)
            if total > caps.max_bytes:
                raise TransferError(f"the files add up to more than the cap of {caps.max_bytes} bytes")
            info = tarfile.TarInfo(clean)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def read_dir(src: Path, caps: TransferCaps) -> dict[str, bytes]:
    """The regular files under a host directory; links, devices and sockets are refused.

    Raises: TransferError.
    """
    if not src.is_dir() or src.is_symlink():
        raise TransferError(f"{src} is not a directory")
    files: dict[str, bytes] = {}
    total = 0
    for root, dirs, names in os.walk(src):
        for name in sorted(dirs + names):
            path = Path(root, name)
            mode = path.lstat().st_mode
            if stat.S_ISDIR(mode):
                continue
            if not stat.S_ISREG(mode):
                raise TransferError(f"{path} is a link or a special file; only regular files are copied")
            rel = path.relative_to(src).as_posix()
            total += path.lstat().st_size
            if len(files) >= caps.max_files or total > caps.max_bytes:
                raise TransferError(f"{src} breaks the caps ({caps.max_files} files, {caps.max_bytes} bytes)")
            files[rel] = path.read_bytes()
    return files


def unpack_untrusted(data: bytes, caps: TransferCaps) -> dict[str, bytes]:
    """Read an archive that came out of a sandbox into memory.

    Raises: TransferError on links, devices, absolute paths, `..`, or a broken cap.
    """
    if len(data) > caps.max_bytes + 1024 * (caps.max_files + 20):
        raise TransferError(f"the archive is larger than the cap of {caps.max_bytes} bytes")
    files: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for member in tar:
                name = check_relpath(member.name)
                if member.isdir():
                    continue
                if not member.isreg():
                    raise TransferError(f"{member.name!r} is a link or a special file; refused")
                tarfile.data_filter(member, "/nonexistent-dest")  # the stdlib's rules on top of ours
                if len(files) >= caps.max_files:
                    raise TransferError(f"more than {caps.max_files} files; refused")
                if member.size > caps.max_file_bytes:
                    raise TransferError(f"{name} is {member.size} bytes, more than the cap of {caps.max_file_bytes}")
                total += member.size
                if total > caps.max_bytes:
                    raise TransferError(f"the files add up to more than the cap of {caps.max_bytes} bytes")
                handle = tar.extractfile(member)
                files[name] = handle.read() if handle else b""
    except tarfile.FilterError as exc:
        raise TransferError(f"unsafe archive member: {exc}") from None
    except tarfile.TarError as exc:
        raise TransferError(f"malformed archive from the sandbox: {exc}") from None
    return files
