"""Review views rendered to text (STYLE.md 11)."""

from __future__ import annotations

import io

from rich.console import Console

from dgm.archive.records import AgentRecord, ReviewRecord, Spend
from dgm.review.flags import flag_diff
from dgm.review.queue import ReviewPacket, ScoreRow, compare_scores
from dgm.review.views import packet_summary, pending_table, recap

DIFF = "diff --git a/conftest.py b/conftest.py\nnew file mode 100644\n--- /dev/null\n+++ b/conftest.py\n@@ -0,0 +1,2 @@\n+import os\n+os._exit(0)\n"


def render(renderable) -> str:
    out = io.StringIO()
    Console(file=out, width=110, color_system=None).print(renderable)
    return out.getvalue()


def packet() -> ReviewPacket:
    agent = AgentRecord("a7", 7, "a3", "c" * 40, "t", "2026-01-01T00:00:00+00:00", 4, "evaluated", None, 0.6, "self-modify",
                        {"diagnosis": {"failures": "timeouts", "proposal": "cap output"}, "problem_statement": "Cap tool output."})
    return ReviewPacket(agent, None, DIFF, flag_diff(DIFF), [ScoreRow("humaneval", 1, 0.6, 0.4, 10, 6, 10, 4)],
                        Spend(0.25, 1000, 200, 3), [ReviewRecord(1, "a7", "note", "look again", "2026-01-02T00:00:00+00:00")])


def test_summary_shows_flags_first_then_context_scores_cost_and_notes() -> None:
    text = render(packet_summary(packet(), "1 of 3 waiting"))
    order = ["Agent a7", "protected-path", "conftest.py:1-2", "exit-before-assert", "failures: timeouts", "Cap tool output.",
             "humaneval", "+0.200", "Cost: $0.2500 in 3 LLM call(s)", "look again"]
    positions = [text.index(needle) for needle in order]
    assert positions == sorted(positions)


def test_recap_and_queue() -> None:
    assert "2 flag(s): exit-before-assert (high), protected-path (high); score change +0.200" in render(recap(packet()))
    assert "Nothing waits for review" in render(pending_table([], {}))
    table = render(pending_table([packet().agent], {"a7": 2}))
    assert "a7" in table and "a3" in table and "2" in table


def test_compare_scores_pairs_stages_and_keeps_the_latest_evaluation() -> None:
    from dgm.archive.records import EvaluationRecord

    def ev(i: int, agent: str, stage: int, score: float) -> EvaluationRecord:
        return EvaluationRecord(i, agent, "humaneval", stage, score, 10, int(score * 10), "t", "t", None, "h", None)

    rows = compare_scores([ev(1, "c", 1, 0.5), ev(3, "c", 1, 0.7), ev(4, "c", 2, 0.6)], [ev(2, "p", 1, 0.4)])
    assert [(r.stage, r.child, r.parent) for r in rows] == [(1, 0.7, 0.4), (2, 0.6, None)]


def test_the_packet_shows_the_diagnosis_the_loop_stores():
    from types import SimpleNamespace

    from dgm.loop.diagnose import Diagnosis
    from dgm.review.queue import ReviewPacket

    meta = Diagnosis("tool output floods", "cap tool output", "truncate in tools.py", "Cap it.").as_meta()
    packet = ReviewPacket(SimpleNamespace(meta=meta), None, "", [], [], None)
    assert "tool output floods" in packet.diagnosis and "cap tool output" in packet.diagnosis
    assert "truncate in tools.py" in packet.diagnosis and packet.problem_statement == "Cap it."


def test_the_review_header_shows_the_score_with_its_interval() -> None:
    from dgm.archive.stats import score_stat

    reviewed = packet()
    reviewed.stat = score_stat(0.6, 6, 10)
    assert "score 0.600 [0.31, 0.83] n=10" in render(packet_summary(reviewed))
    assert "0.600 [0.31, 0.83] n=10" in render(pending_table([reviewed.agent], {"a7": 0}, stats={"a7": reviewed.stat}))
