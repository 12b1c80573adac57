"""``projectapi farm start | join | status``, and ``--farm`` for ``run``, ``measure`` and ``tune``.

``start`` and ``join`` stay in the foreground (Ctrl-C or SIGTERM stops their Ray node, leaving
nothing); each prints one ``ready:`` line on stderr once its node is up.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import threading
from typing import Any

from projectapi.cli import output
from projectapi.cli.parsing import add_command, add_json

DEFAULT_PORT = 6379
DEFAULT_IP = "127.0.0.1"


def add_farm_options(parser: argparse.ArgumentParser) -> None:
    """``--farm ADDRESS`` and ``--board-label`` (``run``, ``measure``, ``tune``)."""
    parser.add_argument(
        "--farm",
        metavar="HOST:PORT",
        help="send the work to the board farm at this address (docs/farm.md) instead of local "
        "boards; -o board=KIND and --board-label choose which boards qualify",
    )
    parser.add_argument(
        "--board-label",
        action="append",
        default=[],
        metavar="LABEL",
        help="with --farm: only boards carrying this inventory label (repeatable)",
    )


def _add_node_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--node-ip",
        default=DEFAULT_IP,
        help=f"this machine's address in the farm (default {DEFAULT_IP}: this machine only; "
        "use an address of a private network to reach other machines)",
    )
    parser.add_argument(
        "--num-cpus",
        type=int,
        default=os.cpu_count() or 1,
        help="CPUs this machine gives to builds (default: all cores)",
    )
    parser.add_argument(
        "--temp-dir", type=pathlib.Path, help="Ray's folder for this node (default Ray's /tmp/ray)"
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``farm`` with its subcommands."""
    farm = add_command(
        subparsers,
        "farm",
        "run a board farm: boards on many machines in one Ray cluster",
        "projectapi farm start\n"
        "projectapi farm join 10.0.0.1:6379 --inventory boards.toml --node-ip 10.0.0.2\n"
        "projectapi farm status 10.0.0.1:6379",
    )
    commands = farm.add_subparsers(
        dest="farm_command", required=True, metavar="COMMAND", help="one of these (each has --help)"
    )
    start = add_command(
        commands,
        "start",
        "start the farm's head on this machine and stay in the foreground (Ctrl-C stops it)",
        "projectapi farm start --port 6379 --num-cpus 4",
    )
    start.add_argument("--port", type=int, default=DEFAULT_PORT, help="the farm's port")
    _add_node_options(start)
    add_json(start)
    start.set_defaults(func=_start)
    join = add_command(
        commands,
        "join",
        "join a farm with this machine's boards and stay in the foreground (Ctrl-C leaves)",
        "projectapi farm join 127.0.0.1:6379 --inventory boards.toml",
    )
    join.add_argument("address", metavar="HOST:PORT", help="the farm's address (farm start)")
    join.add_argument(
        "--inventory", type=pathlib.Path, required=True, help="this machine's boards (TOML)"
    )
    join.add_argument(
        "--failure-limit",
        type=int,
        default=3,
        help="jobs in a row that hang, crash or fail to start before a board counts as broken",
    )
    _add_node_options(join)
    add_json(join)
    join.set_defaults(func=_join)
    status = add_command(
        commands,
        "status",
        "list the farm's nodes and boards, each board's state and work done",
        "projectapi farm status 127.0.0.1:6379 --json",
    )
    status.add_argument("address", metavar="HOST:PORT", help="the farm's address")
    add_json(status)
    status.set_defaults(func=_status)


def _settings(args: argparse.Namespace) -> Any:
    from projectapi.farm.ray_node import NodeSettings

    return NodeSettings(args.node_ip, args.num_cpus, args.temp_dir)


def _wait_forever() -> None:
    threading.Event().wait()  # until Ctrl-C or SIGTERM unwinds


def _start(args: argparse.Namespace) -> int:
    from projectapi.farm.connection import import_ray
    from projectapi.farm.ray_node import RayNode, ensure_token, head_arguments

    import_ray()
    ensure_token()
    address = f"{args.node_ip}:{args.port}"
    with RayNode([*head_arguments(args.port), *_settings(args).arguments()]) as node:
        print(
            f"ready: farm head at {address} (session {node.session}); token auth is on: print "
            f"the token with `ray get-auth-token` and give it to each joining machine as "
            f"RAY_AUTH_TOKEN or in ~/.ray/auth_token",
            file=sys.stderr,
            flush=True,
        )
        _wait_forever()
    return 0


def _join(args: argparse.Namespace) -> int:
    from projectapi.farm.connection import import_ray
    from projectapi.farm.join import serve_boards

    import_ray()

    def ready(node: Any, units: list[str]) -> None:
        print(
            f"ready: node joined {args.address} (session {node.session}) with boards "
            f"{', '.join(units)}",
            file=sys.stderr,
            flush=True,
        )

    serve_boards(args.address, args.inventory, _settings(args), args.failure_limit, ready)
    return 0


def _status(args: argparse.Namespace) -> int:
    from projectapi.farm.connection import connected
    from projectapi.farm.status import farm_status

    with connected(args.address) as ray:
        result = farm_status(ray)

    def text() -> None:
        nodes = [
            [n["node"][:12], n["host"], "head" if n["head"] else "", f"{n['cpus']:g}",
             ", ".join(f"{k} x{v}" for k, v in n["boards"].items()) or "-"]
            for n in result["nodes"]
        ]  # fmt: skip
        print(output.table(["node", "host", "role", "cpus", "boards"], nodes))
        print()
        boards = [
            [b["name"], b["kind"], b["node"][:12], b["state"], str(b["done"]), str(b["failed"]),
             ",".join(b["labels"]) or "-"]
            for b in result["boards"]
        ]  # fmt: skip
        headers = ["board", "kind", "node", "state", "done", "failed", "labels"]
        print(output.table(headers, boards) if boards else "no boards have joined")

    output.emit(args, result, text)
    return 0
