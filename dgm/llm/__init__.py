"""The LLM layer: models (litellm, scripted), budgets, and the gateway that sandboxes reach.

Public interface:
- `Model`, `Completion`, `LiteLLMModel`, `LocalModel` (the tiny model served on this machine),
  `ScriptedModel` (+ `Request`, `Answer`, `Rule`),
  `RetryingModel`, `dry_run_script`, `make_model`;
- `Gateway` (implements `evals.LLMAccess`; `complete_for_host` for the host's own calls),
  `GatewayLimits`, `Budget`, `Ledger`;
- the errors: `LLMError`, `ModelError`, `TransientModelError`, `ScriptExhausted`,
  `GatewayError`, and `BudgetExhausted` (from dgm.errors).

Nothing here imports litellm until a real model makes its first call.
"""

from dgm.llm.budget import Budget
from dgm.llm.dryrun import SCENARIOS, dry_run_script
from dgm.llm.errors import BudgetExhausted, GatewayError, LLMError, ModelError, ScriptExhausted, TransientModelError
from dgm.llm.factory import make_model
from dgm.llm.gateway import Gateway, GatewayLimits
from dgm.archive.contract import Ledger
from dgm.llm.local import LocalModel
from dgm.llm.models import Completion, LiteLLMModel, Model, missing_credentials
from dgm.llm.retry import RetryingModel
from dgm.llm.scripted import Answer, Request, Rule, ScriptedModel

__all__ = [
    "Answer", "Budget", "BudgetExhausted", "Completion", "Gateway", "GatewayError", "GatewayLimits",
    "LLMError", "Ledger", "LiteLLMModel", "LocalModel", "Model", "ModelError", "Request", "RetryingModel", "Rule",
    "SCENARIOS", "ScriptExhausted", "ScriptedModel", "TransientModelError", "dry_run_script", "make_model", "missing_credentials",
]
