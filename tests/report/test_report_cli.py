"""`dgm report` on a small real archive (SQLite + git in tmp_path): every file written is
non-empty and well-formed, and the page is self-contained."""

from __future__ import annotations

import base64
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

from dgm.report.demo import build_demo_archive

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.images: list[str] = []
        self.cells: list[str] = []
        self._in_td = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a":
            self.hrefs.append(values["href"] or "")
        if tag == "img":
            self.images.append(values["src"] or "")
        if tag in ("script", "link", "iframe"):
            raise AssertionError(f"external or active content: <{tag}>")
        self._in_td = tag == "td"

    def handle_data(self, data: str) -> None:
        if self._in_td:
            self.cells.append(data)


def write_report(run: Path, out: Path, top: int) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "dgm.cli", "report", "--run", str(run), "--out", str(out), "--top", str(top)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_report_files_are_well_formed(tmp_path: Path) -> None:
    run = tmp_path / "run"
    archive, stats = build_demo_archive(run, 14, seed=2)
    with archive:
        best = archive.best()
    out = tmp_path / "report"
    result = write_report(run, out, 5)
    assert "index.html" in result.stdout

    for name in ("scores", "lineage", "spend"):
        png, svg = out / f"{name}.png", out / f"{name}.svg"
        assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 5000
        root = ET.parse(svg).getroot()
        assert root.tag.endswith("svg")

    page = (out / "index.html").read_text(encoding="utf-8")
    parser = Links()
    parser.feed(page)
    parser.close()
    assert len(parser.images) == 3
    for src in parser.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == PNG_MAGIC
    diff_links = [h for h in parser.hrefs if h.startswith("diffs/")]
    assert len(diff_links) == 10  # 5 agents: a page and a raw .diff each
    for href in parser.hrefs:
        assert not href.startswith(("http:", "https:", "//")), href
        if href.startswith("#"):  # an agent's section inside this same page
            assert f'id="{href[1:]}"' in page, href
            continue
        assert (out / href).is_file() and (out / href).stat().st_size > 0, href
    assert parser.cells[:2] == ["1", f"{best.id} \u2605"] and parser.cells[2].startswith(f"{best.score:.3f} ")  # the best first, with its task count

    best_page = (out / "diffs" / f"{best.id}.html").read_text(encoding="utf-8")
    Links().feed(best_page)
    assert (out / "diffs" / f"{best.id}.diff").read_text(encoding="utf-8").startswith("diff --git")
    assert stats.calls > 0


def test_diff_pages_escape_what_agents_wrote(tmp_path: Path) -> None:
    from dgm.report.data import AgentPoint
    from dgm.report.html import diff_page
    from dgm.review.flags import flag_diff

    diff = "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a = 1\n+a = '</pre><script>alert(1)</script>'\n"
    page = diff_page(AgentPoint("a2", "a1", 1, "evaluated", 0.5, "t"), diff, flag_diff(diff), "../index.html")
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_report_says_dry_run_everywhere_and_holds_each_agents_story(tmp_path: Path) -> None:
    """Issue 14: a dry run is said on every page and plot; the page shows the model and the
    config, and each top agent's diagnosis, scores, reviews and diff inside the one page."""
    run = tmp_path / "run"
    archive, _ = build_demo_archive(run, 14, seed=2)
    with archive:
        best = archive.best()
        reviewed = next(a for a in archive.agents() if archive.reviews(a.id))
    out = tmp_path / "report"
    result = write_report(run, out, 14)
    assert "dry run" in result.stdout
    page = (out / "index.html").read_text(encoding="utf-8")
    assert 'id="dry-run"' in page and "prices are made up" in page
    assert 'id="model"' in page and 'id="config"' in page and "scripted (dry run)" in page
    section = page[page.index(f'id="agent-{best.id}"'):]
    section = section[: section.index("</details>")]
    for heading in ("Diagnosis", "Scores against the parent", "Diff against the parent", "diff --git"):
        assert heading in section, heading
    if reviewed.id in page:
        reviewed_section = page[page.index(f'id="agent-{reviewed.id}"'):]
        assert "<h3>Reviews</h3>" in reviewed_section[: reviewed_section.index("</details>")]
    for agent_page in (out / "diffs").glob("*.html"):
        assert 'id="dry-run"' in agent_page.read_text(encoding="utf-8"), agent_page
    for name in ("scores", "lineage", "spend"):
        assert "Dry run" in (out / f"{name}.svg").read_text(encoding="utf-8"), name


