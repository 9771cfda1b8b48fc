"""Sessions in other images (Limits.image, Limits.workspace_source): the workspace is seeded
from the image, the pristine copy stays out of reach, and what cannot start says why."""

from __future__ import annotations

import io

import pytest

from dgm.sandbox import WORKSPACE_SEED, Limits, SandboxStartError, open_backend
from tests.sandbox.conftest import FOREIGN_IMAGE, TEST_LIMITS, build_foreign_image, ensure_built

SEEDED_IMAGE = "dgm-foreign-test:seeded"


@pytest.fixture(scope="module")
def docker_backend():
    from dgm.sandbox.docker_backend import connect

    ensure_built("docker")
    build_foreign_image()
    recipe = f"FROM {FOREIGN_IMAGE}\nUSER root\nRUN mkdir -p /testbed/pkg && echo base > /testbed/pkg/a.txt && chmod 600 /testbed/pkg/a.txt\n"
    connect().images.build(fileobj=io.BytesIO(recipe.encode()), tag=SEEDED_IMAGE, rm=True, network_mode="none")
    return open_backend("docker")


@pytest.mark.docker
def test_workspace_is_seeded_from_the_image_and_the_source_leads_to_it(docker_backend):
    limits = Limits(**{**TEST_LIMITS.__dict__, "image": SEEDED_IMAGE, "workspace_source": "/testbed"})
    with docker_backend.start(limits) as session:
        script = f"cat /work/pkg/a.txt; echo fix > /testbed/pkg/a.txt; cat /work/pkg/a.txt; echo x > {WORKSPACE_SEED}/pkg/a.txt || echo seed-read-only; cat {WORKSPACE_SEED}/pkg/a.txt; id -u"
        result = session.exec(["sh", "-c", script])
    assert result.stdout.decode().split() == ["base", "fix", "seed-read-only", "base", "10001"], result


@pytest.mark.docker
def test_a_workspace_too_big_for_work_is_one_clear_error_and_leaves_nothing(docker_backend):
    from dgm.sandbox.docker_backend import connect

    recipe = f"FROM {FOREIGN_IMAGE}\nUSER root\nRUN mkdir /testbed && for n in 1 2 3; do head -c 8000000 /dev/zero > /testbed/big$n; done\n"
    connect().images.build(fileobj=io.BytesIO(recipe.encode()), tag="dgm-foreign-test:big", rm=True, network_mode="none")
    limits = Limits(**{**TEST_LIMITS.__dict__, "image": "dgm-foreign-test:big", "workspace_source": "/testbed", "work_mb": 16})
    with pytest.raises(SandboxStartError, match="cannot copy the workspace into the sandbox: .*No space left"):
        docker_backend.start(limits)
    assert sessions_left() == []


@pytest.mark.docker
def test_an_image_that_is_absent_and_unpullable_is_one_clear_error(docker_backend):
    with pytest.raises(SandboxStartError) as info:
        docker_backend.start(Limits(image="registry.invalid/nobody/none:latest"))
    message = str(info.value)
    assert "is not on this machine and cannot be pulled" in message and "\n" not in message
    assert sessions_left() == []


@pytest.mark.docker
@pytest.mark.parametrize("limits, message", [
    (Limits(image="x\nRUN touch /pwned"), "is not an image reference"),
    (Limits(image=FOREIGN_IMAGE, workspace_source="/testbed; rm -rf /"), "must be a plain absolute path"),
])  # fmt: skip
def test_image_names_and_sources_that_would_inject_into_the_recipe_are_refused(docker_backend, limits, message):
    with pytest.raises(SandboxStartError, match=message):
        docker_backend.start(limits)


@pytest.mark.bwrap
def test_bubblewrap_refuses_other_images():
    from tests.sandbox.conftest import ensure_built as build

    build("bwrap")
    with pytest.raises(SandboxStartError, match="need Docker"):
        open_backend("bwrap").start(Limits(image=FOREIGN_IMAGE))


def sessions_left() -> list:
    """This process's containers, but the warm ones another fixture's pool keeps waiting."""
    from dgm.sandbox.docker_backend import connect
    from dgm.sandbox.layout import owner_tag

    found = connect().containers.list(all=True, filters={"label": f"dgm.owner={owner_tag()}"})
    return [c for c in found if c.labels.get("dgm.purpose") != "warm"]
