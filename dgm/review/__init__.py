"""Human review of children: flags on their diffs, the review queue and the approval gate.

The loop imports `is_eligible_parent` from here, so this module stays light (no rich, no git).
"""

from dgm.review.flags import Flag, FlagRules, flag_diff
from dgm.review.gate import APPROVE, NOTE, REJECT, approved_agent_ids, is_eligible_parent, latest_verdicts

__all__ = [
    "APPROVE",
    "NOTE",
    "REJECT",
    "Flag",
    "FlagRules",
    "approved_agent_ids",
    "flag_diff",
    "is_eligible_parent",
    "latest_verdicts",
]
