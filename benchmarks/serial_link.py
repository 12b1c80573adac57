"""The serial transport's own cost: one write and one read of a small packet over a
pseudo-terminal, through ``SerialTransport`` (pyserial opens and configures the port) and through
a bare ``FdTransport`` on a raw pty pair (the floor), side by side as a ratio.

Each call gets a different timeout, as a session's shrinking deadlines do. The other end is
this process (no emulator), so the table shows the host's per-call overhead and nothing else.
Run: ``.venv/bin/python benchmarks/serial_link.py [--rounds N] [--bytes B]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
import tty
from collections.abc import Callable, Iterator

from microtvm_kit.serial_transport import SerialTransport
from microtvm_kit.transport import FdTransport, Transport

_REPEATS = 5  # timed loops per link, alternating; the median is reported


@contextlib.contextmanager
def serial_link() -> Iterator[tuple[Transport, int]]:
    """A SerialTransport on a pty's slave end, and the master end (the 'device')."""
    master, slave = os.openpty()
    transport = SerialTransport(os.ttyname(slave))
    os.close(slave)
    transport.open()
    try:
        yield transport, master
    finally:
        transport.close()
        os.close(master)


@contextlib.contextmanager
def raw_link() -> Iterator[tuple[Transport, int]]:
    """An FdTransport on a raw, non-blocking pty slave, and the master end."""
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(slave, False)
    try:
        yield FdTransport(slave, slave), master
    finally:
        os.close(slave)
        os.close(master)


def round_trip_us(link: Callable, rounds: int, size: int) -> float:
    """Microseconds per write-then-read round of ``size`` bytes each way."""
    packet = b"x" * size
    with link() as (transport, device):
        start = time.perf_counter()
        for index in range(rounds):
            timeout = 5.0 - index * 1e-6
            transport.write(packet, timeout)
            os.read(device, size)
            os.write(device, packet)
            got = 0
            while got < size:
                got += len(transport.read(size - got, timeout))
        return (time.perf_counter() - start) / rounds * 1e6


def main() -> None:
    """Time both links and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2000, help="rounds per timed loop")
    parser.add_argument("--bytes", type=int, default=24, help="packet size each way")
    args = parser.parse_args()
    times: dict[str, list[float]] = {"serial": [], "raw": []}
    for _ in range(_REPEATS):
        times["serial"].append(round_trip_us(serial_link, args.rounds, args.bytes))
        times["raw"].append(round_trip_us(raw_link, args.rounds, args.bytes))
    serial, raw = statistics.median(times["serial"]), statistics.median(times["raw"])
    print(f"{'link':<28}{'us/round':>10}")
    print(f"{'SerialTransport (pyserial)':<28}{serial:>10.1f}")
    print(f"{'FdTransport (raw pty)':<28}{raw:>10.1f}")
    print(f"serial/raw {serial / raw:.2f}  ({args.rounds} rounds of {args.bytes} bytes each way, "
          f"median of {_REPEATS} alternating loops)")


if __name__ == "__main__":
    main()
