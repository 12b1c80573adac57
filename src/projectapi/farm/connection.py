"""Reaching a farm: Ray imported only here (an optional extra), token authentication always on.

Every process of a farm needs the cluster's token: ``RAY_AUTH_TOKEN``, the file named by
``RAY_AUTH_TOKEN_PATH``, or ``~/.ray/auth_token`` (Ray's own lookup order). A wrong or missing
token, an address nobody answers at and a missing Ray each become one FarmError.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Iterator
from types import ModuleType

from projectapi.farm.errors import FarmError

NAMESPACE = "projectapi-farm"
INSTALL_HINT = "pip install 'projectapi[farm]'"
TOKEN_HINT = (
    "give the farm's token as RAY_AUTH_TOKEN or in ~/.ray/auth_token (print it on the head "
    "machine with `ray get-auth-token`)"
)
_REACH_SECONDS = 5.0


def import_ray() -> ModuleType:
    """The ``ray`` module (token authentication on: Ray reads the mode as it loads), or a
    FarmError saying how to install it."""
    require_token_auth()
    try:
        import ray
    except ImportError:
        raise FarmError(
            f"the board farm needs Ray, which is not installed: {INSTALL_HINT}"
        ) from None
    return ray


def require_token_auth() -> None:
    """Token authentication on for this process and every process it starts."""
    os.environ["RAY_AUTH_MODE"] = "token"


def split_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` checked; a FarmError names the address otherwise."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise FarmError(f"farm address {address!r} is not HOST:PORT (e.g. 127.0.0.1:6379)")
    return host, int(port)


def check_reachable(address: str) -> None:
    """Fail at once, naming ``address``, when nothing listens there."""
    host, port = split_address(address)
    try:
        socket.create_connection((host, port), timeout=_REACH_SECONDS).close()
    except OSError as error:
        raise FarmError(
            f"cannot reach the farm at {address} ({error.strerror or error}): is `projectapi "
            f"farm start` running there, and is the address right?"
        ) from None


def check_token(ray: ModuleType, address: str) -> None:
    """Fail at once when the farm refuses this machine's token (``ray.init`` would retry for
    20 s, then report only a failed connection). Uses Ray 2.60's GCS client, as ``ray.init``
    does."""
    try:
        ray._raylet.GcsClient(address=address)
    except ray.exceptions.AuthenticationError:
        raise FarmError(
            f"the farm at {address} refused this machine's token: {TOKEN_HINT}"
        ) from None


def check_farm(address: str) -> ModuleType:
    """``ray``, once the farm at ``address`` answers and accepts this machine's token."""
    ray = import_ray()
    check_reachable(address)
    check_token(ray, address)
    return ray


@contextlib.contextmanager
def connected(address: str) -> Iterator[ModuleType]:
    """This process attached to the farm at ``address`` as a Ray driver, for the block (its
    stdout goes to stderr meanwhile)."""
    ray = check_farm(address)
    # Ray prints the cluster's events (a retried task, a node that died...) on stdout from a
    # thread of its own, until it shuts down: stderr takes them, stdout stays the command's
    # (its --json envelope).
    with contextlib.redirect_stdout(sys.stderr):
        try:
            ray.init(
                address=address,
                namespace=NAMESPACE,
                logging_level="ERROR",
                log_to_driver=False,
            )
        except (ConnectionError, RuntimeError) as error:
            raise FarmError(f"cannot join the farm at {address}: {error}") from error
        try:
            yield ray
        finally:
            ray.shutdown()
