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
