"""`down -v` removes the stack: no container, network or volume of the project.

Last in this folder (files run in name order): it takes the stack away.
"""

from __future__ import annotations

import pytest

# The first test here builds and starts the stack (minutes on a cold machine),
# the last one stops it and, if this suite started it, the Docker daemon.
pytestmark = pytest.mark.timeout(1200)


def test_down_with_volumes_leaves_nothing_of_the_project_behind(compose_project):
    before = compose_project.leftovers()
    # Something to remove: the containers, the default network and the
    # four named volumes (broker, database, store, nginx's buffers).
    assert before["containers"], before
    assert before["networks"], before
    assert len(before["volumes"]) == 4, before

    compose_project.compose("down", "--volumes", "--remove-orphans", timeout=300)

    assert compose_project.leftovers() == {"containers": [], "networks": [], "volumes": []}
