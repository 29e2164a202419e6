"""Issue #23's Python items: fork after use (fork, forkserver, spawn, Dask), jobs bounding a
call's threads, Ctrl-C within 0.5 s, stats checked naming the field, float64 outputs checked
in float64, one warning per call for traces left out, and ObsPy's provenance."""

import json
import multiprocessing
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import forkwork
import seisbatch

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_children_work_after_the_parent_used_seisbatch(method):
    # The parent uses the pool first: a forked child then had a copy of rayon's global pool
    # without its threads, and waited on a futex forever.
    want = [forkwork.digest(seed) for seed in range(4)]
    ctx = multiprocessing.get_context(method)
    with ctx.Pool(2) as pool:
        got = pool.map_async(forkwork.digest, range(4)).get(timeout=120)
    assert got == want


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_dask_process_workers_after_the_parent_used_seisbatch(method):
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    want = [forkwork.digest(seed) for seed in range(4)]
    with dask.config.set({"distributed.worker.multiprocessing-method": method}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster:
            with distributed.Client(cluster) as client:
                futures = client.map(forkwork.digest, range(4), pure=False)
                got = client.gather(futures, errors="raise")
    assert got == want


def _script(body):
    """Runs `body` in a fresh interpreter (its threads and signals are its own); returns the
    JSON it prints last."""
    code = "import sys; sys.path.insert(0, %r)\n" % HERE + textwrap.dedent(body)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300, env=dict(os.environ, NODEVICE_SELECT="1"))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_jobs_bounds_the_threads_of_a_call():
    got = _script("""
        import glob, json
        import forkwork, seisbatch
        def threads():
            n = 0
            for comm in glob.glob("/proc/self/task/*/comm"):
                with open(comm) as f:
                    n += f.read().startswith("seisbatch-")
            return n
        p = seisbatch.Pipeline(forkwork.STEPS)
        counts = []
        for jobs in (2, 2, 1, 3):
            p.process(forkwork.traces(1), device="cpu", jobs=jobs)
            counts.append(threads())
        print(json.dumps(counts))
    """)
    # A pool per size, made once: 2, the same 2, 1 more, 3 more.
    assert got == [2, 2, 3, 6]
    for bad in (0, -1, 1.5, True, 1025, 10**30, "2"):
        with pytest.raises(ValueError, match="jobs"):
            seisbatch.Pipeline(forkwork.STEPS).process(forkwork.traces(1), jobs=bad)


def test_ctrl_c_stops_a_call_within_half_a_second():
    got = _script("""
        import json, os, signal, threading, time
        import forkwork, seisbatch
        steps = forkwork.STEPS + [{"op": "filter", "type": "lowpass", "freq": 4.0}] * 12
        p = seisbatch.Pipeline(steps)
        small = forkwork.traces(2, count=16, n=20_000)
        t = time.perf_counter()
        want = p.process(small, device="cpu")
        per = (time.perf_counter() - t) / 16
        # A call of about 6 s on this machine, interrupted after 1 s.
        n = int(min(6.0 / per, 6000))
        big = forkwork.traces(3, count=n, n=20_000)
        sent = {}
        def interrupt():
            sent["at"] = time.perf_counter()
            os.kill(os.getpid(), signal.SIGINT)
        threading.Timer(1.0, interrupt).start()
        t0 = time.perf_counter()
        try:
            p.process(big, device="cpu")
            raised = False
        except KeyboardInterrupt:
            raised = True
        t1 = time.perf_counter()
        # Nothing left running: the process's CPU time stays put.
        c0 = time.process_time()
        time.sleep(0.5)
        busy = time.process_time() - c0
        again = p.process(small, device="cpu")
        same = all((a[0] == b[0]).all() for a, b in zip(again, want))
        print(json.dumps({"raised": raised, "latency": t1 - sent.get("at", t1),
                          "call": t1 - t0, "expected": per * n, "busy": busy,
                          "same": same and len(again) == 16}))
    """)
    assert got["raised"], got
    assert got["latency"] < 0.5, got
    assert got["expected"] > 3.0, got  # the call really had seconds left to run
    assert got["busy"] < 0.1, got
    assert got["same"], got


def _one(**stats):
    s = {"network": "XX", "station": "S", "location": "", "channel": "HHZ",
         "starttime": "2020-01-01T00:00:00Z", "sampling_rate": 20.0}
    s.update(stats)
    return [(np.ones(100), s)]


