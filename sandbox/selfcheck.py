"""A short isolation self-check of a backend, for `dgm sandbox check`: each check is
observed from inside a real session and judged on the host."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from dataclasses import dataclass

from dgm.sandbox.base import Backend, Limits

PROBE = r"""
import json, os, socket
obs = {}
obs["uid"] = os.getuid()
status = dict(l.split(":\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\t" in l)
obs["caps"] = {k: status[k].strip() for k in ("CapEff", "CapPrm", "CapBnd", "CapAmb")}
obs["no_new_privs"] = status.get("NoNewPrivs", "").strip()
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2).close()
    obs["net"] = "connected"
except OSError as exc:
    obs["net"] = str(exc)
obs["ifaces"] = [l.split(":")[0].strip() for l in open("/proc/net/dev").read().splitlines()[2:]]
writable = []
for d in ("/", "/etc", "/usr", "/opt/dgm"):
    try:
        open(os.path.join(d, ".probe"), "w").close()
        writable.append(d)
    except OSError:
        pass
obs["writable_system"] = writable
try:
    open("/work/.probe", "w").close()
    obs["work_writable"] = True
except OSError:
    obs["work_writable"] = False
texts = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            texts.append(open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace"))
            texts.append(open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace"))
        except OSError:
            pass
obs["environ"] = "\n".join(texts)
obs["host_file"] = os.path.exists(os.environ["HOST_FILE"])
import resource
obs["limits"] = {n: resource.getrlimit(getattr(resource, "RLIMIT_" + n))[0] for n in ("NPROC", "NOFILE", "FSIZE", "CORE")}
st = os.statvfs("/work")
obs["work_bytes"] = st.f_blocks * st.f_frsize
print(json.dumps(obs))
"""


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str


def run_self_check(backend: Backend, limits: Limits | None = None) -> list[CheckResult]:
    """Run the probe in a fresh session with a secret canary in this process's environment
    and a marker file on the host; neither may be visible inside."""
    limits = limits or Limits(wall_seconds=60, exec_timeout=20, pids=64, memory_mb=512, work_mb=64)
    canary_key = f"DGM_CANARY_{secrets.token_hex(4).upper()}"
    canary = secrets.token_hex(16)
    os.environ[canary_key] = canary
    try:
        with tempfile.NamedTemporaryFile(prefix="dgm-host-marker-") as marker, backend.start(limits) as session:
            result = session.exec(["python3", "-c", PROBE], env={"HOST_FILE": marker.name})
            slept = session.exec(["sleep", "30"], timeout=1)
            after = session.exec(["sh", "-c", "ps -eo comm 2>/dev/null || ls /proc"], timeout=5)
    finally:
        del os.environ[canary_key]
    if not result.ok:
        return [CheckResult("probe", False, f"the probe failed: {result.stderr.decode(errors='replace')[-300:]}")]
    obs = json.loads(result.stdout)
    caps = obs["caps"]
    limit_values = obs["limits"]
    return [
        CheckResult("non-root", obs["uid"] != 0, f"uid {obs['uid']}"),
        CheckResult("capabilities dropped", all(int(v, 16) == 0 for v in caps.values()), ", ".join(f"{k}={v}" for k, v in caps.items())),
        CheckResult("no new privileges", obs["no_new_privs"] == "1", f"NoNewPrivs={obs['no_new_privs']}"),
        CheckResult("network off", obs["net"] != "connected" and set(obs["ifaces"]) <= {"lo"}, f"connect: {obs['net']}; interfaces: {obs['ifaces']}"),
        CheckResult("read-only root", not obs["writable_system"], f"writable: {obs['writable_system'] or 'none'}"),
        CheckResult("host secret not visible", canary not in obs["environ"] and canary_key not in obs["environ"], "canary absent from every /proc/*/environ and cmdline"),
        CheckResult("host files not visible", not obs["host_file"], "a marker file in the host's temp dir is absent"),
        CheckResult(
            "limits present",
            0 < limit_values["NOFILE"] <= limits.nofile and limit_values["CORE"] == 0 and 0 < limit_values["FSIZE"] <= limits.fsize_mb << 20,
            ", ".join(f"{k}={v}" for k, v in limit_values.items()),
        ),
        CheckResult("workspace writable", obs["work_writable"], "/work accepts files"),
        CheckResult("writable space bounded", obs["work_bytes"] <= (limits.work_mb + 1) << 20, f"/work holds {obs['work_bytes'] >> 20} MiB"),
        CheckResult("deadline enforced", slept.timed_out and "sleep" not in after.stdout.decode(), f"sleep 30 with a 1 s timeout: timed out={slept.timed_out}"),
    ]
