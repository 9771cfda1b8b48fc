"""A grading whose sandbox was lost mid-way is graded once more, in a fresh sandbox.

A lost grading sandbox (its runner stopped answering while the engine still runs, so it is
no `MachineFault`) says nothing certain about the candidate: the engine may have dropped
the session's stream, or code under test (the runner's own user) may have killed it. So
one more try; a second loss is the grader's error as before, which a candidate that kills
its runner on purpose therefore always earns, at the cost of one more grading.
"""

from __future__ import annotations

import logging
from typing import Callable, TypeVar

from dgm.sandbox import ExecResult, SandboxError, SessionClosedError

T = TypeVar("T")
log = logging.getLogger(__name__)


class GradingSandboxLost(SandboxError):
    """The grading sandbox's runner stopped answering during a command."""


def check_not_lost(*results: ExecResult) -> None:
    """Raises: GradingSandboxLost when any of `results` came from a lost session."""
    for result in results:
        if result.session_lost:
            raise GradingSandboxLost(result.stderr.decode("utf-8", "replace").strip()[-300:])


def once_more_if_lost(what: str, grade: Callable[[], T]) -> T:
    """`grade()`, called once more when its sandbox was lost (GradingSandboxLost, or the
    session found closed under a file transfer); the second loss propagates.

    Raises: GradingSandboxLost or SessionClosedError on the second loss; whatever `grade` raises."""
    try:
        return grade()
    except (GradingSandboxLost, SessionClosedError) as first:
        log.warning("grading %s: its sandbox was lost (%s); grading it again in a fresh one", what, first)
    return grade()
