"""Shared paths and helpers for the Python tests (run by .ci/run after the cargo tests)."""

import os
import pathlib
import shutil

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def rel_l2(got, want):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    den = np.linalg.norm(want)
    num = np.linalg.norm(got - want)
    return num if den == 0 else num / den


def gpu_required():
    """CI installs lavapipe: there the GPU tests must run; elsewhere no adapter skips them."""
    return os.environ.get("CI") == "true"


@pytest.fixture(scope="session")
def gpu_device():
    import seisbatch
    try:
        if seisbatch.adapter("gpu") is not None:
            return "gpu"
    except RuntimeError:
        pass
    if gpu_required():
        raise AssertionError("CI has lavapipe: a GPU adapter must be found")
    pytest.skip("no GPU adapter")


def cli_binary():
    """The CLI the cargo tests built (CI runs them first), or $SEISBATCH_BIN."""
    for p in [os.environ.get("SEISBATCH_BIN"), ROOT / "target" / "debug" / "seisbatch",
              ROOT / "target" / "release" / "seisbatch", shutil.which("seisbatch")]:
        if p and pathlib.Path(p).is_file():
            return str(p)
    if os.environ.get("CI") == "true":
        raise AssertionError("CI builds the CLI before the Python tests")
    pytest.skip("no seisbatch CLI binary built")
