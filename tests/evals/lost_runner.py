"""A real Docker backend whose first sessions lose their sandbox runner (killed from the host,
by a command run in its container as its user) just before their first command."""

from __future__ import annotations

# kills every process whose command line names the runner (the pattern split so that this
# command's own line does not match it)
KILL_RUNNER = ("import os\nfor p in os.listdir('/proc'):\n    try:\n"
               "        if p.isdigit() and b'runner' + b'.py' in open(f'/proc/{p}/cmdline', 'rb').read():\n"
               "            os.kill(int(p), 9)\n    except OSError:\n        pass\n")  # fmt: skip


class RunnerKiller:
    """A session whose runner is killed just before its first command."""

    def __init__(self, session, client) -> None:
        self._session, self._client, self._armed = session, client, True

    def _kill_runner(self) -> None:
        if self._armed:
            self._armed = False
            (container,) = self._client.containers.list(filters={"label": f"dgm.session={self._session.id}"})
            container.exec_run(["python3", "-c", KILL_RUNNER])

    def exec(self, *args, **kwargs):
        self._kill_runner()
        return self._session.exec(*args, **kwargs)

    def run_batch(self, *args, **kwargs):
        self._kill_runner()
        return self._session.run_batch(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._session, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._session.close()


class LosingBackend:
    """The real Docker backend, whose first `losses` sessions lose their runner."""

    def __init__(self, backend, losses: int) -> None:
        self._backend, self.losses, self.started = backend, losses, 0

    def start(self, *args, **kwargs):
        session = self._backend.start(*args, **kwargs)
        self.started += 1
        if self.started <= self.losses:
            return RunnerKiller(session, self._backend.client)
        return session

    def __getattr__(self, name):
        return getattr(self._backend, name)
