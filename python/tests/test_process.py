"""Pipeline.process against ObsPy 1.5.1: the committed golden cases (ObsPy's outputs on its own
test data, tests/fixtures/golden) and both reference chains computed live by ObsPy."""

import json
import threading

import numpy as np
import pytest

import seisbatch
from conftest import FIXTURES, rel_l2

obspy = pytest.importorskip("obspy")

CASES = json.loads((FIXTURES / "golden" / "cases.json").read_text())
# Trim bounds relative to an origin need an event, which process() is not given.
CASES = [c for c in CASES if "origin" not in c["toml"]]


def golden(name):
    return np.fromfile(FIXTURES / "golden" / (name + ".f64"), dtype="<f8")


def case_input(c):
    st = obspy.read(str(FIXTURES / "data" / c["mseed"]))
    return obspy.Stream([st[c["trace"]]]), str(FIXTURES / "data" / c["xml"]) if c.get("xml") else None


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_case_on_the_cpu(case):
    st, xml = case_input(case)
    p = seisbatch.Pipeline.from_toml(case["toml"])
    out = p.process(st, inventory=xml, device="cpu")
    assert out.failures == []
    (tr,) = out
    assert tr.stats.npts == case["npts"]
    assert tr.stats.starttime.ns == case["start_ns"]
    assert tr.stats.sampling_rate == case["sampling_rate"]
    assert rel_l2(tr.data, golden(case["name"])) < 1e-6


def reference_chains():
    """The forum chain and the velocity chain of examples/, as ObsPy runs them."""
    forum = [
        {"op": "detrend", "type": "demean"},
        {"op": "taper", "max_percentage": 0.05, "type": "hann"},
        {"op": "remove_response", "output": "DISP", "pre_filt": [0.001, 0.005, 4.9, 5.0],
         "water_level": 0.0, "zero_mean": False, "taper": False},
    ]

    def forum_obspy(tr, inv):
        tr.detrend("demean")
        tr.taper(0.05, type="hann")
        tr.remove_response(inv, output="DISP", pre_filt=[0.001, 0.005, 4.9, 5.0],
                           water_level=0.0, zero_mean=False, taper=False)

    velocity = [
        {"op": "detrend", "type": "linear"},
        {"op": "taper", "max_percentage": 0.05},
        {"op": "remove_response", "output": "VEL", "pre_filt": [0.005, 0.01, 4.0, 5.0]},
        {"op": "filter", "type": "bandpass", "freqmin": 0.05, "freqmax": 2.0,
         "zerophase": True},
        {"op": "resample", "sampling_rate": 10.0},
    ]

    def velocity_obspy(tr, inv):
        tr.detrend("linear")
        tr.taper(0.05)
        tr.remove_response(inv, output="VEL", pre_filt=[0.005, 0.01, 4.0, 5.0])
        tr.filter("bandpass", freqmin=0.05, freqmax=2.0, zerophase=True)
        tr.resample(10.0)

    return [("forum", forum, forum_obspy), ("velocity", velocity, velocity_obspy)]


DATA = [("BW.RJOB.mseed", "BW_GR.xml"), ("IM.I59H1..BDF_2020_10_31.mseed",
                                         "IM.I59H1..BDF_2020_10_31.xml")]


def expected(chain_obspy, data, xml):
    st = obspy.read(str(FIXTURES / "data" / data))
    inv = obspy.read_inventory(str(FIXTURES / "data" / xml))
    want = st.copy()
    for tr in want:
        tr.data = tr.data.astype(np.float64)
        chain_obspy(tr, inv)
    return st, inv, want


@pytest.mark.parametrize("data,xml", DATA)
@pytest.mark.parametrize("name,steps,chain_obspy", reference_chains(),
                         ids=["forum", "velocity"])
