"""The run layer: a model on a device, run and timed the same way whatever drives it.

``ModelRunner`` is the one protocol (standalone program, host-driven AOT, device-side graph,
host-walked graph); ``Measurement`` the one timing record; ``run_project`` builds, flashes and
runs a generated project. The command line, the benchmarks and the tests call this.
"""

from projectapi.run.measurement import DEVICE_CLOCK, HOST_WALL_CLOCK, Measurement
from projectapi.run.output_files import INDEX_NAME, output_file_names, write_outputs
from projectapi.run.project_run import (
    DEFAULT_SEED,
    RunError,
    RunOptions,
    RunReport,
    check_options,
    drive,
    load_inputs,
    open_runner,
    project_type,
    run_project,
)
from projectapi.run.runners import (
    GRAPH_EXECUTORS,
    ModelRunner,
    SessionModelRunner,
    StandaloneModelRunner,
    session_runner,
    work_deadline,
)

__all__ = [
    "DEFAULT_SEED",
    "DEVICE_CLOCK",
    "GRAPH_EXECUTORS",
    "HOST_WALL_CLOCK",
    "INDEX_NAME",
    "Measurement",
    "ModelRunner",
    "RunError",
    "RunOptions",
    "RunReport",
    "SessionModelRunner",
    "StandaloneModelRunner",
    "check_options",
    "drive",
    "load_inputs",
    "open_runner",
    "output_file_names",
    "project_type",
    "run_project",
    "session_runner",
    "work_deadline",
    "write_outputs",
]
