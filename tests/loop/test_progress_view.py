import dataclasses
import io

from rich.console import Console

from dgm.loop.progress import Snapshot, render_snapshot


def test_status_shows_the_best_score_with_its_interval_and_task_count():
    snap = Snapshot("r", False, 3, 2, 1, 2, "a2", 0.6, 0.0, 0, 0.0, 0, best_tasks=50, best_ci95=(0.4618, 0.7239))
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(render_snapshot(snap))
    assert "a2  0.600 [0.46, 0.72] n=50" in console.file.getvalue()
    data = dataclasses.asdict(snap)
    assert data["best_tasks"] == 50 and data["best_ci95"] == (0.4618, 0.7239)