def test_report_help_names_no_subcommands() -> None:
    result = subprocess.run([sys.executable, "-m", "dgm.cli", "report", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "COMMAND" not in result.stdout and "Commands" not in result.stdout
    assert "--top" in result.stdout


def suite_cells(page: str) -> tuple[list[str], dict[str, list[str]]]:
    """The header and the rows (by agent) of the page's suite table."""
    table = page[page.index('<table id="suite-scores">'):]
    table = table[: table.index("</table>")].replace("<small>", "").replace("</small>", "")
    head = [cell.split("</th>")[0] for cell in table.split("<th>")[1:]]
    rows = {}
    for row in table.split("<tr>")[2:]:
        cells = [cell.split("</td>")[0].split(">", 1)[-1] for cell in row.split("<td")[1:]]
        rows[cells[0]] = cells[1:]
    return head, rows


def test_the_report_breaks_the_best_lineage_down_per_suite_and_language(tmp_path: Path) -> None:
    """The seed-to-best path in a table: a column per suite of the run and per polyglot
    language, each cell a rate with its interval; a run of built-in suites has no language columns."""
    import json

    from dgm.archive import Archive

    plain, mixed = tmp_path / "plain", tmp_path / "mixed"
    for run in (plain, mixed):
        archive, _ = build_demo_archive(run, 14, seed=2)
        with archive:
            best = archive.best()
            path = [a.id for a in archive.lineage(best.id)]
    write_report(plain, tmp_path / "plain-report", 3)
    head, rows = suite_cells((tmp_path / "plain-report" / "index.html").read_text(encoding="utf-8"))
    assert head == ["agent", "score [95% CI] n", "humaneval"] and list(rows) == path  # no empty polyglot columns

    with Archive.open(mixed) as store:
        for agent_id, verdicts in ((best.id, {"polyglot/go/a": True, "polyglot/go/b": True, "polyglot/rust/a": True, "polyglot/java/x": False}),
                                   (path[-2], {"polyglot/rust/a": False, "polyglot/java/x": True})):
            evaluation = store.start_evaluation(agent_id, "polyglot", 0, len(verdicts))
            for task_id, passed in verdicts.items():
                store.add_task_result(evaluation, task_id, passed, 1.0, "ok" if passed else "failed")
            store.finish_evaluation(evaluation, sum(verdicts.values()) / len(verdicts), sum(verdicts.values()))
        humaneval = store.suite_scores([best.id])[best.id][0]
    result = subprocess.run([sys.executable, "-m", "dgm.cli", "report", "--run", str(mixed), "--out", str(tmp_path / "out"), "--json"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [row["agent"] for row in data["best_lineage"]] == path
    last = data["best_lineage"][-1]["breakdown"]
    assert [s["suite"] for s in last] == ["humaneval", "polyglot"] and (last[1]["passed"], last[1]["tasks"]) == (3, 4)
    assert {k: v["passed"] for k, v in last[1]["languages"].items()} == {"go": 2, "java": 0, "rust": 1}
    head, rows = suite_cells((tmp_path / "out" / "index.html").read_text(encoding="utf-8"))
    assert head[2:] == ["humaneval", "polyglot", "polyglot/go", "polyglot/java", "polyglot/rust"]
    assert rows[best.id][1:] == [f"{humaneval.stat.score:.3f} [{humaneval.stat.low:.2f}, {humaneval.stat.high:.2f}] "
                                 f"{humaneval.passed}/{humaneval.tasks}", "0.750 [0.30, 0.95] 3/4", "1.000 [0.34, 1.00] 2/2",
                                 "0.000 [0.00, 0.79] 0/1", "1.000 [0.21, 1.00] 1/1"]
    assert rows[path[-2]][2:] == ["0.500 [0.09, 0.91] 1/2", "-", "1.000 [0.21, 1.00] 1/1", "0.000 [0.00, 0.79] 0/1"]
    assert rows[path[0]][2:] == ["-"] * 4  # the seed never ran polyglot


def test_a_long_lineage_keeps_the_seed_and_the_agents_before_the_best() -> None:
    from dgm.archive.scores import SuiteScore
    from dgm.report.data import AgentPoint
    from dgm.report.html import LINEAGE_ROWS, suite_table

    path = [AgentPoint(f"a{i}", f"a{i - 1}" if i else None, i, "evaluated", 0.5, "t", passed=1, tasks=2) for i in range(30)]
    table = suite_table(path, {a.id: [SuiteScore("reasoning", 1, 2)] for a in path})
    head, rows = suite_cells(f"<p>{table}</p>")
    assert head == ["agent", "score [95% CI] n", "reasoning"]
    assert list(rows) == ["a0", f"&hellip; {30 - LINEAGE_ROWS} more agents", *[f"a{i}" for i in range(30 - LINEAGE_ROWS + 1, 30)]]
    assert suite_table(path, {}) == ""
