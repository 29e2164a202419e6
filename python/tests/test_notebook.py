"""examples/notebook.ipynb runs top to bottom (plots to a file-less backend)."""

import json

import pytest

from conftest import ROOT


def test_notebook_cells_run(tmp_path, monkeypatch):
    pytest.importorskip("obspy")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    nb = json.loads((ROOT / "examples" / "notebook.ipynb").read_text())
    assert nb["nbformat"] == 4
    monkeypatch.chdir(ROOT)
    scope = {"__name__": "__notebook__"}
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(cells) >= 4
    for c in cells:
        exec(compile("".join(c["source"]), "notebook", "exec"), scope)
    # The notebook's own check: seisbatch's result against ObsPy's.
    assert scope["worst"] < 1e-6
