"""Build synthetic runs of 10 and 2,000 agents through the archive API and write their reports,
to look at: `python benchmarks/make_report_demo.py [OUT_DIR] [--sizes 10,2000]`.

Prints where each report went and how long each step took (building the archive, reading the
snapshot, drawing and writing), so a slow report shows up here rather than in the tests.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from dgm.archive import Reader

from dgm.report import build_report
from dgm.report.demo import build_demo_archive


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=Path(tempfile.gettempdir()) / "dgm-report-demo")
    parser.add_argument("--sizes", default="10,2000", help="comma-separated archive sizes")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        run_dir = args.out / f"run-{size}"
        if run_dir.exists():
            shutil.rmtree(run_dir)
        started = time.perf_counter()
        archive, stats = build_demo_archive(run_dir, size, seed=1, name=f"demo-{size}")
        archive.close()
        built = time.perf_counter() - started
        started = time.perf_counter()
        reader = Reader.open(run_dir)
        files = build_report(reader, run_dir / "report", run_name=f"demo-{size}")
        reported = time.perf_counter() - started
        reader.close()
        print(f"{size:>6} agents: {stats.invalid} invalid, {stats.reviews} reviews, {stats.calls} ledger rows")
        print(f"        archive built in {built:6.1f} s ({1000 * built / size:.1f} ms per agent)")
        print(f"        report written in {reported:5.1f} s: {files.html}")
        for figure in files.figures:
            print(f"          {figure.png}  ({figure.png.stat().st_size // 1024} KiB PNG, {figure.svg.stat().st_size // 1024} KiB SVG)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