@pytest.mark.parametrize("device", ["cpu", "gpu"])
def test_reference_chains_equal_obspy(name, steps, chain_obspy, data, xml, device, request):
    if device == "gpu":
        device = request.getfixturevalue("gpu_device")
    st, inv, want = expected(chain_obspy, data, xml)
    before = [tr.data.copy() for tr in st]
    out = seisbatch.Pipeline(steps).process(st, inventory=inv, device=device)
    assert out.failures == []
    assert len(out) == len(want)
    tol = 1e-6 if device == "cpu" else 1e-4
    for got, w in zip(out, want):
        assert got.id == w.id
        assert got.stats.starttime == w.stats.starttime
        assert got.stats.sampling_rate == w.stats.sampling_rate
        assert got.stats.npts == w.stats.npts
        assert rel_l2(got.data, w.data) < tol, (name, got.id)
    # The input stream is left as it was (ObsPy's methods change it in place; process does
    # not).
    for tr, b in zip(st, before):
        assert np.array_equal(tr.data, b)


def test_arrays_and_stats_dicts_without_obspy_objects():
    st, inv, want = expected(reference_chains()[1][2], *DATA[0])
    items = [(np.asarray(tr.data, dtype=np.int32),
              {"network": tr.stats.network, "station": tr.stats.station,
               "location": tr.stats.location, "channel": tr.stats.channel,
               "starttime": str(tr.stats.starttime), "delta": tr.stats.delta})
             for tr in st]
    out = seisbatch.Pipeline(reference_chains()[1][1]).process(
        items, inventory=str(FIXTURES / "data" / DATA[0][1]), device="cpu")
    assert isinstance(out, list) and len(out) == 3
    for (data, stats), w in zip(out, want):
        assert stats["channel"] == w.stats.channel
        assert stats["npts"] == len(data) == w.stats.npts
        assert stats["sampling_rate"] == 10.0
        assert stats["starttime"] == str(w.stats.starttime)
        assert data.dtype == np.float64
        assert rel_l2(data, w.data) < 1e-6


def test_a_trace_without_a_response_is_a_failure_and_strict_raises():
    st, inv, _ = expected(lambda tr, inv: None, *DATA[0])
    st[1].stats.station = "NOPE"
    p = seisbatch.Pipeline(["remove_sensitivity"])
    with pytest.warns(seisbatch.ProcessingWarning, match="1 of 3 trace"):
        out = p.process(st, inventory=inv, device="cpu")
    assert [tr.id for tr in out] == ["BW.RJOB..EHZ", "BW.RJOB..EHE"]
    (f,) = out.failures
    assert f.id == "BW.NOPE..EHN"
    assert f.start == "2009-08-24T00:20:03.000000Z"
    assert "no StationXML" in f.reason
    with pytest.raises(seisbatch.ProcessingError) as e:
        p.process(st, inventory=inv, device="cpu", strict=True)
    assert e.value.failures == [f]


def test_configuration_errors_name_the_step_and_key():
    with pytest.raises(ValueError, match=r"step 2.*taper.*max_percentage"):
        seisbatch.Pipeline([{"op": "detrend"}, {"op": "taper", "max_percentage": "x"}])
    with pytest.raises(ValueError, match=r"unknown op `smooth`"):
        seisbatch.Pipeline([{"op": "smooth"}])
    with pytest.raises(ValueError, match=r"device"):
        seisbatch.Pipeline(["detrend"]).process([], device="tpu")
    # water_level=None is ObsPy's "no water level" (false in the TOML), not the default 60.
    assert "water_level = false" in seisbatch.Pipeline(
        [{"op": "remove_response", "water_level": None}]).toml()


def test_four_threads_at_once_give_the_same_results():
    st, inv, _ = expected(lambda tr, inv: None, *DATA[1])
    p = seisbatch.Pipeline(reference_chains()[1][1])
    one = p.process(st, inventory=inv, device="cpu")
    results = [None] * 4
    errors = []

    def work(i):
        try:
            results[i] = [p.process(st, inventory=inv, device="cpu") for _ in range(3)]
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for per_thread in results:
        for out in per_thread:
            assert [np.array_equal(a.data, b.data) for a, b in zip(out, one)] == [True] * len(one)


