"""seisbatch.qc (issue #30) against ObsPy 1.5.1's PPSD computed here, live, on the QC fixture
(tests/fixtures/qc, make_qc.py): the same segments, histogram and curves."""

import json
import pathlib

import numpy as np
import pytest

import seisbatch

obspy = pytest.importorskip("obspy")

FIXTURE = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "qc"


def test_qc_equals_obspys_ppsd(tmp_path):
    from obspy.signal import PPSD
    out = tmp_path / "qc"
    r = seisbatch.qc(FIXTURE / "sds", out, inventory=FIXTURE / "GR.FUR.xml")
    assert (r["channels"], r["channel_days"], r["dead_channel_days"]) == (3, 6, 1)
    assert pathlib.Path(r["report"]).is_file()
    inv = obspy.read_inventory(str(FIXTURE / "GR.FUR.xml"))
    st = obspy.Stream()
    for f in sorted((FIXTURE / "sds" / "2020" / "GR" / "FUR" / "LHZ.D").iterdir()):
        st += obspy.read(str(f))
    ppsd = PPSD(st[0].stats, metadata=inv)
    ppsd.add(st)
    ours = json.loads((out / "ppsd" / "GR.FUR..LHZ.json").read_text())
    assert ours["segments"] == len(ppsd.times_processed)
    assert np.allclose(ours["period_bin_centers"], ppsd.period_bin_centers, rtol=1e-12)
    assert np.array_equal(np.array(ours["histogram"]), ppsd.current_histogram)
    assert np.abs(np.array(ours["mode"]) - ppsd.get_mode()[1]).max() <= 1.0
    assert np.abs(np.array(ours["mean"]) - ppsd.get_mean()[1]).max() <= 1.0
    # The metrics table loads as a seismologist would load it.
    import csv
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    dead = [(r["channel"], r["day"]) for r in rows if r["dead_channel_gsn"] == "1"]
    assert dead == [("LHN", "2020-01-02")]


def test_qc_refuses_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "mine.txt").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        seisbatch.qc(FIXTURE / "sds", tmp_path)
