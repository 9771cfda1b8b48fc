# The grading parent: trusted code, standard library only, started as `python3 -I -S -c`.
#
# It never runs candidate code itself. It spawns one child that does (he_child / rg_child),
# drives it over pipes, and decides the verdict. Its last line is signed with a key agreed
# with the host by Diffie-Hellman: the host's public half arrives on stdin, the private half
# lives only in this process, which is made non-dumpable first, so no other process of the
# sandbox (same user) can read its memory or its file descriptors. A candidate that exits
# early, floods output, forges lines or kills the parent yields no valid signature: no credit.
import ctypes
import hashlib
import hmac
import os
import secrets
import select
import signal
import subprocess
import sys
import tempfile

P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AACAA68FFFFFFFFFFFFFFFF", 16)  # RFC 3526 group 14


class Lost(BaseException):
    """The child died, broke the protocol or ran out of time (BaseException: a test's bare
    `except Exception` cannot swallow it)."""


class CandidateError(Exception):
    """The candidate raised; the test sees an exception, as it would in-process."""


class Child:
    def __init__(self, source, cwd):
        r_in, self.w = os.pipe()
        self.r, w_out = os.pipe()
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", source], stdin=r_in, stdout=w_out,
            stderr=subprocess.DEVNULL, cwd=cwd, start_new_session=True, close_fds=True)
        os.close(r_in)
        os.close(w_out)
        self.buf = b""
        self.lost = None

    def send(self, obj):
        data = (_json.dumps(obj) + "\n").encode()
        try:
            while data:
                select.select([], [self.w], [])
                data = data[os.write(self.w, data[:65536]):]
        except OSError as exc:
            self.fail("child stopped reading: " + describe(exc))

    def recv(self):
        while b"\n" not in self.buf:
            chunk = os.read(self.r, 65536)
            if not chunk:
                self.fail("child exited before answering")
            self.buf += chunk
            if len(self.buf) > MAX_LINE:
                self.fail("child reply too large")
        line, self.buf = self.buf.split(b"\n", 1)
        try:
            return _json.loads(line)
        except ValueError:
            self.fail("child reply malformed")

    def fail(self, why):
        self.lost = self.lost or why
        raise Lost(why)

    def call(self, msg):
        if self.lost:
            raise Lost(self.lost)
        self.send(msg)
        reply = self.recv()
        if type(reply) is not dict:
            self.fail("child reply malformed")
        return reply

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait()


TIMED_OUT = []


def on_alarm(signum, frame):
    TIMED_OUT.append(True)
    raise Lost("timeout")


def grade_humaneval(job, child):
    ready = child.call({"source": job["solution"], "entry": job["entry"], "filename": job.get("filename", "solution.py")})
    if not ready.get("ready"):
        return False, "failed", "candidate did not load: " + str(ready.get("error"))[:500]

    def candidate(*args):
        try:
            payload = encode(list(args))
        except WireError as exc:
            raise CandidateError(str(exc))
        reply = child.call({"args": payload})
        if "ret" in reply:
            try:
                return decode(reply["ret"])
            except (WireError, ValueError, TypeError, RecursionError) as exc:
                child.fail("bad return value: " + describe(exc))
        raise CandidateError(str(reply.get("exc"))[:500])

    namespace = {"__name__": "__grader__"}
    exec(compile(job["prompt"], "prompt.py", "exec"), namespace)
    namespace[job["entry"]] = candidate  # some tests call the function by its own name
    for i, test in enumerate(job["tests"]):
        exec(compile(test, "hidden_test_%d.py" % i, "exec"), namespace)
        namespace["check"](candidate)
    return True, "ok", ""


def grade_reasoning(job, child):
    reply = child.call({k: job[k] for k in ("site", "module", "dataset_class", "config_class", "config", "answer", "entry")})
    if "ret" not in reply:
        return False, "failed", "verifier raised: " + str(reply.get("exc"))[:500]
    score = decode(reply["ret"])
    if type(score) is not float:
        child.fail("verifier returned a non-number")
    return score >= job["threshold"], "ok" if score >= job["threshold"] else "failed", "score %r" % score


MODES = {"humaneval": grade_humaneval, "reasoning": grade_reasoning}


def main():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(4, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE = 0
        sys.exit(3)
    job = _json.loads(sys.stdin.buffer.read())
    secret = secrets.randbits(256) | (1 << 255)  # short exponent: 128-bit security, 8x faster
    sys.stdout.write("KEY %x\n" % pow(2, secret, P))
    sys.stdout.flush()
    shared = pow(int(job["peer"], 16), secret, P)
    key = hashlib.sha256(b"%x" % shared).digest()
    del secret, shared
    passed, reason, detail = False, "failed", ""
    child = None
    signal.signal(signal.SIGALRM, on_alarm)
    try:
        with tempfile.TemporaryDirectory(dir=job.get("tmp")) as cwd:
            signal.setitimer(signal.ITIMER_REAL, job["timeout"])
            try:
                child = Child(job["child"], cwd)
                passed, reason, detail = MODES[job["mode"]](job, child)
                if TIMED_OUT:
                    passed, reason, detail = False, "timeout", "timeout"
                elif child.lost:
                    passed, reason, detail = False, "failed", child.lost
            except Lost as exc:
                passed, reason, detail = False, "timeout" if str(exc) == "timeout" else "failed", str(exc)
            except BaseException as exc:  # the test's own assertion or the candidate's error
                passed, reason, detail = False, "failed", describe(exc)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                if child is not None:
                    child.kill()
    except OSError as exc:
        passed, reason, detail = False, "error", describe(exc)
    body = _json.dumps({"item": job["item"], "passed": passed, "reason": reason, "detail": detail[:2000]}, sort_keys=True)
    sys.stdout.write("VERDICT %s %s\n" % (hmac.new(key, body.encode(), "sha256").hexdigest(), body))
    sys.stdout.flush()


main()
