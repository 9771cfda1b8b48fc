"""`dgm run` across a restart of the Docker daemon (a private one: tests/private_docker.py):
it says so once, starts nothing meanwhile, re-queues the interrupted child without
recording a failure, and goes on; a daemon that stays away ends the run with one line."""

import signal
import time

import pytest

from dgm.archive import Archive
from tests.loop.conftest import new_run
from tests.processes import owned_containers, start_dgm, wait_for


def start_run(tmp_path, private_docker, iterations=2, extra=""):
    run_dir = new_run(tmp_path, iterations=iterations, extra=extra)
    daemon = start_dgm(["run", "--run", str(run_dir)], env={"DOCKER_HOST": private_docker.host, "DGM_CACHE_DIR": str(tmp_path / "cache")})
    wait_for(lambda: owned_containers(daemon.pid, private_docker.host), 300, "a sandbox of the run", daemon)
    time.sleep(1)
    return run_dir, daemon


@pytest.mark.docker
@pytest.mark.slow
def test_a_run_waits_for_docker_and_goes_on(tmp_path, private_docker):
    run_dir, daemon = start_run(tmp_path, private_docker)
    private_docker.stop()
    time.sleep(3)
    private_docker.start()
    try:
        out, err = daemon.communicate(timeout=900)
    except BaseException:
        daemon.send_signal(signal.SIGKILL)
        raise
    assert daemon.returncode == 0, out + err
    with Archive.open(run_dir, readonly=True) as store:
        outages = [e.message for e in store.events(limit=500) if e.kind == "outage"]
        jobs = store.jobs()
        assert store.verify().ok
    assert len(outages) == 2 and "stopped answering" in outages[0] and "answers again" in outages[1], outages
    assert [job.state for job in jobs] == ["done", "done", "done"] and all(not job.error for job in jobs), jobs  # the seed's evaluation, two children
    assert "Traceback" not in err


@pytest.mark.docker
@pytest.mark.slow
def test_a_docker_that_stays_away_ends_the_run_with_one_line(tmp_path, private_docker):
    run_dir, daemon = start_run(tmp_path, private_docker, extra="\n[sandbox]\noutage_wait_minutes = 0.1\n")
    private_docker.stop()
    try:
        out, err = daemon.communicate(timeout=300)
    finally:
        private_docker.start()
    assert "stopped: the sandbox backend did not come back within 0.1 min" in out, out + err
    assert daemon.returncode == 2, "a run its machine gave up on ends non-zero, for a supervisor to see"
    assert "Traceback" not in err
    with Archive.open(run_dir, readonly=True) as store:
        jobs = store.jobs()  # what the outage cut short stays resumable, never recorded as failed
        assert all(job.state != "failed" and not job.error for job in jobs), jobs
        assert any(job.state in ("queued", "running") for job in jobs), jobs
        assert store.verify().ok
