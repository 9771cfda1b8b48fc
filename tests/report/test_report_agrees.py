"""The report, `dgm archive` and the budgets agree: one rule for what a child costs (its own
calls and its making), checked on a real run made by the previous dgm and migrated; one rule
for the best agent."""

from __future__ import annotations

import pytest

from dgm.archive import Archive, Reader
from dgm.cli.archive_views import build_lineage, tree_json
from dgm.config import BudgetConfig
from dgm.llm import Budget
from dgm.report.data import collect
from tests.archive.archive_family import build_family
from tests.fixtures.old_run import unpack_old_run


def test_budget_archive_views_and_report_charge_a_childs_making_to_the_child(tmp_path):
    run, expected = unpack_old_run(tmp_path)
    with Archive.open(run) as store:  # migrates the old run in place
        budget = Budget(BudgetConfig(usd_per_child=100.0), store)
        by_budget = {a.id: budget.child_spent(a.id).usd for a in store.agents()}
    with Reader.open(run) as reader:
        agents = reader.agents()
        by_ls = {s.agent.id: s.cost_usd for s in reader.summaries()}
        by_show = {a.id: reader.child_cost(a.id).usd for a in agents}
        by_report = {a.id: a.cost for a in collect(reader, "old").agents}
        making = {a.id: reader.making_cost(a.parent_id, a.iteration).usd for a in agents if a.parent_id}
        own = {a.id: sum(c.cost_usd for c in reader.llm_calls(agent_id=a.id) if c.iteration == a.iteration) for a in agents}
        under = {a.id: sum(c.cost_usd for c in reader.llm_calls(agent_id=a.id)) for a in agents}
    by_old_code = {row["id"]: row["cost_usd"] for row in expected["ls"]}
    for view in (by_budget, by_ls, by_show, by_report):
        assert view == pytest.approx(by_old_code, rel=1e-9)
    assert making and all(usd > 0 for usd in making.values())
    for agent in agents:  # the parent pays for its own evaluation only, never for its children
        assert by_report[agent.id] == pytest.approx(own[agent.id] + making.get(agent.id, 0.0), rel=1e-9)
    assert under["a1"] > by_report["a1"]  # the seed made a2 and a3: under its id, not its cost


def test_every_view_names_the_same_best_agent_and_a_tie_goes_to_the_earliest(tmp_path):
    family = build_family(tmp_path)
    with Archive.open(family.run) as store:
        store.set_score(family.child, 0.8)  # ties the grandchild, made later
        store.set_score(family.sibling, 0.9)  # invalid agents are never the best, whatever their score
    with Reader.open(family.run) as reader:
        agents = reader.agents()
        bests = {
            "archive best": reader.best().id,
            "archive tree": tree_json(list(reversed(agents)), {})["best"],
            "lineage": build_lineage(agents).best_id,
            "report": collect(reader).best().id,
        }
    assert set(bests.values()) == {family.child}, bests