def test_plan_and_adapter_are_visible():
    p = seisbatch.Pipeline(reference_chains()[0][1])
    plan = p.plan(72000, 100.0)
    assert [s["op"] for s in plan["stages"]][:2] == ["detrend", "taper"]
    assert plan["output"]["npts"] == 72000
    assert seisbatch.adapter("cpu") is None


def test_rotate_through_process_matches_obspy():
    st = obspy.read(str(FIXTURES / "data" / "BW.RJOB.mseed"))
    want = st.copy()
    for tr in want:
        tr.data = tr.data.astype(np.float64)
    want.rotate("NE->RT", back_azimuth=30.5)
    out = seisbatch.Pipeline([{"op": "rotate", "method": "NE->RT", "back_azimuth": 30.5}]
                             ).process(st, device="cpu")
    assert [tr.stats.channel for tr in out] == ["EHZ", "EHR", "EHT"]
    for got, w in zip(out, want):
        assert got.id == w.id
        assert rel_l2(got.data, w.data) < 1e-12


@pytest.mark.parametrize("device", ["cpu", "gpu"])
def test_receiver_function_chain_with_an_event_equals_obspy(device, request):
    if device == "gpu":
        device = request.getfixturevalue("gpu_device")
    from conftest import ROOT
    raw = sorted((ROOT / "examples" / "data" / "event_2014-01-01" / "raw").glob("*.mseed"))
    st = obspy.Stream()
    for path in raw:
        st += obspy.read(str(path))
    event = {"time": "2014-01-01T00:02:00Z", "latitude": 35.5, "longitude": 139.25,
             "depth_km": 40.0}
    p = seisbatch.Pipeline.from_toml(ROOT / "examples" / "receiver_function.toml")
    xml = ROOT / "examples" / "data" / "event_2014-01-01" / "resp" / "GR.FUR.xml"
    out = p.process(st, inventory=str(xml), device=device, event=event)
    assert out.failures == []
    assert sorted(tr.stats.channel for tr in out) == ["HHR", "HHT", "HHZ"]
    tol = 1e-6 if device == "cpu" else 1e-4
    for tr in out:
        assert str(tr.stats.starttime) == "2014-01-01T00:03:00.000000Z"
        assert rel_l2(tr.data, golden("FUR_%s_receiver_function" % tr.stats.channel)) < tol
    # Without the event the rotate (and the trim) say why.
    with pytest.warns(seisbatch.ProcessingWarning, match="3 of 3 trace"):
        out = p.process(st, inventory=str(xml), device="cpu")
    assert len(out) == 0 and len(out.failures) == 3
    assert any("no back_azimuth given" in f.reason for f in out.failures)


def test_an_obspy_inventory_is_written_once_and_cached(monkeypatch):
    st, inv, _ = expected(lambda tr, inv: None, *DATA[0])
    writes = []
    real = type(inv).write

    def counting(self, *a, **kw):
        writes.append(1)
        return real(self, *a, **kw)

    monkeypatch.setattr(type(inv), "write", counting)
    p = seisbatch.Pipeline(["remove_sensitivity"])
    first = p.process(st, inventory=inv, device="cpu")
    second = p.process(st, inventory=inv, device="cpu")
    assert len(writes) == 1
    assert [a.data.tolist() for a in first] == [b.data.tolist() for b in second]
    # Another Inventory object (even an equal one) is written on its own.
    p.process(st, inventory=inv.copy(), device="cpu")
    assert len(writes) == 2


def test_parsed_inventories_and_response_tables_are_reused_only_for_the_same_text():
    st, inv, _ = expected(lambda tr, inv: None, *DATA[0])
    doubled = inv.copy()
    for net in doubled:
        for sta in net:
            for cha in sta:
                if cha.response is not None and cha.response.instrument_sensitivity:
                    cha.response.instrument_sensitivity.value *= 2.0
    p = seisbatch.Pipeline(["remove_sensitivity"])
    for _ in range(2):  # kept between calls: each call must still see its own inventory
        a = p.process(st, inventory=inv, device="cpu")
        b = p.process(st, inventory=doubled, device="cpu")
        for x, y in zip(a, b):
            assert np.allclose(y.data * 2.0, x.data, rtol=1e-12, atol=0)
