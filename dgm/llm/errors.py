"""Expected failures of the LLM layer.

Two kinds matter to the loop: a `ModelError` is the model's (or the provider's) fault and
counts as a failure of the agent that asked; a `ScriptExhausted` means a test or dry-run
script is wrong and must stop the run loudly, so it is deliberately *not* a ModelError.
"""

from __future__ import annotations

from dgm.errors import BudgetExhausted, DgmError

__all__ = ["LLMError", "ModelError", "TransientModelError", "ScriptExhausted", "GatewayError", "BudgetExhausted"]


class LLMError(DgmError):
    """Base of the expected errors of `dgm.llm`."""


class ModelError(LLMError):
    """A call the model could not answer usefully: a malformed answer, a refused request,
    or transient errors that outlived every retry. An agent failure, never a crash."""


class TransientModelError(ModelError):
    """Rate limit, timeout, connection or 5xx error: worth retrying with backoff."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        """Seconds the provider asked us to wait (its Retry-After header), if it said."""


class ScriptExhausted(LLMError):
    """The scripted model was asked more than its script answers."""


class GatewayError(LLMError):
    """The gateway could not start or serve (socket path, permissions, stopped)."""
