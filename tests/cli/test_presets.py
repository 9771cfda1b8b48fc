"""`dgm init --preset`: every preset writes a valid config; one runs a dry run end to end."""

from __future__ import annotations

import pytest

from dgm.config import load_config
from dgm.presets import PRESETS
from tests.loop.conftest import dgm

EXPECTED = {
    "dgm": ("score_child_prop", "self"),
    "dgm-no-self-improve": ("score_child_prop", "seed"),
    "dgm-no-open-ended": ("best", "self"),
    "hgm": ("hgm", "self"),
    "random-parent": ("random", "self"),
}


def test_preset_list_names_each_preset_on_one_line():
    out = dgm("init", "--preset", "list", check=True).stdout.splitlines()
    assert [line.split()[0] for line in out] == list(PRESETS) == list(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_preset_creates_a_valid_run(tmp_path, name):
    run = tmp_path / name
    dgm("init", str(run), "--preset", name, check=True)
    config = load_config(run / "run.toml")
    assert (config.loop.selection, config.loop.meta_agent) == EXPECTED[name]
    if name != "hgm":
        assert [(s.tasks, s.min_score) for s in config.eval.stages][:2] == [(10, 0.4), (50, 0.4)]
        assert len(config.eval.stages) == 3
    else:
        assert [s.tasks for s in config.eval.stages] == [5] and config.hgm.alpha == 0.6


def test_unknown_preset_is_one_line(tmp_path):
    result = dgm("init", str(tmp_path / "x"), "--preset", "nope")
    assert result.returncode == 2 and "no preset named 'nope'" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.docker
@pytest.mark.slow
def test_the_no_self_improve_preset_runs_a_dry_run_with_the_seed_as_meta_agent(tmp_path):
    from dgm.archive import Archive

    run = tmp_path / "ablation"
    dgm("init", str(run), "--preset", "dgm-no-self-improve", "--model", "scripted:dry-run", check=True)
    text = (run / "run.toml").read_text()
    # keep the preset's meta agent and selection; only shrink the evaluation so the test is quick
    (run / "run.toml").write_text(text.replace(text[text.index("stages = "):].split("\n", 1)[0], "stages = [{ tasks = 2, min_score = 0.0 }]"))
    result = dgm("run", "--run", str(run), "--iterations", "1", check=True)
    assert "DRY RUN" in result.stdout
    with Archive.open(run, readonly=True) as store:
        children = [a for a in store.agents() if a.origin != "seed"]
        assert len(children) == 1 and children[0].meta["meta_agent"] == "seed"
