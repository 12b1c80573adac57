"""Candidates measured on a farm: builds as Ray tasks on any node, runs on the boards' agents.

A ``FarmMeasurer`` plugs into ``MeasurePool`` like the local one, so the reference outputs and
the results database stay the pool's (the driver is the one writer, recording as results
arrive). A board whose agent or node dies mid-job is dropped and the candidate runs on another
qualifying board; its result is recorded once, by the pool, when that run ends.
"""

from __future__ import annotations

import logging
import pathlib
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from projectapi.farm.agent import BoardBrokenError
from projectapi.farm.agent_pool import AgentPool
from projectapi.farm.builder import BuildHeader, build_project
from projectapi.farm.discovery import Agent, find_agents
from projectapi.farm.selection import (
    Requirement,
    board_kind,
    board_options,
    select,
    shared_options,
)
from projectapi.tune.database import OK, MeasureResult
from projectapi.tune.measure import (
    Candidate,
    Outcome,
    Reference,
    Target,
    TimeEvaluator,
    make_result,
)
from projectapi.tune.pool import Measured

_log = logging.getLogger(__name__)

# A build whose output vanished with its node is built again this many times at most.
_REBUILDS = 3


def qualifying_agents(ray: ModuleType, requirement: Requirement) -> list[Agent]:
    """The live agents whose boards qualify; NoBoardError (listing the boards) if none."""
    agents = find_agents(ray)
    chosen = {b.agent for b in select([a.info for a in agents], requirement)}
    return [a for a in agents if a.info.agent in chosen]


class FarmMeasurer:
    """Measures candidates for ``target`` on the farm ``ray`` is attached to."""

    def __init__(
        self, ray: ModuleType, target: Target, evaluator: TimeEvaluator, labels: Sequence[str] = ()
    ) -> None:
        """Find the qualifying boards now, so a job for an absent board fails at once."""
        self._ray = ray
        self.target = target
        self.evaluator = evaluator
        requirement = Requirement(target.template, dict(target.options), tuple(labels))
        agents = qualifying_agents(ray, requirement)
        infos = [a.info for a in agents]
        board_kind(infos, requirement)  # projects are built for one kind of board
        self.build_target = Target(target.template, shared_options(infos, target.options))
        self.agents: AgentPool[Agent] = AgentPool(agents, Agent.describe)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, cpus) + len(agents)
        self._build = ray.remote(num_cpus=1, num_returns=2)(build_project)
        self._archives: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _archive(self, candidate: Candidate) -> Any:
        with self._lock:
            if candidate.digest not in self._archives:
                data = candidate.archive.read_bytes()
                self._archives[candidate.digest] = self._ray.put(data)
            return self._archives[candidate.digest]

    def measure(
        self, candidate: Candidate, reference: Reference, work_dir: pathlib.Path
    ) -> Measured:
        """Build anywhere, then run on a free qualifying board (another if one is lost)."""
        archive = self._archive(candidate)
        header, packed = self._build_on_farm(archive, candidate)
        if header.status != OK:
            board = f"{self.target.board} (build on {header.host})"
            outcome = Outcome(header.status, header.error)
            return self._result(candidate, board, outcome, header), None
        exceptions = self._ray.exceptions
        rebuilds = 0
        while True:
            agent = self.agents.acquire()
            target = Target(self.target.template, board_options(agent.info, self.target.options))
            call = agent.handle.measure.remote(
                packed, archive, candidate.digest, target, self.evaluator, reference
            )
            try:
                run, outputs = self._ray.get(call)
            except exceptions.ObjectLostError:
                self.agents.release(agent)
                rebuilds += 1
                if rebuilds > _REBUILDS:
                    raise
                header, packed = self._build_on_farm(archive, candidate)
                continue
            except exceptions.RayTaskError as error:
                if not isinstance(error.cause, BoardBrokenError):
                    raise
                self.agents.release(agent, broken=True)  # broken meanwhile, by another job
                continue
            except (exceptions.RayActorError, exceptions.NodeDiedError) as error:
                self.agents.lost(agent)
                _log.warning(
                    "farm: lost %s (%s); measuring %s on another board",
                    agent.describe(), type(error).__name__, candidate.archive.name,
                )  # fmt: skip
                continue
            self.agents.release(agent, broken=run.broken)
            outcome = Outcome(run.status, run.error)
            seconds = {**header.seconds, **run.seconds}
            return self._result(candidate, run.board, outcome, header, run.times, seconds), outputs

    def _build_on_farm(self, archive: Any, candidate: Candidate) -> tuple[BuildHeader, Any]:
        header_ref, packed = self._build.remote(archive, candidate.digest, self.build_target)
        return self._ray.get(header_ref), packed

    def _result(
        self,
        candidate: Candidate,
        board: str,
        outcome: Outcome,
        header: BuildHeader,
        times: tuple[float, ...] = (),
        seconds: dict[str, float] | None = None,
    ) -> MeasureResult:
        return make_result(
            candidate,
            self.target,
            self.evaluator,
            board,
            outcome,
            times,
            header.sizes,
            seconds or header.seconds,
        )
