"""The head's guard against gRPC's own thread printing a traceback when a Ray Client's link breaks."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import threading
from dgm.cluster.link import quiet_closed_channels

quiet_closed_channels()
quiet_closed_channels()  # a second connect must not stack hooks

def raising(message, filename):
    code = compile(f"raise ValueError({message!r})", filename, "exec")
    thread = threading.Thread(target=exec, args=(code, {}))
    thread.start()
    thread.join()

raising("Cannot invoke RPC: Channel closed!", "/venv/site-packages/grpc/_channel.py")
raising("Cannot invoke RPC: Channel closed!", "/somewhere/else.py")
raising("some other gRPC failure", "/venv/site-packages/grpc/_channel.py")
"""


def test_only_grpcs_closed_channel_race_is_kept_quiet():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("Traceback") == 2, done.stderr
    assert "/venv/site-packages/grpc/_channel.py" in done.stderr and "some other gRPC failure" in done.stderr
    assert "/somewhere/else.py" in done.stderr, "the same message from elsewhere is still printed"
    assert done.stderr.count("Channel closed") == 1, "the race in gRPC's own thread is not printed"
