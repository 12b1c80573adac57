"""``projectapi run --expect OUT.npy|OUT.npz [--rtol R --atol A]`` and ``--junit-xml FILE``:
outputs compared with expected arrays (exit status 1 on a mismatch) and the result written as a
JUnit XML report, for CI systems. Comparison and report are pure; the command wires them in."""

from __future__ import annotations

import argparse
import contextlib
import pathlib
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from projectapi.errors import ProjectAPIError

DEFAULT_RTOL, DEFAULT_ATOL = 1e-5, 1e-6


class ExpectError(ProjectAPIError):
    """The expected outputs cannot be read or do not name the model's outputs."""


@dataclass(frozen=True)
class Mismatch:
    """One output that differs from what was expected."""

    output: str
    text: str


def load_expected(path: pathlib.Path, output_names: list[str]) -> dict[str, np.ndarray]:
    """Expected arrays by output name: one ``.npy`` for a one-output model, or a ``.npz`` with
    the outputs' names as keys (or ``arr_0``, ``arr_1``... in output order)."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise ExpectError(f"cannot read expected outputs from {path}: {error}") from None
    if isinstance(loaded, np.ndarray):
        if len(output_names) != 1:
            raise ExpectError(
                f"the model has {len(output_names)} outputs ({', '.join(output_names)}); "
                "give their expected values as one .npz"
            )
        return {output_names[0]: loaded}
    with loaded:
        keys = list(loaded.keys())
        if set(keys) == {f"arr_{i}" for i in range(len(output_names))}:
            return {name: loaded[f"arr_{i}"] for i, name in enumerate(output_names)}
        if set(keys) != set(output_names):
            raise ExpectError(
                f"{path} holds {', '.join(sorted(keys))}; the model's outputs are "
                f"{', '.join(output_names)}"
            )
        return {name: loaded[name] for name in output_names}


def compare(
    outputs: Mapping[str, np.ndarray],
    expected: Mapping[str, np.ndarray],
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
) -> list[Mismatch]:
    """The outputs that differ from ``expected`` beyond |got - want| <= atol + rtol * |want|."""
    mismatches = []
    for name, want in expected.items():
        got = outputs[name]
        if got.size != want.size:
            mismatches.append(Mismatch(name, f"{got.size} values, expected {want.size}"))
            continue
        got64 = got.reshape(-1).astype(np.float64)
        want64 = want.reshape(-1).astype(np.float64)
        bad = ~np.isclose(got64, want64, rtol=rtol, atol=atol)
        if bad.any():
            worst = int(np.argmax(np.abs(got64 - want64)))
            mismatches.append(
                Mismatch(
                    name,
                    (
                        f"{int(bad.sum())} of {got.size} values differ (rtol {rtol:g}, atol {atol:g}); "
                        f"largest at [{worst}]: got {got64[worst]:.9g}, expected {want64[worst]:.9g}"
                    ),
                )
            )
    return mismatches


def junit_xml(name: str, seconds: float, mismatches: list[Mismatch], error: str | None) -> str:
    """A JUnit XML report of one test case: passed, failed (mismatches) or error."""
    suite = ET.Element(
        "testsuite",
        name="projectapi run",
        tests="1",
        failures=str(int(bool(mismatches))),
        errors=str(int(error is not None)),
        time=f"{seconds:.3f}",
    )
    case = ET.SubElement(
        suite, "testcase", classname="projectapi.run", name=name, time=f"{seconds:.3f}"
    )
    if error is not None:
        ET.SubElement(case, "error", message=error).text = error
    elif mismatches:
        text = "\n".join(f"output {m.output}: {m.text}" for m in mismatches)
        ET.SubElement(case, "failure", message=f"{len(mismatches)} output(s) differ").text = text
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def add_arguments(run: argparse.ArgumentParser) -> None:
    """Add --expect, --rtol, --atol and --junit-xml to ``run``."""
    run.add_argument(
        "--expect",
        type=pathlib.Path,
        metavar="OUT.npy|OUT.npz",
        help="compare the outputs with these arrays; exit status 1 if they differ",
    )
    run.add_argument(
        "--rtol",
        type=float,
        default=DEFAULT_RTOL,
        help=f"relative tolerance of --expect (default {DEFAULT_RTOL:g})",
    )
    run.add_argument(
        "--atol",
        type=float,
        default=DEFAULT_ATOL,
        help=f"absolute tolerance of --expect (default {DEFAULT_ATOL:g})",
    )
    run.add_argument(
        "--junit-xml",
        type=pathlib.Path,
        metavar="FILE",
        help="write the result (pass, mismatch or error) as a JUnit XML report",
    )


@contextlib.contextmanager
def reported(args: argparse.Namespace) -> Iterator[list[Mismatch]]:
    """Around a run: yields the list the run fills with mismatches; writes --junit-xml at the
    end, an error included (which is then raised on)."""
    mismatches: list[Mismatch] = []
    started = time.monotonic()
    error = None
    try:
        yield mismatches
    except ProjectAPIError as caught:
        error = str(caught)
        raise
    finally:
        if args.junit_xml is not None:
            name = pathlib.Path(args.project_dir).name
            args.junit_xml.write_text(
                junit_xml(name, time.monotonic() - started, mismatches, error)
            )


def check(
    args: argparse.Namespace, outputs: Mapping[str, np.ndarray], mismatches: list[Mismatch]
) -> int:
    """With --expect: compare, say MATCH or each mismatch, return the exit status."""
    if args.expect is None:
        return 0
    expected = load_expected(args.expect, list(outputs))
    mismatches += compare(outputs, expected, args.rtol, args.atol)
    for mismatch in mismatches:
        print(f"MISMATCH output {mismatch.output}: {mismatch.text}")
    if not mismatches:
        print(f"MATCH: outputs equal {args.expect} (rtol {args.rtol:g}, atol {args.atol:g})")
    return 1 if mismatches else 0
