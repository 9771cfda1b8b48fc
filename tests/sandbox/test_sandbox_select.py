"""Choosing a backend fails closed, with a message that says what to install."""

from __future__ import annotations

import pytest

from dgm.sandbox import NoBackendError, SandboxError, describe_backends, open_backend
from dgm.sandbox.layout import LABEL


def test_no_backend_names_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-daemon.sock")
    monkeypatch.setenv("DGM_CACHE_DIR", str(tmp_path / "empty-cache"))
    with pytest.raises(NoBackendError) as err:
        open_backend("auto")
    message = str(err.value)
    assert "refusing to run agent code" in message
    assert "no Docker daemon answers" in message and "dgm sandbox build --backend bwrap" in message
    assert "apt-get install docker.io" in message and "apt-get install bubblewrap" in message
    assert "\n" not in message
    assert [s.usable for s in describe_backends()] == [False, False]


def test_unknown_backend_and_missing_image_are_refused():
    with pytest.raises(NoBackendError, match="unknown sandbox backend"):
        open_backend("host")


@pytest.mark.docker
def test_missing_image_says_how_to_build():
    with pytest.raises(NoBackendError, match="dgm sandbox build"):
        open_backend("docker", image="dgm-sandbox-missing:never")


def test_daemon_gone_is_one_line(monkeypatch, tmp_path):
    from dgm.sandbox.docker_backend import connect

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/gone.sock")
    with pytest.raises(SandboxError) as err:
        connect()
    assert "no Docker daemon answers" in str(err.value) and "\n" not in str(err.value)


def test_cli_check_passes_on_this_machine(capsys):
    from dgm.cli import main

    assert main(["sandbox", "check"]) == 0
    out = capsys.readouterr().out
    assert "in effect:" in out and "0 failed" in out and "FAIL" not in out


@pytest.mark.docker
def test_sweep_removes_dead_owners_leftovers_only():
    from dgm.sandbox.docker_backend import DockerBackend, connect

    backend = DockerBackend("dgm-sandbox:latest")
    client = connect()
    labels = {LABEL: "1", "dgm.run": "sweep-test", "dgm.owner": "nohost:1:gone", "dgm.session": "dead"}
    leftover = client.containers.create("dgm-sandbox:latest", ["sleep", "infinity"], labels=labels, network_mode="none")
    with backend.start(labels={"run": "sweep-test"}) as live:
        assert backend.sweep("sweep-test") == 0  # another host's owner: assumed alive
        leftover.remove(force=True)
        labels["dgm.owner"] = "x"  # malformed or dead owner on this host
        client.containers.create("dgm-sandbox:latest", ["sleep", "infinity"], labels=labels, network_mode="none")
        assert backend.sweep("sweep-test") == 1
        assert live.exec(["true"]).ok  # the live session was left alone
    assert client.containers.list(all=True, filters={"label": "dgm.run=sweep-test"}) == []


@pytest.mark.docker
def test_docker_containers_carry_the_hardening():
    from dgm.sandbox.docker_backend import DockerBackend

    backend = DockerBackend("dgm-sandbox:latest")
    with backend.start(labels={"run": "r1"}) as session:
        attrs = session._container.attrs
        host = attrs["HostConfig"]
        assert host["NetworkMode"] == "none" and host["ReadonlyRootfs"] and host["Init"]
        assert host["CapDrop"] == ["ALL"] and host["SecurityOpt"] == ["no-new-privileges:true"]
        assert host["IpcMode"] == "private" and host["Memory"] == host["MemorySwap"] > 0
        assert host["PidsLimit"] > 0 and host["NanoCpus"] > 0 and not host["Privileged"]
        assert {u["Name"] for u in host["Ulimits"]} == {"nofile", "fsize", "core"}
        assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-file": "1", "max-size": "1m"}}
        assert attrs["Config"]["User"] == "10001:10001"
        assert attrs["Config"]["Labels"]["dgm.run"] == "r1" and attrs["Config"]["Labels"][LABEL] == "1"
        assert all("docker.sock" not in m["Source"] for m in attrs["Mounts"])