@pytest.mark.parametrize("stats,field,why", [
    ({"sampling_rate": None, "delta": 0}, "delta", "positive"),
    ({"sampling_rate": None, "delta": -0.1}, "delta", "positive"),
    ({"sampling_rate": 0}, "sampling_rate", "positive"),
    ({"sampling_rate": float("nan")}, "sampling_rate", "positive"),
    ({"sampling_rate": float("inf")}, "sampling_rate", "positive"),
    ({"sampling_rate": "fast"}, "sampling_rate", "not a number"),
    ({"sampling_rate": 1e300}, "sampling_rate", "1e9"),
    ({"starttime": "2014-02-31"}, "starttime", "2014-02 has 28 days"),
    ({"starttime": "2013-12-31T24:02:00Z"}, "starttime", "hour 24"),
    ({"starttime": "2300-01-01T00:00:00"}, "starttime", "1678-2261"),
    ({"starttime": 10**19}, "starttime", "1678-2261"),
])
def test_stats_are_checked_naming_the_field(stats, field, why):
    p = seisbatch.Pipeline([{"op": "detrend", "type": "demean"}])
    with pytest.raises(ValueError) as e:
        p.process(_one(**stats))
    assert field in str(e.value) and why in str(e.value), str(e.value)
    assert "item 0" in str(e.value)


def test_an_obspy_starttime_beyond_2261_is_a_value_error():
    obspy = pytest.importorskip("obspy")
    tr = obspy.Trace(np.ones(10), {"sampling_rate": 1.0,
                                   "starttime": obspy.UTCDateTime(2300, 1, 1)})
    with pytest.raises(ValueError, match="starttime .*1678-2261"):
        seisbatch.Pipeline([{"op": "detrend"}]).process(tr)


def test_float64_outputs_are_checked_in_float64():
    # 1e303 is a float64 sample (it is not a float32 one: the CLI's files refuse it).
    p = seisbatch.Pipeline([{"op": "normalize", "norm": 1e-300}])
    out = p.process(_one(), device="cpu")
    assert out.failures == [] and np.isfinite(out[0][0]).all() and out[0][0][0] == 1.0 / 1e-300
    p = seisbatch.Pipeline([{"op": "detrend", "type": "demean"},
                            {"op": "normalize", "norm": 1e-310}])
    data = [(np.arange(100.0), _one()[0][1])]
    with pytest.warns(seisbatch.ProcessingWarning):
        out = p.process(data, device="cpu")
    assert len(out) == 0
    assert out.failures[0].reason.startswith(
        "step 2 (normalize): produced a non-finite sample at index"), out.failures


def test_traces_left_out_are_warned_once_per_call_or_raised():
    p = seisbatch.Pipeline([{"op": "remove_sensitivity"}])
    data = _one() + _one(station="T") + _one(station="U")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = p.process(data, device="cpu")
    caught = [x for x in w if issubclass(x.category, seisbatch.ProcessingWarning)]
    assert len(caught) == 1, [str(x.message) for x in w]
    msg = str(caught[0].message)
    assert msg.startswith("seisbatch: 3 of 3 trace(s) not processed"), msg
    assert "XX.S..HHZ" in msg and "no StationXML" in msg
    assert len(out.failures) == 3 and len(out) == 0
    with pytest.raises(seisbatch.ProcessingError):
        p.process(data, device="cpu", strict=True)
    # A call where every trace is processed warns nothing.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        seisbatch.Pipeline([{"op": "detrend"}]).process(data, device="cpu")


def test_each_step_is_recorded_in_stats_processing_as_obspy_does():
    obspy = pytest.importorskip("obspy")
    steps = [{"op": "select", "channel": "HH?"}, {"op": "detrend", "type": "linear"},
             {"op": "taper", "max_percentage": 0.05},
             {"op": "filter", "type": "lowpass", "freq": 2.0}]
    tr = obspy.Trace(np.arange(200.0), {"network": "XX", "station": "S", "channel": "HHZ",
                                        "sampling_rate": 20.0})
    tr.stats.processing = ["ObsPy 1.5.1: trim(...)"]
    (got,) = seisbatch.Pipeline(steps).process(tr, device="cpu")
    v = seisbatch.__version__
    assert got.stats.processing == [
        "ObsPy 1.5.1: trim(...)",
        "seisbatch %s: detrend(type='linear')" % v,
        "seisbatch %s: taper(max_length=None::max_percentage=0.05::side='both'::type='hann')" % v,
        "seisbatch %s: filter(corners=4::freq=2.0::freqmax=None::freqmin=None::"
        "type='lowpass'::zerophase=False)" % v,
    ]
    # ObsPy's own entry for the same detrend, for the shape.
    ref = tr.copy()
    ref.detrend(type="linear")
    assert ref.stats.processing[-1] == "ObsPy 1.5.1: detrend(options={}::type='linear')"
    # The input is left as it was; the list form carries the entries too.
    assert tr.stats.processing == ["ObsPy 1.5.1: trim(...)"]
    (data, stats), = seisbatch.Pipeline(steps[1:2]).process(_one(), device="cpu")
    assert stats["processing"] == ["seisbatch %s: detrend(type='linear')" % v]
