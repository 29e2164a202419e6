"""pyasdf's way of working (issue #29): a user's own function per station, after the built-in
steps, in worker processes. ``process_dataset`` is ``ASDFDataSet.process(function, ...)``;
``process_pairs`` is ``process_two_files_without_parallel_output``.

Workers are spawned, never forked (a forked child of a process running Rust threads can hang),
so the function must be picklable: defined at the top level of an importable module (or
anything cloudpickle takes, where cloudpickle is installed). The engine reads, runs the steps
and writes; the function's exceptions fail their station with the exception's type and message.
"""

import io
import multiprocessing
import os
import pickle
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np


def _dumps(function):
    """The function as bytes a spawned worker can load."""
    try:
        return pickle.dumps(function)
    except (pickle.PicklingError, AttributeError, TypeError) as first:
        try:
            import cloudpickle
        except ImportError:
            raise ValueError(
                f"function {function!r} cannot be sent to worker processes ({first}): define "
                "it at the top level of a module, or install cloudpickle") from None
        return cloudpickle.dumps(function)


def _stream(traces):
    """Arrays and codes (the engine's hand-over) -> an ObsPy Stream."""
    from obspy import Stream, Trace, UTCDateTime
    st = Stream()
    for data, net, sta, loc, cha, start_ns, rate in traces:
        st.append(Trace(data=np.asarray(data), header={
            "network": net, "station": sta, "location": loc, "channel": cha,
            "starttime": UTCDateTime(ns=int(start_ns)), "sampling_rate": float(rate)}))
    return st


def _inventory(xml):
    if xml is None:
        return None
    from obspy import read_inventory
    return read_inventory(io.BytesIO(bytes(xml)), format="STATIONXML")


def _tuples(st):
    """An ObsPy Stream (or Trace) -> the engine's hand-over."""
    from obspy import Trace
    if isinstance(st, Trace):
        st = [st]
    out = []
    for tr in st:
        s = tr.stats
        out.append((np.ascontiguousarray(tr.data, dtype=np.float64), s.network, s.station,
                    s.location, s.channel, int(s.starttime.ns), float(s.sampling_rate)))
    return out


def _error(e):
    return ("error", f"{type(e).__name__}: {e}")


def _work(payload, traces, xml):
    """In a worker: function(stream, inventory) -> ("ok", traces or None) | ("error", msg)."""
    try:
        function = pickle.loads(payload)
        result = function(_stream(traces), _inventory(xml))
        return ("ok", None if result is None else _tuples(result))
    except Exception as e:  # the station fails, the run goes on
        return _error(e)


def _load(entries, station, tags):
    """A station's Stream and Inventory from its sources (in a worker): ASDF files through
    seisbatch's reader, miniSEED files of an event tree through ObsPy with the event's
    resp/NET.STA.xml."""
    from obspy import Stream, read, read_inventory
    from . import _seisbatch as _ext
    st, inv = Stream(), None
    for kind, path, xml, *span in entries:
        if kind == "archive":
            t, _problems = _ext.catalog_station(path, station, span[0], span[1])
            st += _stream(t)
            if inv is None and xml is not None:
                inv = read_inventory(xml, format="STATIONXML")
            continue
        if kind == "asdf":
            t, x, _rejected = _ext.asdf_station(path, station, list(tags))
            st += _stream(t)
            if inv is None and x is not None:
                inv = _inventory(x)
        else:
            net, _, sta = station.partition(".")
            st += read(path, format="MSEED").select(network=net, station=sta)
            if inv is None and xml is not None:
                inv = read_inventory(xml, format="STATIONXML")
    return st, inv


def _pair(payload, a, b, station, tags):
    """In a worker: function(st_a, inv_a, st_b, inv_b) -> ("ok", result) | ("error", msg)."""
    try:
        function = pickle.loads(payload)
        st_a, inv_a = _load(a, station, tags)
        st_b, inv_b = _load(b, station, tags)
        for side, st in (("a", st_a), ("b", st_b)):
            if not len(st):
                # A window one archive has no data of: said, not passed on as an empty Stream.
                return ("error", f"no data of {station} in {side} here")
        return ("ok", function(st_a, inv_a, st_b, inv_b))
    except Exception as e:
        return _error(e)


class _Pool:
    """Spawned worker processes; a pool broken by a worker that died is replaced, and only
    the stations it was working on fail."""

    def __init__(self, workers):
        self.workers = workers
        self.lock = threading.Lock()
        self.pool = self._new()

    def _new(self):
        return ProcessPoolExecutor(max_workers=self.workers,
                                   mp_context=multiprocessing.get_context("spawn"))

    def call(self, fn, *args):
        while True:
            with self.lock:
                pool = self.pool
            try:
                future = pool.submit(fn, *args)
            except BrokenProcessPool:
                # Broken by another caller's task before this one went in: not this task's
                # fault, so it goes to the replacement.
                self._replace(pool)
                continue
            try:
                # result() waits with the GIL released: the engine's other writer threads
                # and the caller's progress go on.
                return future.result()
            except BrokenProcessPool:
                self._replace(pool)
                return ("error", "the worker process died (killed, out of memory or a crash) "
                                 "while running the function")

    def _replace(self, pool):
        with self.lock:
            if self.pool is pool:
                self.pool = self._new()

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


class _Dispatch:
    """What the engine calls per station (engine::hook via the extension's PyHook)."""

    def __init__(self, function, pool):
        self.payload = _dumps(function)
        self.pool = pool

    def __call__(self, name, traces, xml):
        return self.pool.call(_work, self.payload, traces, xml)


def _name(function):
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', '?')}"


