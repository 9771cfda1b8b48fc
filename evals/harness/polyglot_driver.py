# The polyglot grading driver: trusted code, standard library only, started by the host as
# `python-private -I -S -c SOURCE` in a fresh grading sandbox, with a JSON job on stdin.
#
# It runs the job's steps (build, then the language's own test command) one after the
# other in /work, each in its own session with stdin closed and stdout/stderr going to
# files in a private directory, never to this process's stdout. The test step writes its
# per-test report into a directory made here with a fresh random name just before it runs,
# so a file the candidate wrote earlier, at a path it chose, is never read. After each step
# every process of the sandbox user that did not exist before the first step is killed, so nothing of the candidate can rewrite the report after the runner exits.
# Then it prints ONE JSON line: each step's exit status and log tail, and the report's text.
# The host decides; this driver never judges. It runs from the execute-only interpreter,
# so it is non-dumpable: code of the same user cannot open its stdout or read its memory.
import json
import os
import resource
import secrets
import signal
import subprocess
import sys
import time

TAIL = 4000


def existing_pids():
    """Every process before any step ran: this driver, the session's runner, the container's
    init and main process. In a fresh grading sandbox none of them is the candidate's."""
    return {int(name) for name in os.listdir("/proc") if name.isdigit()}


def kill_strays(keep):
    """SIGKILL every other process this user can signal, until none is left (a fork bomb
    racing the scan is bounded by the session's pids limit)."""
    for _ in range(50):
        found = False
        for name in os.listdir("/proc"):
            if name.isdigit() and int(name) not in keep:
                try:
                    with open("/proc/%s/stat" % name, "rb") as f:
                        if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                            continue  # already dead, waiting to be reaped
                    os.kill(int(name), signal.SIGKILL)
                    found = True
                except (OSError, IndexError):
                    pass
        if not found:
            return
        time.sleep(0.02)


def no_new_processes():
    """RLIMIT_NPROC 0 in the test command's process: it can neither fork nor start threads,
    so no watcher of the candidate's can outlive the runner or race it to the report."""
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))


def tail(path):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - TAIL))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def read_capped(f, cap):
    data = f.read(cap + 1)
    return data.decode("utf-8", "replace") if len(data) <= cap else None


def run_step(step, env, private, report_path, index, keep, cap):
    """Run one step; returns (result, report text when the report went to a nameless file).

    A report given by file descriptor (`{report}` becomes /dev/fd/N) or taken from stdout is
    kept in a file with no name at all (O_TMPFILE): nothing that lists /tmp can find it."""
    nameless = step.get("stdout_is_report") or step.get("report_fd")
    hidden = os.fdopen(os.open(private, os.O_TMPFILE | os.O_RDWR, 0o600), "w+b") if nameless else None
    if step.get("report_fd"):
        report_path = "/dev/fd/%d" % hidden.fileno()
    report_dir = os.path.dirname(report_path)
    argv = [a.replace("{report}", report_path).replace("{reportdir}", report_dir) for a in step["argv"]]
    log_path = os.path.join(private, "step-%d.log" % index)
    with open(log_path, "ab") as log:
        out = hidden if step.get("stdout_is_report") else log
        started = time.monotonic()
        try:
            proc = subprocess.Popen(argv, cwd="/work", env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=log,
                                    close_fds=True, start_new_session=True,
                                    pass_fds=(hidden.fileno(),) if step.get("report_fd") else (),
                                    preexec_fn=no_new_processes if step.get("single_process") else None)
        except OSError as exc:
            return {"argv0": argv[0], "exit": None, "timed_out": False, "log": "cannot start: %s" % exc}, None
        timed_out = False
        try:
            code = proc.wait(timeout=step["timeout"])
        except subprocess.TimeoutExpired:
            timed_out, code = True, None
        kill_strays(keep)
        proc.wait()
        report = None
        if hidden is not None:
            hidden.seek(0)
            report = read_capped(hidden, cap)
            hidden.close()
    return {"argv0": argv[0], "exit": code, "timed_out": timed_out, "seconds": round(time.monotonic() - started, 3),
            "log": tail(log_path)}, report


def main():
    job = json.loads(sys.stdin.buffer.read())
    keep = existing_pids()
    private = os.path.join("/tmp", "dgm-grade-" + secrets.token_hex(16))
    os.mkdir(private, 0o300)  # write and search, no listing: its entries are found only by name
    env = dict(job["env"])
    steps = []
    report_path = os.path.join(private, "unused")
    report = None
    for index, step in enumerate(job["steps"]):
        if step.get("is_test"):
            # made now, after every build step ended and its processes were killed, inside the
            # unlistable private directory
            report_dir = os.path.join(private, "report-" + secrets.token_hex(16))
            os.mkdir(report_dir, 0o700)
            report_path = os.path.join(report_dir, job["report_name"])
        result, from_stdout = run_step(step, env, private, report_path, index, keep, job["max_report"])
        steps.append(result)
        if step.get("is_test"):
            report = from_stdout
        if result["exit"] != 0 and not step.get("is_test"):
            break
    if report is None and not any(s.get("stdout_is_report") or s.get("report_fd") for s in job["steps"]):
        try:
            with open(report_path, "rb") as f:
                report = read_capped(f, job["max_report"])
        except OSError:
            pass
    sys.stdout.write(json.dumps({"steps": steps, "report": report}) + "\n")
    sys.stdout.flush()


main()
