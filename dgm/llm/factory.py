"""From a run's model config to a Model: litellm for real names, the scripted model offline."""

from __future__ import annotations

from dgm.config import ModelConfig
from dgm.errors import ConfigError
from dgm.llm.dryrun import SCENARIOS, dry_run_script
from dgm.llm.local import LocalModel, is_local
from dgm.llm.models import LiteLLMModel, Model
from dgm.llm.scripted import ScriptedModel

SCRIPTED_PREFIX = "scripted:"


def make_model(config: ModelConfig) -> Model:
    """'' -> the dry run's scripted model; 'scripted:<scenario>' -> a scripted scenario (tests);
    'local' -> the tiny model served on this machine; anything else -> a litellm model string.

    Raises: ConfigError for an unknown scripted scenario.
    """
    name = config.name.strip()
    if not name:
        return ScriptedModel(dry_run_script(), name=SCRIPTED_PREFIX + "dry-run", latency=config.scripted_latency)
    if name.startswith(SCRIPTED_PREFIX):
        scenario = name[len(SCRIPTED_PREFIX):]
        if scenario not in SCENARIOS:
            raise ConfigError(f"model '{name}': unknown scripted scenario (known: {', '.join(SCENARIOS)})")
        return ScriptedModel(dry_run_script(scenario), name=name, latency=config.scripted_latency)
    if is_local(name):
        return LocalModel(timeout=config.timeout, max_retries=config.max_retries)
    return LiteLLMModel(name, api_base=config.api_base, timeout=config.timeout, max_retries=config.max_retries)