def process_dataset(run, input, output, function=None, pipeline=None, workers=None, tag=None,
                    output_tag="processed", shard=None, progress=None, **options):
    from . import Pipeline
    if pipeline is None:
        # ObsPy's select() without criteria: every trace, unchanged (a run needs a step).
        pipeline = Pipeline([{"op": "select"}])
    if function is not None and not callable(function):
        raise TypeError("function must be callable as function(stream, inventory)")
    tags = [tag] if isinstance(tag, str) else list(tag or [])
    if shard is not None:
        k, n = shard
        options["shard"] = f"{k}/{n}"
    options.setdefault("format", "asdf")
    options["output_tag"] = output_tag
    extra = []
    for t in tags:
        extra += ["--tag", t]
    if function is None:
        return run(pipeline, input, output, progress=progress, _extra=extra, **options)
    pool = _Pool(workers or os.cpu_count() or 1)
    try:
        return run(pipeline, input, output, progress=progress, _extra=extra,
                   _hook=(_Dispatch(function, pool), _name(function)), **options)
    finally:
        pool.close()


class Pairs(dict):
    """The function's result per station (NET.STA) found in both data sets; ``failures``:
    the stations whose function raised or could not be read, with the reason."""
    failures = {}


def _stations(source):
    """Every station of ``source``: {key: [(kind, path, stationxml path or None), ...]}. ASDF
    files (a file, or those in a folder) by ``NET.STA``; miniSEED files of an event tree
    (MassDownloader's EVENT/raw/*, StationXML in EVENT/resp/NET.STA.xml) by
    ``EVENT/NET.STA``, so that two trees pair the same station of the same event."""
    from . import _seisbatch as _ext
    source = os.fspath(source)
    root = source if os.path.isdir(source) else os.path.dirname(source)
    files = [source] if os.path.isfile(source) else sorted(
        os.path.join(d, f) for d, _, fs in os.walk(source) for f in fs)
    found = {}
    for f in files:
        with open(f, "rb") as h:
            head = h.read(8)
        if head == b"\x89HDF\r\n\x1a\n":
            for s in _ext.asdf_stations(f):
                found.setdefault(s, []).append(("asdf", f, None))
            continue
        folder = os.path.dirname(f)
        if os.path.basename(folder) != "raw":
            continue
        try:
            from obspy import read
            codes = {(tr.stats.network, tr.stats.station)
                     for tr in read(f, format="MSEED", headonly=True)}
        except Exception:
            continue  # not miniSEED: not a waveform of the tree
        event = os.path.relpath(os.path.dirname(folder), root)
        event = "" if event == "." else event + "/"
        for net, sta in sorted(codes):
            xml = os.path.join(os.path.dirname(folder), "resp", f"{net}.{sta}.xml")
            found.setdefault(f"{event}{net}.{sta}", []).append(
                ("mseed", f, xml if os.path.isfile(xml) else None))
    return found


def _catalog(source, tmp, name):
    """An archive's catalog: the file itself, or one indexed into ``tmp``."""
    from . import _seisbatch as _ext
    source = os.fspath(source)
    if os.path.isfile(source):
        return source
    path = os.path.join(tmp, name + ".parquet")
    _ext.index(source, path)
    return path


def _archive_stations(a, b, inventory, tmp, window, segment, step, start, end):
    """(window, station) keys of two archives, each with its entries for `_load`."""
    from . import _seisbatch as _ext
    ca, cb = _catalog(a, tmp, "a"), _catalog(b, tmp, "b")
    if inventory is None or isinstance(inventory, (str, os.PathLike)):
        inv_a = inv_b = None if inventory is None else os.fspath(inventory)
    else:
        inv_a, inv_b = (None if i is None else os.fspath(i) for i in inventory)
    windows = _ext.catalog_windows(ca, window, segment, step, start, end)
    common = sorted(set(_ext.catalog_stations(ca)) & set(_ext.catalog_stations(cb)))
    sa, sb = {}, {}
    for label, t0, t1 in windows:
        for s in common:
            key = f"{label}/{s}"
            sa[key] = [("archive", ca, inv_a, t0, t1)]
            sb[key] = [("archive", cb, inv_b, t0, t1)]
    return sa, sb


def process_pairs(a, b, function, workers=None, tag=None, shard=None, window=None,
                  segment=None, step=None, start=None, end=None, inventory=None):
    import tempfile
    tags = [tag] if isinstance(tag, str) else list(tag or [])
    with tempfile.TemporaryDirectory(prefix="seisbatch-pairs-") as tmp:
        if window is not None or segment is not None:
            sa, sb = _archive_stations(a, b, inventory, tmp, window, segment, step, start, end)
        else:
            sa, sb = _stations(a), _stations(b)
        return _run_pairs(sa, sb, function, workers, tags, shard)


def _run_pairs(sa, sb, function, workers, tags, shard):
    common = sorted(set(sa) & set(sb))
    if shard is not None:
        k, n = shard
        if not (isinstance(k, int) and isinstance(n, int) and 0 <= k < n):
            raise ValueError(f"shard={shard!r}: (k, n) with 0 <= k < n")
        common = common[k::n]
    payload = _dumps(function)
    n = workers or os.cpu_count() or 1
    pool = _Pool(n)
    results, failures = Pairs(), {}
    try:
        # One caller thread per worker, each through _Pool.call: a worker that dies fails
        # the pairs in flight only; the pool is replaced for the rest.
        with ThreadPoolExecutor(max_workers=n) as callers:
            futures = {s: callers.submit(pool.call, _pair, payload, sa[s], sb[s],
                                         s.rsplit("/", 1)[-1], tags) for s in common}
            for s, fut in futures.items():
                status, value = fut.result()
                if status == "ok":
                    results[s] = value
                else:
                    failures[s] = value
    finally:
        pool.close()
    results.failures = failures
    return results
