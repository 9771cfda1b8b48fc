"""A second process reads the archive while another process writes to it."""

from __future__ import annotations

import subprocess
import sys
import time

from dgm.archive import Reader

WRITER = """
import sys
from pathlib import Path
from dgm.archive import Archive
run, n = Path(sys.argv[1]), int(sys.argv[2])
with Archive.open(run) as store:
    tree = store.read_tree("a4")
    parent = "a4"
    for i in range(n):
        child = store.add_child(parent, {**tree, "step.txt": str(i).encode()}, iteration=100 + i)
        store.log_event("child", f"added {child.id}", agent_id=child.id)
        store.set_score(child.id, i / n)
        store.set_status(child.id, "evaluated")
        parent = child.id
print("done")
"""


def test_reader_process_sees_consistent_growing_archive_while_writer_commits(family):
    writes = 40
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(family.run), str(writes)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: list[int] = []
    try:
        while True:
            finished = writer.poll() is not None  # before the read: a read after it sees the end
            with Reader.open(family.run) as reader:  # a fresh open each time, as the CLI does
                agents = reader.agents()
                ids = [a.id for a in agents]
                assert ids == [f"a{i}" for i in range(1, len(ids) + 1)]  # no gaps, in order
                for agent in agents[4:]:
                    assert agent.parent_id == f"a{int(agent.id[1:]) - 1}" or agent.parent_id == "a4"
                if len(agents) > 4:  # every committed row's commit is readable from git
                    assert "step.txt" in reader.read_tree(agents[-1].id)
                seen.append(len(agents))
            if finished or seen[-1] == 4 + writes:
                break
            time.sleep(0.01)
    finally:
        out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    assert seen == sorted(seen) and seen[-1] == 4 + writes
    assert len(set(seen)) > 2, "the reader should have observed the archive mid-write"
    with Reader.open(family.run) as reader:
        assert reader.verify().ok
        assert len(reader.events(limit=1000)) == writes
