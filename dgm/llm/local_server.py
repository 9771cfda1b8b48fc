"""The llama.cpp server process behind the `local` model (run by `dgm.llm.local`, not by hand).

    python -m dgm.llm.local_server WEIGHTS --threads 1 --ctx 8192

It loads the weights with xllamacpp's embedded server on 127.0.0.1 (a free port), requiring
the bearer key given in $DGM_LOCAL_SERVER_KEY when set, prints one JSON line {"url": ...} when it answers, and serves until its stdin closes
or it gets a signal. It runs in its own process so that dgm can stop it, or a test can kill
it, without touching the run, and so that llama.cpp's threads never share dgm's.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys


KEY_ENV = "DGM_LOCAL_SERVER_KEY"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("weights")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ctx", type=int, default=8192)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = args.weights
    params.n_ctx = args.ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.hostnames = ["127.0.0.1"]
    params.port = args.port or free_port()
    params.sampling.seed = 1234
    key = os.environ.pop(KEY_ENV, "")
    if key:  # other local users must not borrow the run's model; /health stays open
        params.api_keys = [key]
    server = xlc.Server(params)
    print(json.dumps({"url": str(server.listening_address).rstrip("/")}), flush=True)
    try:
        sys.stdin.read()  # the parent closes our stdin (or dies) to stop us
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
