"""examples/noise/ end to end: the synthetic array made by make_array.py, correlated by
seisbatch.correlate with examples/noise/noise.toml, and the notebook's moveout cells run on
the result. Physical check: a noise field from every azimuth at 3 km/s gives each of the 15
pairs peaks at +-distance / 3 km/s (both sides within 1.5 samples at 5 Hz)."""

import importlib.util
import json

import pytest

import seisbatch
from conftest import ROOT

pytest.importorskip("obspy")


def test_the_array_correlates_to_its_moveout(tmp_path, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    spec = importlib.util.spec_from_file_location(
        "make_array", ROOT / "examples" / "noise" / "make_array.py")
    make_array = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_array)
    make_array.main(str(tmp_path))
    summary = seisbatch.correlate(ROOT / "examples" / "noise" / "noise.toml", tmp_path / "cc",
                                  input=tmp_path / "archive",
                                  inventory=tmp_path / "stations.xml")
    assert summary["chunks"] == 2 and summary["correlations"] == 30, summary
    assert summary["stacks"]["stacks"] == 15, summary
    monkeypatch.setenv("SEISBATCH_NOISE_CC", str(tmp_path / "cc"))
    nb = json.loads((ROOT / "examples" / "noise" / "moveout.ipynb").read_text())
    scope = {"__name__": "__notebook__"}
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            exec(compile("".join(c["source"]), "moveout", "exec"), scope)
    assert len(scope["pairs"]) == 15
    assert scope["misfit"] < 0.3, scope["misfit"]
