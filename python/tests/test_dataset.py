"""process_dataset and process_pairs (issue #29): pyasdf's per-station user function, after
the engine's steps, in spawned worker processes; outputs read back with pyasdf."""

import shutil

import numpy as np
import pytest

import seisbatch
from conftest import FIXTURES, rel_l2

obspy = pytest.importorskip("obspy")
pyasdf = pytest.importorskip("pyasdf")
import userfuncs  # noqa: E402

EVENT = FIXTURES / "asdf" / "event_2014-01-01.h5"
TWO = FIXTURES / "asdf" / "two_events.h5"
DEMEAN = seisbatch.Pipeline([{"op": "detrend", "type": "demean"}])


def waveforms(path, station, tag="processed"):
    with pyasdf.ASDFDataSet(str(path), mode="r") as ds:
        if station not in ds.waveforms.list():
            return None
        sta = ds.waveforms[station]
        return sta[tag] if tag in sta.get_waveform_tags() else None


def test_steps_on_the_engine_then_the_function_in_workers(tmp_path):
    out = tmp_path / "out"
    r = seisbatch.process_dataset(EVENT, out, function=userfuncs.double, pipeline=DEMEAN,
                                  workers=2, tag="raw_recording", progress=False)
    assert r["exit_code"] == 0, r
    got = waveforms(out / "event_2014-01-01" / "event_2014-01-01.h5", "GR.FUR")
    with pyasdf.ASDFDataSet(str(EVENT), mode="r") as ds:
        raw = ds.waveforms["GR.FUR"]["raw_recording"]
    assert len(got) == 3
    for tr in raw:
        want = tr.copy()
        want.detrend("demean")
        want.data = want.data * 2.0
        g = got.select(id=tr.id)[0]
        assert g.stats.starttime == tr.stats.starttime
        assert rel_l2(g.data, want.data) < 1e-6, tr.id


def test_a_function_that_raises_fails_its_station_only(tmp_path):
    out = tmp_path / "out"
    r = seisbatch.process_dataset(TWO, out, function=userfuncs.raise_for_wet, workers=2,
                                  progress=False)
    assert r["exit_code"] == 3
    assert [f["id"] for f in r["failures"]] == ["GR.WET"]
    assert r["failures"][0]["reason"] == "function: ValueError: no good: GR.WET..HHZ"
    h5 = out / "two_events" / "two_events.h5"
    assert waveforms(h5, "GR.FUR") is not None and waveforms(h5, "GR.WET") is None
    # Resumed: the station that failed is tried again (and fails again); FUR is not redone.
    r = seisbatch.process_dataset(TWO, out, function=userfuncs.raise_for_wet, workers=1,
                                  progress=False, resume=True)
    assert [f["id"] for f in r["failures"]] == ["GR.WET"]


def test_none_writes_nothing_and_the_station_is_done(tmp_path):
    out = tmp_path / "out"
    r = seisbatch.process_dataset(TWO, out, function=userfuncs.nothing_for_wet,
                                  progress=False, format="sac")
    assert r["exit_code"] == 0, r
    names = sorted(p.name for p in (out / "two_events").iterdir())
    assert names == ["GR.FUR..HHZ__20140101T000000Z__20140101T000159Z.sac"]
    r = seisbatch.process_dataset(TWO, out, function=userfuncs.nothing_for_wet,
                                  progress=False, format="sac", resume=True)
    assert r["exit_code"] == 0 and r["ok"] == 1, r
    # Another function is another run: resume refuses it.
    with pytest.raises(ValueError, match="the function"):
        seisbatch.process_dataset(TWO, out, function=userfuncs.double, progress=False,
                                  format="sac", resume=True)


def test_a_function_may_change_the_length_and_the_inventory_is_the_stations(tmp_path):
    out = tmp_path / "short"
    r = seisbatch.process_dataset(EVENT, out, function=userfuncs.shorten, tag="raw_recording",
                                  progress=False)
    assert r["exit_code"] == 0, r
    got = waveforms(out / "event_2014-01-01" / "event_2014-01-01.h5", "GR.FUR")
    assert sorted(len(t) for t in got) == [118000] * 3  # 1199.99 s - 20 s at 100 Hz, both ends kept
    out = tmp_path / "lat"
    r = seisbatch.process_dataset(EVENT, out, function=userfuncs.station_latitude,
                                  tag="raw_recording", progress=False)
    assert r["exit_code"] == 0, r
    got = waveforms(out / "event_2014-01-01" / "event_2014-01-01.h5", "GR.FUR")
    inv = obspy.read_inventory(str(FIXTURES.parent.parent / "examples" / "data" /
                                   "event_2014-01-01" / "resp" / "GR.FUR.xml"))
    assert np.allclose(got[0].data, inv[0][0].latitude)


