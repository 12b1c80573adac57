"""Candidates measured on a farm: builds as Ray tasks on any node, runs on the boards' agents.

A ``FarmMeasurer`` plugs into ``MeasurePool`` like the local one, so the reference outputs and
the results database stay the pool's (the driver is the one writer, recording as results
arrive). A board whose agent or node dies mid-job is dropped and the candidate runs on another
qualifying board; its result is recorded once, by the pool, when that run ends.
"""

from __future__ import annotations

import logging
import pathlib
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


LOST_AGENT, LOST_BUILD, BROKEN_BOARD = "lost agent", "lost build", "broken board"


def failure_kind(ray: ModuleType, error: BaseException) -> str | None:
    """What a Ray error from a job means for the farm, None for a fault of the code itself."""
    exceptions = ray.exceptions
    cause = error.cause if isinstance(error, exceptions.RayTaskError) else error
    if isinstance(cause, BoardBrokenError):
        return BROKEN_BOARD
    if isinstance(cause, exceptions.ObjectLostError):
        return LOST_BUILD
    lost = (exceptions.RayActorError, exceptions.NodeDiedError, exceptions.WorkerCrashedError)
    return LOST_AGENT if isinstance(cause, lost) else None


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
        self._build = ray.remote(num_cpus=1, num_returns=2, enable_task_events=False)(
            build_project
        )  # no dashboard reads task events: recording them would only take CPU

    def measure(
        self, candidate: Candidate, reference: Reference, work_dir: pathlib.Path
    ) -> Measured:
        """Build anywhere, then run on a free qualifying board (another if one is lost)."""
        # In the object store while this candidate is measured (a rebuild reads it again).
        archive = self._ray.put(candidate.archive.read_bytes())
        header, packed = self._build_on_farm(archive, candidate)
        if header.status != OK:
            board = f"{self.target.board} (build on {header.host})"
            outcome = Outcome(header.status, header.error)
            return self._result(candidate, board, outcome, header), None
        rebuilds = 0
        while True:
            agent = self.agents.acquire()
            target = Target(self.target.template, board_options(agent.info, self.target.options))
            call = agent.handle.measure.remote(
                packed, archive, candidate.digest, target, self.evaluator, reference
            )
            try:
                run, outputs = self._ray.get(call)
            except self._ray.exceptions.RayError as error:
                kind = failure_kind(self._ray, error)
                if kind is None:
                    raise
                if kind == LOST_AGENT:
                    self.agents.lost(agent)
                    _log.warning(
                        "farm: lost %s (%s); measuring %s on another board",
                        agent.describe(), type(error).__name__, candidate.archive.name,
                    )  # fmt: skip
                    continue
                self.agents.release(agent, broken=kind == BROKEN_BOARD)
                if kind == LOST_BUILD:  # it lived on a node that died: build it again
                    rebuilds += 1
                    if rebuilds > _REBUILDS:
                        raise
                    header, packed = self._build_on_farm(archive, candidate)
                continue
            self.agents.release(agent, broken=run.broken)
            outcome = Outcome(run.status, run.error)
            seconds = {**header.seconds, **run.seconds}
            return self._result(candidate, run.board, outcome, header, run.times, seconds), outputs

    def _build_on_farm(self, archive: Any, candidate: Candidate) -> tuple[BuildHeader, Any]:
        """Build as a Ray task; a build lost with its node (after Ray's own retries) is
        submitted again."""
        attempts = 0
        while True:
            header_ref, packed = self._build.remote(archive, candidate.digest, self.build_target)
            try:
                return self._ray.get(header_ref), packed
            except self._ray.exceptions.RayError as error:
                attempts += 1
                if failure_kind(self._ray, error) is None or attempts > _REBUILDS:
                    raise

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
