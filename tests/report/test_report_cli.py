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


def test_report_files_are_well_formed(tmp_path: Path) -> None:
    run = tmp_path / "run"
    archive, stats = build_demo_archive(run, 14, seed=2)
    with archive:
        best = archive.best()
    out = tmp_path / "report"
    result = subprocess.run(
        [sys.executable, "-m", "dgm.cli", "report", "--run", str(run), "--out", str(out), "--top", "5"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
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
