# The candidate's process: runs the agent's code, answers calls from the grading parent.
# Nothing here is trusted: the candidate may rewrite this process as it likes; all it can
# reach is its own reply pipe, whose contents the parent decodes as plain data.
import os
import resource
import sys

fin = os.fdopen(os.dup(0), "rb")
fout = os.fdopen(os.dup(1), "wb")
_null = os.open(os.devnull, os.O_RDWR)
for _fd in (0, 1, 2):
    os.dup2(_null, _fd)
# No new processes or threads: nothing of the candidate outlives this process.
resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))


def send(obj):
    fout.write((_json.dumps(obj) + "\n").encode())
    fout.flush()


setup = _json.loads(fin.readline())
try:
    namespace = {"__name__": "solution", "__builtins__": __builtins__}
    exec(compile(setup["source"], setup.get("filename", "solution.py"), "exec"), namespace)
    fn = namespace[setup["entry"]]
    if not callable(fn):
        raise TypeError(setup["entry"] + " is not callable")
except BaseException as exc:
    send({"error": describe(exc)})
    os._exit(0)
send({"ready": True})
while True:
    line = fin.readline(MAX_LINE)
    if not line:
        os._exit(0)
    try:
        args = decode(_json.loads(line)["args"])
        reply = {"ret": encode(fn(*args))}
    except BaseException as exc:
        reply = {"exc": describe(exc)}
    send(reply)
