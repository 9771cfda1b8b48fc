# The verifier's process: scores one untrusted answer with the reasoning-gym family's own
# score_answer. Some verifiers evaluate the answer, so this process is not trusted either.
import os
import resource
import site
import sys

fin = os.fdopen(os.dup(0), "rb")
fout = os.fdopen(os.dup(1), "wb")
_null = os.open(os.devnull, os.O_RDWR)
for _fd in (0, 1, 2):
    os.dup2(_null, _fd)
setup = _json.loads(fin.readline())
for path in setup["site"]:
    site.addsitedir(path)
import warnings

warnings.simplefilter("ignore")
import reasoning_gym  # noqa: E402  (before any untrusted text is touched)

resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))


def send(obj):
    fout.write((_json.dumps(obj) + "\n").encode())
    fout.flush()


try:
    dataset = reasoning_gym.create_dataset(setup["family"], **setup["config"])
    score = dataset.score_answer(setup["answer"], setup["entry"])
    send({"ret": encode(float(score))})
except BaseException as exc:
    send({"exc": describe(exc)})
os._exit(0)
