"""``farm status``: the farm's nodes and boards, each board's state and work done."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from projectapi.farm.discovery import board_states
from projectapi.farm.inventory import resource_name

_BOARD_RESOURCE = resource_name("")


def node_rows(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ray's node records as the farm shows them: id, address, alive, CPUs, boards by kind."""
    rows = []
    for node in nodes:
        resources = node.get("Resources", {})
        rows.append(
            {
                "node": node["NodeID"],
                "host": node.get("NodeManagerAddress", ""),
                "alive": bool(node.get("Alive")),
                "head": "node:__internal_head__" in resources,
                "cpus": resources.get("CPU", 0),
                "boards": {
                    key[len(_BOARD_RESOURCE) :]: int(value)
                    for key, value in sorted(resources.items())
                    if key.startswith(_BOARD_RESOURCE)
                },
            }
        )
    return rows


def farm_status(ray: ModuleType) -> dict[str, Any]:
    """Live nodes and every answering board agent."""
    nodes = [row for row in node_rows(ray.nodes()) if row["alive"]]
    return {"nodes": nodes, "boards": board_states(ray)}