def test_process_pairs_gathers_results_by_station(tmp_path):
    b = tmp_path / "b"
    b.mkdir()
    shutil.copy(EVENT, b / "copy.h5")
    res = seisbatch.process_pairs(EVENT, b, userfuncs.difference, workers=2,
                                  tag="raw_recording")
    assert res == {"GR.FUR": (0.0, True)} and res.failures == {}
    # Against the float64 file: the same counts, its first two minutes.
    res = seisbatch.process_pairs(EVENT, TWO, userfuncs.difference, tag="raw_recording")
    assert res == {"GR.FUR": (0.0, True)}
    res = seisbatch.process_pairs(EVENT, b, userfuncs.raise_always)
    assert res == {} and res.failures == {"GR.FUR": "KeyError: 'nope'"}


def test_a_pair_whose_worker_dies_fails_alone(tmp_path):
    b = tmp_path / "b"
    b.mkdir()
    shutil.copy(TWO, b / "copy.h5")
    # workers=1: GR.FUR (first in order) kills the only worker; GR.WET must run on the
    # replacement, not fail with the broken pool.
    res = seisbatch.process_pairs(TWO, b, userfuncs.die_for_fur_pair, workers=1)
    assert res == {"GR.WET": "WET"}
    assert list(res.failures) == ["GR.FUR"] and "worker process died" in res.failures["GR.FUR"]


def test_shards_split_one_data_set_by_station(tmp_path):
    """pyasdf's project is one file: shards take its stations, each writing its own ASDF file
    (NAME.K-of-N.h5, as --layout dataset's), together every station once, as one run's."""
    whole = tmp_path / "whole"
    r = seisbatch.process_dataset(TWO, whole, function=userfuncs.double, pipeline=DEMEAN,
                                  workers=1, progress=False)
    assert r["exit_code"] == 0, r
    one = whole / "two_events" / "two_events.h5"
    out = tmp_path / "sharded"
    seen = []
    for k in range(2):
        r = seisbatch.process_dataset(TWO, out, function=userfuncs.double, pipeline=DEMEAN,
                                      workers=1, shard=(k, 2), progress=False)
        assert r["exit_code"] == 0, r
        f = out / "two_events" / f"two_events.{k}-of-2.h5"
        with pyasdf.ASDFDataSet(str(f), mode="r") as ds:
            stations = ds.waveforms.list()
        assert len(stations) == 1, (k, stations)
        for s in stations:
            got, want = waveforms(f, s), waveforms(one, s)
            assert len(got) == len(want) > 0
            for a, b in zip(sorted(got, key=lambda t: t.id), sorted(want, key=lambda t: t.id)):
                assert a.stats.starttime == b.stats.starttime
                np.testing.assert_array_equal(a.data, b.data)
        seen += stations
    with pyasdf.ASDFDataSet(str(one), mode="r") as ds:
        assert sorted(seen) == sorted(ds.waveforms.list()) == ["GR.FUR", "GR.WET"]


def test_a_worker_that_dies_fails_its_station_and_the_run_goes_on(tmp_path):
    out = tmp_path / "out"
    # jobs=1: one writer thread, so the stations reach the pool one after the other.
    r = seisbatch.process_dataset(TWO, out, function=userfuncs.die_for_wet, workers=1, jobs=1,
                                  progress=False, format="sac")
    assert r["exit_code"] == 3, r
    assert [f["id"] for f in r["failures"]] == ["GR.WET"]
    assert "worker process died" in r["failures"][0]["reason"]
    assert r["ok"] == 1
    # The pool was replaced: a later run in this process works.
    r = seisbatch.process_dataset(TWO, tmp_path / "again", function=userfuncs.double,
                                  workers=1, progress=False, format="sac")
    assert r["exit_code"] == 0, r


def test_a_massdownloader_tree_station_by_station(tmp_path):
    """Not only ASDF: an event tree's station (its components' files of one time, as pyasdf's
    unit) reaches the function as one stream, with its resp/ StationXML."""
    out = tmp_path / "out"
    r = seisbatch.process_dataset(FIXTURES.parent.parent / "examples" / "data", out,
                                  function=userfuncs.station_latitude, pipeline=DEMEAN,
                                  workers=2, format="sac", progress=False)
    assert r["exit_code"] == 0, r
    files = sorted((out / "event_2014-01-01").iterdir())
    assert len(files) == 1, files  # the function returned one trace for the station
    tr = obspy.read(str(files[0]))[0]
    assert len(tr) == 10 and np.allclose(tr.data, 48.1629, atol=1e-4), files[0].name


