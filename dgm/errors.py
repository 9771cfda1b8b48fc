"""Expected failures of the loop, the gateway and the config; the CLI shows them as one line."""


class DgmError(Exception):
    """Base of the expected errors raised by the `dgm` package."""


class ConfigError(DgmError):
    """A run config that is missing, unreadable or invalid."""


class RunNotFoundError(DgmError):
    """No run was named and none (or several) could be found under ./runs/."""


class BudgetExhausted(DgmError):
    """A USD or token budget is spent; no new work may start under it."""



class DaemonBusyError(DgmError):
    """Another daemon holds the run's lock."""
