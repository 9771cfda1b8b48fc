"""`dgm compare`: a table, three plots (PNG + SVG) and one page; seeds of a setup grouped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from dgm.report.compare import RunSummary, Step, group_curve, group_labels
from dgm.report.demo import build_demo_archive
from dgm.archive.stats import score_stat

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def summary(name, group, steps):
    return RunSummary(name, group, "a1", score_stat(0.5, 5, 10), 3, 2, 30, 100, 0.1, 60.0,
                      [Step(i, t, u, b, b - 0.1, b + 0.1) for i, t, u, b in steps])


def test_seeds_of_one_setup_are_one_line_with_a_band_over_seeds():
    a = summary("dgm-1", "G", [(0, 10, 0.0, 0.2), (1, 20, 0.1, 0.4), (2, 30, 0.2, 0.6)])
    b = summary("dgm-2", "G", [(0, 10, 0.0, 0.3), (1, 20, 0.1, 0.3), (2, 30, 0.2, 0.5)])
    c = summary("hgm", "H", [(0, 10, 0.0, 0.1)])
    assert group_labels([a, b, c]) == {"G": "dgm (2 seeds)", "H": "hgm"}
    x, line, low, high = group_curve([a, b], "iterations")
    assert list(x) == [0, 1, 2]
    assert np.allclose(line, [0.25, 0.35, 0.55]) and np.allclose(low, [0.2, 0.3, 0.5]) and np.allclose(high, [0.3, 0.4, 0.6])
    x, line, low, high = group_curve([c], "iterations")  # one run: its own interval is the band
    assert np.allclose(low, [0.0]) and np.allclose(high, [0.2])


def test_compare_cli_writes_table_plots_and_page(tmp_path: Path):
    runs = []
    for name, seed in (("dgm-1", 1), ("dgm-2", 2), ("other", 3)):
        archive, _ = build_demo_archive(tmp_path / name, 12, seed=seed, name=name)
        archive.close()
        runs.append(str(tmp_path / name))
    other = tmp_path / "other" / "run.toml"  # another setup: not a seed of the first
    other.write_text(other.read_text().replace('selection = "score_child_prop"', 'selection = "random"'))
    out = tmp_path / "cmp"
    result = subprocess.run([sys.executable, "-m", "dgm.cli", "compare", *runs, "--out", str(out)],
                            capture_output=True, text=True, timeout=300, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    for name in ("dgm-1", "dgm-2", "other"):
        assert name in result.stdout
    assert "] n=" in result.stdout  # every best score with its interval and task count
    for axis in ("iterations", "tasks", "usd"):
        png = out / f"compare-{axis}.png"
        assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 5000
        assert (out / f"compare-{axis}.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    page = (out / "index.html").read_text()
    assert page.count("data:image/png;base64,") == 3 and "other" in page
    data = json.loads(subprocess.run([sys.executable, "-m", "dgm.cli", "compare", *runs, "--out", str(out), "--json"],
                                     capture_output=True, text=True, timeout=300).stdout)
    assert [d["run"] for d in data] == ["dgm-1", "dgm-2", "other"]
    assert data[0]["group"] == data[1]["group"] == "dgm (2 seeds) [dry run]" and data[2]["group"] == "other [dry run]"
    assert all(d["tasks"] > 0 and len(d["ci95"]) == 2 and d["usd"] > 0 for d in data)


def test_compare_refuses_what_is_not_a_run(tmp_path: Path):
    result = subprocess.run([sys.executable, "-m", "dgm.cli", "compare", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "not a run directory" in result.stderr and "Traceback" not in result.stderr
