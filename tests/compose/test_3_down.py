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
    # named volumes of the running services (broker, database, store,
    # nginx's buffers), and Prometheus's once test_2e_monitoring.py has
    # started it (Compose v1 creates that one even while its monitoring
    # profile is off; Compose v2 does not). `down` without the profile takes
    # Prometheus's container away too.
    assert before["containers"], before
    assert before["networks"], before
    running = {"rabbitmq-data", "postgres-data", "seaweedfs-data", "nginx-buffers"}
    volumes = {name.removeprefix(f"{compose_project.name}_") for name in before["volumes"]}
    assert running <= volumes <= running | {"prometheus-data"}, before

    compose_project.compose("down", "--volumes", "--remove-orphans", timeout=300)

    assert compose_project.leftovers() == {"containers": [], "networks": [], "volumes": []}
