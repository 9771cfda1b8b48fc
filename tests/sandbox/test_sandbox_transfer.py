"""Archives coming out of a sandbox are hostile: crafted ones must be refused on the host."""

from __future__ import annotations

import io
import tarfile

import pytest

from dgm.sandbox import TransferCaps, TransferError
from dgm.sandbox.transfer import check_relpath, pack_files, unpack_untrusted


def crafted(*members: tuple[str, bytes, bytes]) -> bytes:
    """A tar of (name, type, data) members, built by hand as a hostile runner could."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:") as tar:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                info.linkname = "/etc/passwd"
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return buf.getvalue()


@pytest.mark.parametrize(
    "member",
    [
        ("/etc/cron.d/evil", tarfile.REGTYPE, b"x"),
        ("../../escape", tarfile.REGTYPE, b"x"),
        ("ok/../../escape", tarfile.REGTYPE, b"x"),
        ("link", tarfile.SYMTYPE, b""),
        ("hard", tarfile.LNKTYPE, b""),
        ("dev", tarfile.CHRTYPE, b""),
        ("blk", tarfile.BLKTYPE, b""),
        ("fifo", tarfile.FIFOTYPE, b""),
    ],
    ids=["absolute", "dotdot", "nested-dotdot", "symlink", "hardlink", "char-device", "block-device", "fifo"],
)
def test_crafted_members_are_refused(member):
    with pytest.raises(TransferError):
        unpack_untrusted(crafted(("fine.txt", tarfile.REGTYPE, b"ok"), member), TransferCaps())


def test_caps_on_size_count_and_garbage():
    caps = TransferCaps(max_bytes=100, max_files=3, max_file_bytes=60)
    with pytest.raises(TransferError):
        unpack_untrusted(crafted(("big", tarfile.REGTYPE, b"x" * 61)), caps)
    with pytest.raises(TransferError):
        unpack_untrusted(crafted(*[(f"f{i}", tarfile.REGTYPE, b"x" * 40) for i in range(3)]), caps)
    with pytest.raises(TransferError):
        unpack_untrusted(crafted(*[(f"f{i}", tarfile.REGTYPE, b"") for i in range(4)]), caps)
    with pytest.raises(TransferError):
        unpack_untrusted(b"\x00garbage" * 200, caps)
    with pytest.raises(TransferError):
        unpack_untrusted(b"\x00" * 10_000_000, caps)  # larger than any tar within the caps


def test_a_clean_archive_reads_back_in_memory():
    data = crafted(("a/b.txt", tarfile.REGTYPE, b"hello"), ("./c", tarfile.REGTYPE, b""))
    assert unpack_untrusted(data, TransferCaps()) == {"a/b.txt": b"hello", "c": b""}
    assert unpack_untrusted(pack_files({"x/y": b"1"}, TransferCaps()), TransferCaps()) == {"x/y": b"1"}


def test_paths_going_in_are_checked():
    assert check_relpath("./a//b") == "a/b"
    for bad in ("", "/abs", "../x", "a/../../x", "a\\b", "a\x00b"):
        with pytest.raises(TransferError):
            check_relpath(bad)
    with pytest.raises(TransferError):
        pack_files({f"f{i}": b"" for i in range(11)}, TransferCaps(max_files=10))
