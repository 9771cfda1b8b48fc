# The verifier's process: scores one untrusted answer with the reasoning-gym family's own
# score_answer. Some verifiers evaluate the answer, so this process is not trusted either.
import os
import resource
import sys

fin = os.fdopen(os.dup(0), "rb")
fout = os.fdopen(os.dup(1), "wb")
_null = os.open(os.devnull, os.O_RDWR)
for _fd in (0, 1, 2):
    os.dup2(_null, _fd)
setup = _json.loads(fin.readline())
sys.path.extend(setup["site"])  # no .pth processing: nothing outside the read-only mount
import importlib
import types
import warnings

warnings.simplefilter("ignore")
# Import only the family's module (the package's __init__ imports all ~100 families and
# takes seconds): stub the parent packages so their __init__ files do not run.
parts = setup["module"].split(".")
for i in range(1, len(parts)):
    stub = types.ModuleType(".".join(parts[:i]))
    stub.__path__ = [os.path.join(p, *parts[:i]) for p in setup["site"]]
    sys.modules[stub.__name__] = stub
module = importlib.import_module(setup["module"])  # before any untrusted text is touched

resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))


def send(obj):
    fout.write((_json.dumps(obj) + "\n").encode())
    fout.flush()


try:
    config = getattr(module, setup["config_class"])(**setup["config"])
    if hasattr(config, "validate"):
        config.validate()
    dataset = getattr(module, setup["dataset_class"])(config=config)
    score = dataset.score_answer(setup["answer"], setup["entry"])
    send({"ret": encode(float(score))})
except BaseException as exc:
    send({"exc": describe(exc)})
os._exit(0)
