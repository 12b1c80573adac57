"""``farm join``: this machine's boards on a farm, one agent each, kept alive until stopped.

The node advertises one custom resource per kind of board (``board:mps2-an386: 2``) and one
resource of its own, which pins each agent to it. The loop restarts an agent whose process
died; on Ctrl-C or SIGTERM the agents end (their work folders removed) and the node's Ray
processes stop.
"""

from __future__ import annotations

import pathlib
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from projectapi.errors import ProjectAPIError
from projectapi.farm.agent import BoardAgent, agent_name
from projectapi.farm.connection import NAMESPACE, check_farm, connected
from projectapi.farm.discovery import ask_all
from projectapi.farm.errors import FarmError, InventoryError
from projectapi.farm.inventory import BoardSpec, load_inventory, resource_name
from projectapi.farm.ray_node import NodeSettings, RayNode, join_arguments
from projectapi.project import TemplateProject

CHECK_SECONDS = 2.0
START_AGENTS_SECONDS = 60.0
NODE_RESOURCE_UNITS = 1000


def node_resource(tag: str) -> str:
    """The custom resource only the node joined under ``tag`` has."""
    return f"farm-node:{tag}"


def node_resources(boards: Sequence[BoardSpec], tag: str) -> dict[str, float]:
    """What the node advertises: every kind of board it holds, counted, and itself."""
    resources: dict[str, float] = {node_resource(tag): NODE_RESOURCE_UNITS}
    for spec in boards:
        key = resource_name(spec.kind)
        resources[key] = resources.get(key, 0) + spec.count
    return resources


def check_templates(boards: Sequence[BoardSpec], where: str) -> None:
    """Each board's template exists here and declares every option the inventory gives."""
    for spec in boards:
        try:
            with TemplateProject(spec.template) as template:
                declared = {option.name for option in template.options}
        except ProjectAPIError as error:
            raise InventoryError(f"{where}: board {spec.name!r}: template: {error}") from error
        unknown = sorted(set(spec.options) - declared)
        if unknown:
            raise InventoryError(
                f"{where}: board {spec.name!r}: template {spec.template} has no option "
                f"{unknown[0]!r}"
            )


class NodeAgents:
    """The agents of this node's boards, created, revived and ended together."""

    def __init__(
        self,
        ray: ModuleType,
        boards: Sequence[BoardSpec],
        tag: str,
        failure_limit: int,
        work_root: pathlib.Path,
    ) -> None:
        """Describe the agents (working in ``work_root``); ``start`` creates them."""
        self._ray = ray
        self._tag = tag
        self._limit = failure_limit
        self._work_root = str(work_root)
        self._units = [(spec, unit) for spec in boards for unit in spec.unit_names()]
        self.handles: dict[str, Any] = {}

    def _create(self, spec: BoardSpec, unit: str) -> Any:
        name = agent_name(self._tag, unit)
        actor = self._ray.remote(BoardAgent).options(
            name=name,
            namespace=NAMESPACE,
            num_cpus=0,
            resources={resource_name(spec.kind): 1, node_resource(self._tag): 1},
            max_concurrency=4,  # status answers while a job runs; jobs come one at a time
            enable_task_events=False,  # no dashboard reads them
        )
        return actor.remote(spec, unit, name, self._limit, self._work_root)

    def start(self) -> None:
        """Create every agent and wait until each answers."""
        for spec, unit in self._units:
            self.handles[unit] = self._create(spec, unit)
        calls = {unit: h.describe.remote() for unit, h in self.handles.items()}
        ready, _ = self._ray.wait(
            list(calls.values()), num_returns=len(calls), timeout=START_AGENTS_SECONDS
        )
        if len(ready) < len(calls):
            raise FarmError(f"board agents did not start within {START_AGENTS_SECONDS:.0f} s")
        self._ray.get(ready)

    def revive(self) -> list[str]:
        """Recreate the agents whose process died; their names."""
        answered = ask_all(self._ray, {u: h.describe.remote() for u, h in self.handles.items()})
        revived = []
        for spec, unit in self._units:
            if unit not in answered:
                self._end(self.handles[unit])
                self.handles[unit] = self._create(spec, unit)
                revived.append(unit)
        return revived

    def _end(self, handle: Any) -> None:
        self._ray.kill(handle, no_restart=True)

    def stop(self) -> None:
        """Each agent removes its work folder, then ends."""
        ask_all(self._ray, {u: h.shutdown.remote() for u, h in self.handles.items()})
        for handle in self.handles.values():
            self._end(handle)
        self.handles.clear()


def serve_boards(
    address: str,
    inventory: pathlib.Path,
    settings: NodeSettings,
    failure_limit: int,
    on_ready: Callable[[RayNode, list[str]], None],
) -> None:
    """Join ``address`` with the boards of ``inventory``; return only by an exception."""
    boards = load_inventory(inventory)
    check_templates(boards, str(inventory))
    check_farm(address)
    tag = uuid.uuid4().hex[:12]
    arguments = [*join_arguments(address, node_resources(boards, tag)), *settings.arguments()]
    with (
        tempfile.TemporaryDirectory(prefix="projectapi-farm-node-") as work_root,
        RayNode(arguments) as node,
        connected(address) as ray,
    ):
        agents = NodeAgents(ray, boards, tag, failure_limit, pathlib.Path(work_root))
        try:
            agents.start()
            on_ready(node, sorted(agents.handles))
            while True:
                time.sleep(CHECK_SECONDS)
                if not node.alive():
                    raise FarmError(f"this machine's Ray node stopped:\n{node.log_tail()}")
                agents.revive()
        finally:
            agents.stop()
