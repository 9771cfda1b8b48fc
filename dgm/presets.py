"""Named run setups: the DGM paper's and its ablations, HGM, and a random-parent baseline.

`dgm init --preset NAME` starts from a preset instead of the defaults (and `--preset list`
names them). A preset only sets config fields, so a run made from one is an ordinary run.
Standard library only: `dgm init` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from dgm.config import RunConfig, StageConfig
from dgm.errors import ConfigError

ALL_TASKS = 100_000
"""A stage this large takes the rest of the suite (stages are clipped to the suite's size)."""


def paper_stages() -> list[StageConfig]:
    """The DGM paper's staged evaluation: 10 tasks; 50 more at >= 40%; then the rest at >= 40%
    (the paper's third-stage rule is for its top agents; we use the same 40% threshold)."""
    return [StageConfig(10, 0.4), StageConfig(50, 0.4), StageConfig(ALL_TASKS)]


@dataclass(frozen=True)
class Preset:
    summary: str
    apply: Callable[[RunConfig], None]


def _dgm(config: RunConfig) -> None:
    config.loop.selection = "score_child_prop"
    config.loop.meta_agent = "self"
    config.eval.stages = paper_stages()


def _no_self_improve(config: RunConfig) -> None:
    _dgm(config)
    config.loop.meta_agent = "seed"


def _no_open_ended(config: RunConfig) -> None:
    _dgm(config)
    config.loop.selection = "best"


def _hgm(config: RunConfig) -> None:
    config.loop.selection = "hgm"
    config.loop.meta_agent = "self"
    config.eval.stages = [StageConfig(5)]  # a first look; HGM adds tasks one at a time where it is unsure
    config.hgm.alpha = 0.6


def _random_parent(config: RunConfig) -> None:
    _dgm(config)
    config.loop.selection = "random"


PRESETS: dict[str, Preset] = {
    "dgm": Preset("the DGM paper: score_child_prop selection, the parent rewrites itself, staged 10/50/all at 40%", _dgm),
    "dgm-no-self-improve": Preset("ablation: a fixed meta agent (the run's seed agent) makes every child", _no_self_improve),
    "dgm-no-open-ended": Preset("ablation: greedy hill-climbing, always the best agent as the single parent", _no_open_ended),
    "hgm": Preset("Huxley-Gödel Machine: clade Thompson sampling; a child (first 5 tasks) or one more task per step, alpha 0.6", _hgm),
    "random-parent": Preset("baseline: parents drawn uniformly from the valid agents; otherwise as dgm", _random_parent),
}


def preset_lines() -> list[str]:
    width = max(len(name) for name in PRESETS)
    return [f"{name.ljust(width)}  {preset.summary}" for name, preset in PRESETS.items()]


def apply_preset(config: RunConfig, name: str) -> RunConfig:
    """Raises: ConfigError for an unknown preset name."""
    preset = PRESETS.get(name)
    if preset is None:
        raise ConfigError(f"no preset named '{name}' (known: {', '.join(PRESETS)}; 'dgm init --preset list' describes them)")
    preset.apply(config)
    return config.validate()
