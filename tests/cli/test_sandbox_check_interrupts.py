"""`dgm sandbox check` stops within 5 s of SIGINT, SIGTERM or SIGHUP, with its sandbox removed."""

import signal

import pytest

from tests.processes import owned_containers, start_dgm, stop_and_time, wait_for


@pytest.mark.docker
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_sandbox_check_stops_and_leaves_nothing(signum):
    proc = start_dgm(["sandbox", "check", "--backend", "docker"])
    wait_for(lambda: owned_containers(proc.pid), 60, "the self-check's sandbox", proc)
    took, out, err = stop_and_time(proc, signum)
    print(f"dgm sandbox check stopped {took:.2f}s after {signal.Signals(signum).name}")
    assert proc.returncode == 128 + signum, err
    assert took < 5.0
    assert owned_containers(proc.pid) == []
    assert err.count("dgm: stopped by") == 1 and "Traceback" not in err, err


@pytest.mark.docker
def test_sandbox_check_second_signal_stops_at_once():
    proc = start_dgm(["sandbox", "check", "--backend", "docker"])
    wait_for(lambda: owned_containers(proc.pid), 60, "the self-check's sandbox", proc)
    proc.send_signal(signal.SIGINT)
    took, out, err = stop_and_time(proc, signal.SIGINT)
    assert proc.returncode == 130 and took < 5.0, err
    assert owned_containers(proc.pid) == []

