"""The pytest plugin as a user meets it: a user-style test file run by pytest (in a subprocess,
the plugin loaded from its entry point) against the host template and a QEMU board."""

from __future__ import annotations

import pytest
from support.data import data_path

pytest_plugins = ("pytester",)

QNN = "qnn_dense_int8_aot_c"
USER_TEST = f'''
import numpy as np

INPUT = np.load({str(data_path("mlf", QNN + ".input.npy"))!r})
OUTPUT = np.load({str(data_path("mlf", QNN + ".output.npy"))!r})


def test_model_matches_reference(projectapi_session, projectapi_model):
    assert [t.name for t in projectapi_model.outputs] == ["output"]
    with projectapi_session.create_aot_executor() as executor:
        executor.set_input(0, INPUT)
        executor.run()
        np.testing.assert_array_equal(executor.get_output(0).reshape(OUTPUT.shape), OUTPUT)


def test_a_wrong_expectation_fails(projectapi_session):
    with projectapi_session.create_aot_executor() as executor:
        executor.set_input(0, INPUT)
        executor.run()
        np.testing.assert_array_equal(executor.get_output(0).reshape(OUTPUT.shape), -OUTPUT)
'''


def run_user_tests(pytester: pytest.Pytester, *options: str) -> pytest.RunResult:
    pytester.makeini("[pytest]\n")  # the user's project, not this repository's settings
    pytester.makepyfile(test_user=USER_TEST)
    return pytester.runpytest_subprocess(
        "--projectapi-model", str(data_path("mlf", QNN + ".tar")), *options, "-p",
        "no:cacheprovider",
    )


@pytest.mark.slow
def test_plugin_on_the_host_template(pytester: pytest.Pytester) -> None:
    result = run_user_tests(pytester, "--projectapi-template", "host")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*_ test_a_wrong_expectation_fails _*", "*Mismatched elements*"])


@pytest.mark.slow
def test_plugin_on_a_qemu_board_over_its_serial_port(pytester: pytest.Pytester) -> None:
    result = run_user_tests(pytester, "--projectapi-template", "qemu",
                            "--projectapi-board", "microbit", "--projectapi-option", "uart=pty")
    result.assert_outcomes(passed=1, failed=1)


def test_plugin_names_the_missing_options(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_user="def test_x(projectapi_project):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*need --projectapi-template and --projectapi-model*"])


def test_plugin_refuses_an_unknown_option(pytester: pytest.Pytester) -> None:
    result = run_user_tests(pytester, "--projectapi-template", "host",
                            "--projectapi-option", "colour=blue")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*unknown option 'colour'*"])
