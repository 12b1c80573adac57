"""``projectapi run --farm``: a generated project built, flashed and run on a farm's board.

The project travels without its build folder (a build holds this machine's absolute paths);
the board's agent builds it on its own node, then runs it with the inputs checked here.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import ModuleType
from typing import Any

from microtvm_kit.firmware_template import SETTINGS_NAME
from projectapi.farm.agent_pool import AgentPool
from projectapi.farm.discovery import Agent
from projectapi.farm.measurer import qualifying_agents
from projectapi.farm.packing import pack_directory
from projectapi.farm.selection import Requirement
from projectapi.project import GeneratedProject, parse_option_strings
from projectapi.run.project_run import RunOptions, RunReport, project_inputs

BUILD_DIR = "build"


def _option_string(key: str, value: Any) -> str:
    return f"{key}={str(value).lower() if isinstance(value, bool) else value}"


def recorded_board(project_dir: pathlib.Path) -> dict[str, Any]:
    """``{"board": KIND}`` as the project's template recorded it at generate time (the
    ``project.json`` of projectapi's firmware templates), else nothing."""
    try:
        settings = json.loads((project_dir / SETTINGS_NAME).read_text())
    except (OSError, ValueError):
        return {}
    board = settings.get("board") if isinstance(settings, dict) else None
    return {"board": board} if isinstance(board, str) and board else {}


def run_on_farm(
    ray: ModuleType,
    project_dir: pathlib.Path,
    files: Mapping[str, pathlib.Path],
    options: RunOptions,
    labels: Sequence[str] = (),
) -> tuple[str, RunReport]:
    """Run ``project_dir`` on a qualifying board (another if its node dies); which board.

    Boards of the kind the project was generated for qualify unless ``-o board=`` says other.
    """
    arrays = project_inputs(project_dir, files, options)
    with GeneratedProject(project_dir) as project:
        template = project.info.platform_name
        job_options = {
            **recorded_board(project_dir),
            **parse_option_strings(options.project_options, project.options),
        }
    agents = AgentPool(
        qualifying_agents(ray, Requirement(template, job_options, tuple(labels))), Agent.describe
    )
    packed = ray.put(pack_directory(project_dir, skip=(BUILD_DIR,)))
    while True:
        agent = agents.acquire()
        extra = [
            _option_string(k, v) for k, v in agent.info.options.items() if k not in job_options
        ]
        board_run = replace(options, project_options=(*options.project_options, *extra))
        try:
            label, report = ray.get(agent.handle.run_project.remote(packed, arrays, board_run))
        except (ray.exceptions.RayActorError, ray.exceptions.NodeDiedError):
            agents.lost(agent)
            continue
        except ray.exceptions.RayTaskError as error:
            agents.release(agent)
            raise error.cause from None
        agents.release(agent)
        return label, report
