"""`dgm run` keeps its drain-then-stop: the first SIGINT, SIGTERM or SIGHUP drains, and a
second signal stops it within 5 s with every sandbox it started removed."""

import signal
import time

import pytest

from tests.loop.conftest import new_run
from tests.processes import owned_containers, start_dgm, stop_and_time, wait_for


@pytest.mark.docker
@pytest.mark.parametrize("first", [signal.SIGHUP, signal.SIGTERM], ids=["SIGHUP", "SIGTERM"])
def test_second_signal_stops_a_run_within_5_seconds(tmp_path, first):
    run_dir = new_run(tmp_path, iterations=2)
    daemon = start_dgm(["run", "--run", str(run_dir)], env={"DGM_CACHE_DIR": str(tmp_path / "cache")})
    wait_for(lambda: owned_containers(daemon.pid), 300, "a sandbox of the run", daemon)
    daemon.send_signal(first)
    time.sleep(0.5)
    assert daemon.poll() is None, "the first signal drains; it does not stop the run"
    took, out, err = stop_and_time(daemon, signal.SIGINT)
    print(f"dgm run stopped {took:.2f}s after a second signal (first: {signal.Signals(first).name})")
    assert daemon.returncode == 130, err
    assert took < 5.0
    assert "stopped at once" in out and "Traceback" not in err
    assert owned_containers(daemon.pid) == []