def test_archive_windows_station_by_station_and_resume_writes_nothing_twice(tmp_path):
    """An archive's windows: a station's three channels in a window are one call; a resumed
    run after the first window redoes only the second, and nothing is written twice."""
    archive = FIXTURES / "archive" / "sds"
    out = tmp_path / "out"
    r = seisbatch.process_dataset(archive, out, function=userfuncs.component_count, workers=1,
                                  window="2020-01-01T23:40:00/2020-01-02T00:40:00",
                                  format="sac", progress=False)
    assert r["exit_code"] == 0, r
    files = sorted(out.rglob("*.sac"))
    assert len(files) == 1, files
    # The three channels together: HHE, HHZ, and HHN in two pieces (the fixture's gap).
    assert np.all(obspy.read(str(files[0]))[0].data == 4.0)
    # Windows of 30 min over the same hour: the first done, then a resume of both.
    out2 = tmp_path / "out2"
    kw = dict(function=userfuncs.component_count, workers=1, segment=1800,
              start="2020-01-01T23:40:00", end="2020-01-02T00:40:00", format="sac",
              progress=False)
    r = seisbatch.process_dataset(archive, out2, **kw)
    assert r["exit_code"] == 0, r
    first = {f.relative_to(out2): f.read_bytes() for f in out2.rglob("*.sac")}
    assert len(first) == 2, sorted(first)
    r = seisbatch.process_dataset(archive, out2, resume=True, **kw)
    assert r["exit_code"] == 0, r
    assert {f.relative_to(out2): f.read_bytes() for f in out2.rglob("*.sac")} == first


def test_shards_as_dask_tasks(tmp_path):
    """Dask: one task per shard (threads here; with process workers, give each a shard and
    run its pool outside daemonic processes), together the whole data set."""
    bag = pytest.importorskip("dask.bag")
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(EVENT, src / "a.h5")
    shutil.copy(TWO, src / "b.h5")

    def one(k):
        r = seisbatch.process_dataset(src, tmp_path / f"s{k}", function=userfuncs.double,
                                      workers=1, shard=(k, 2), progress=False,
                                      tag="raw_recording")
        return r["exit_code"], r["ok"]

    got = bag.from_sequence(range(2), npartitions=2).map(one).compute(scheduler="threads")
    assert [c for c, _ in got] == [0, 0] and sum(n for _, n in got) == 3 + 2, got


def test_process_pairs_over_event_trees(tmp_path):
    """Two MassDownloader trees: the same station of the same event, with its resp/ XML."""
    tree = FIXTURES.parent.parent / "examples" / "data"
    b = tmp_path / "b"
    shutil.copytree(tree, b)
    res = seisbatch.process_pairs(tree, b, userfuncs.difference, workers=2)
    assert res == {"event_2014-01-01/GR.FUR": (0.0, True)}, (res, res.failures)


def test_process_pairs_over_archive_windows(tmp_path):
    """Two archives, one day window at a time: each station's channels in the window, joined
    across day files and cut as ObsPy's merge(-1) + trim(START, END) gives them; a window one
    archive has no data of is a named failure."""
    qc = FIXTURES / "qc"
    b = tmp_path / "b"
    shutil.copytree(qc / "sds", b)
    # b lacks LHZ's second day.
    (b / "2020" / "GR" / "FUR" / "LHZ.D" / "GR.FUR..LHZ.D.2020.002").unlink()
    res = seisbatch.process_pairs(qc / "sds", b, userfuncs.samples_by_channel, workers=2,
                                  segment=86400, inventory=qc / "GR.FUR.xml")
    assert res.failures == {}
    day1, day2 = sorted(res)
    assert day1.endswith("/GR.FUR") and day1.startswith("20200101T000000Z")
    files = sorted((qc / "sds").rglob("GR.FUR..LH?.D.2020.00?"))
    st = obspy.Stream()
    for f in files:
        st += obspy.read(str(f))
    st.merge(-1)
    for key in (day1, day2):
        t0 = obspy.UTCDateTime(key[:16])
        want = {}
        for tr in st.slice(t0, t0 + 86400):
            want[tr.id] = want.get(tr.id, 0) + len(tr)
        a, bb, has_inv = res[key]
        assert a == want, key
        assert has_inv
    # b's LHZ on day 2: only the 30 s its day-1 file runs past midnight (read from the day
    # before's file, as ObsPy's SDS client would).
    assert res[day1][1] == res[day1][0] and res[day2][1]["GR.FUR..LHZ"] == 30
    # A catalog instead of a folder; a window only a has data in.
    cat = tmp_path / "a.parquet"
    seisbatch.index(qc / "sds", cat)
    empty = tmp_path / "empty"
    shutil.copytree(b, empty)
    for f in sorted(empty.rglob("*.2020.002")):
        f.unlink()
    res = seisbatch.process_pairs(cat, empty, userfuncs.samples_by_channel, workers=1,
                                  window="2020-01-02T06:00:00/2020-01-02T07:00:00")
    assert res == {}
    assert list(res.failures.values()) == ["no data of GR.FUR in b here"]
