"""The board farm: boards on many machines joined into a Ray cluster, work placed where they are.

``inventory`` reads a machine's boards; ``join`` runs a node with one agent per board
(``agent``); ``builder`` builds candidates as Ray tasks on any node; ``measurer`` plugs the farm
into ``projectapi.tune.MeasurePool``; ``selection``, ``health`` and ``agent_pool`` are the pure
rules (which boards qualify, when a board is broken, which board is free). Ray itself is
imported only by ``connection`` and inside the functions that run on the cluster.
"""

from projectapi.farm.errors import FarmError, InventoryError, NoBoardError
from projectapi.farm.inventory import BoardSpec, load_inventory

__all__ = ["BoardSpec", "FarmError", "InventoryError", "NoBoardError", "load_inventory"]
