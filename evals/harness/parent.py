# The grading parent: trusted code, standard library only, started as `python3 -I -S -c`.
#
# It never runs candidate code itself. It spawns one child that does (he_child / rg_child),
# drives it over pipes, and decides the verdict. Its last line is signed with a key agreed
# with the host by Diffie-Hellman: the host's public half arrives on stdin, the private half
# lives only in this process, which is made non-dumpable first, so no other process of the
# sandbox (same user) can read its memory or its file descriptors. A candidate that exits
# early, floods output, forges lines or kills the parent yields no valid signature: no credit.
#
# Start-up cost matters (164 items per suite): only cheap modules are imported (_signal,
# _sha256, posix_spawn instead of signal, hashlib/hmac, subprocess, tempfile).
import _ctypes
import _signal
import os
import select
import sys
from _sha256 import sha256

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


def hmac_sha256(key, msg):
    key = key.ljust(64, b"\0")
    inner = sha256(bytes(k ^ 0x36 for k in key) + msg).digest()
    return sha256(bytes(k ^ 0x5C for k in key) + inner).hexdigest()


class Child:
    def __init__(self, source):
        r_in, self.w = os.pipe()  # non-inheritable: only the dup2'd ends reach the child
        self.r, w_out = os.pipe()
        self.pid = os.posix_spawn(
            sys.executable, [sys.executable, "-I", "-S", "-c", source], {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            file_actions=[(os.POSIX_SPAWN_DUP2, r_in, 0), (os.POSIX_SPAWN_DUP2, w_out, 1),
                          (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)],
            setsid=True)
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
            os.killpg(self.pid, _signal.SIGKILL)
        except OSError:
            pass
        os.waitpid(self.pid, 0)


TIMED_OUT = []


def on_alarm(signum, frame):
    TIMED_OUT.append(True)
    raise Lost("timeout")


ANNOTATIONS = 0x1000000  # `from __future__ import annotations`: the parent never evaluates them


class _Anything:
    def __getattr__(self, name):
        return self

    def __getitem__(self, item):
        return self

    def __call__(self, *args, **kwargs):
        return self


def stub_typing():
    """Prompts import typing only for annotations, which this process never evaluates; the
    real module costs more start-up than the rest of the parent (the child imports the real
    one: the candidate's code runs exactly as written)."""
    if "typing" not in sys.modules:
        module = type(sys)("typing")
        module.__getattr__ = lambda name: _Anything()
        sys.modules["typing"] = module


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
    stub_typing()
    exec(compile(job["prompt"], "prompt.py", "exec", ANNOTATIONS), namespace)
    namespace[job["entry"]] = candidate  # some tests call the function by its own name
    for i, test in enumerate(job["tests"]):
        exec(compile(test, "hidden_test_%d.py" % i, "exec", ANNOTATIONS), namespace)
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


class _CInt(_ctypes._SimpleCData):
    _type_ = "i"


class _CFunction(_ctypes.CFuncPtr):  # what ctypes.CDLL builds, without importing ctypes
    _flags_ = _ctypes.FUNCFLAG_CDECL
    _restype_ = _CInt


class _Libc:
    _handle = _ctypes.dlopen(None)


def make_nondumpable():
    """PR_SET_DUMPABLE 0: /proc/<pid>/mem, fd and ptrace become root-only, so processes of
    the same user (the candidate's) cannot read this process's secret or steal its pipes."""
    prctl = _CFunction(("prctl", _Libc()))
    if prctl(4, 0, 0, 0, 0) != 0 or prctl(3, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE, PR_GET_DUMPABLE
        sys.exit(3)


def main():
    make_nondumpable()
    job = _json.loads(sys.stdin.buffer.read())
    # a short exponent (256 bits) gives 128-bit security at an eighth of the cost
    secret = int.from_bytes(os.urandom(32), "big") | (1 << 255)
    sys.stdout.write("KEY %x\n" % pow(2, secret, P))
    sys.stdout.flush()
    shared = pow(int(job["peer"], 16), secret, P)
    key = sha256(b"%x" % shared).digest()
    del secret, shared
    passed, reason, detail = False, "failed", ""
    child = None
    _signal.signal(_signal.SIGALRM, on_alarm)
    # The child works in this item's own directory (the runner's, removed after the item).
    _signal.setitimer(_signal.ITIMER_REAL, job["timeout"])
    try:
        child = Child(job["child"])
        passed, reason, detail = MODES[job["mode"]](job, child)
        if TIMED_OUT:
            passed, reason, detail = False, "timeout", "timeout"
        elif child.lost:
            passed, reason, detail = False, "failed", child.lost
    except Lost as exc:
        passed, reason, detail = False, "timeout" if str(exc) == "timeout" else "failed", str(exc)
    except BaseException as exc:  # the test's own assertion, the candidate's error, OSError
        passed, reason, detail = False, "failed", describe(exc)
    finally:
        _signal.setitimer(_signal.ITIMER_REAL, 0)
        if child is not None:
            child.kill()
    body = _json.dumps({"item": job["item"], "passed": passed, "reason": reason, "detail": detail[:2000]})
    sys.stdout.write("VERDICT %s %s\n" % (hmac_sha256(key, body.encode()), body))
    sys.stdout.flush()


main()
