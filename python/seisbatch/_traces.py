"""Traces in and out of the Rust side: ObsPy Streams or (array, stats) pairs, and inventories
as StationXML text (an ObsPy Inventory serialised once and cached)."""

import io
import os
import threading
import weakref

import numpy as np

def _in_range(ns, what, shown):
    from . import _seisbatch
    first, last = _seisbatch.time_range()
    if not first <= ns <= last:
        raise ValueError("%s %s: outside the years 1678-2261 that times can hold" % (what, shown))
    return ns


def _start_ns(t, what="starttime"):
    """ns since 1970 from an obspy.UTCDateTime, an int of ns or ISO 8601 text; ValueError
    naming `what` for anything else, an impossible date (2014-02-31) or a year beyond 2261."""
    if hasattr(t, "ns"):  # obspy.UTCDateTime
        return _in_range(int(t.ns), what, t)
    if isinstance(t, (bool, np.bool_)):
        raise ValueError("%s %r: not a time" % (what, t))
    if isinstance(t, (int, np.integer)):
        return _in_range(int(t), what, t)
    if isinstance(t, str):
        from . import _seisbatch
        try:
            return _seisbatch.parse_time(t)
        except ValueError as e:
            raise ValueError("%s: %s" % (what, e)) from None
    raise ValueError("%s %r: an obspy.UTCDateTime, ns since 1970 (int) or ISO 8601 text"
                     % (what, t))


def _positive(v, what):
    """A finite positive number, or ValueError naming `what` (0 divided, inf overflowed)."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ValueError("%s=%r: not a number" % (what, v)) from None
    if not (x > 0 and x < float("inf")):
        raise ValueError("%s=%r: must be a positive finite number" % (what, v))
    return x


def _stats_of(s):
    """(net, sta, loc, cha, start ns, rate) from a stats mapping."""
    get = s.get if hasattr(s, "get") else (lambda k, d=None: getattr(s, k, d))
    rate = get("sampling_rate")
    if rate is not None:
        rate = _positive(rate, "sampling_rate")
    elif get("delta") is not None:
        rate = 1.0 / _positive(get("delta"), "delta")
        if not rate < float("inf"):
            raise ValueError("delta=%r: too small a sampling interval" % (get("delta"),))
    else:
        raise ValueError("stats needs sampling_rate (or delta)")
    if not 1e-9 <= rate <= 1e9:
        raise ValueError("sampling_rate=%r: outside the 1e-9 to 1e9 Hz that time in "
                         "nanoseconds can carry" % (rate,))
    return (str(get("network", "") or ""), str(get("station", "") or ""),
            str(get("location", "") or ""), str(get("channel", "") or ""),
            _start_ns(get("starttime", 0)), rate)


def from_input(data):
    """-> (kind, [(array, net, sta, loc, cha, start_ns, rate)], originals). Arrays go over as
    float64 C-contiguous (no copy when they already are)."""
    kind = "list"
    items = data
    if type(data).__name__ == "Trace" and hasattr(data, "stats"):
        kind, items = "stream", [data]
    elif type(data).__name__ == "Stream" and hasattr(data, "traces"):
        kind, items = "stream", list(data.traces)
    traces, originals = [], []
    for i, it in enumerate(items):
        if kind == "stream":
            arr, stats = it.data, it.stats
        else:
            try:
                arr, stats = it
            except (TypeError, ValueError):
                raise ValueError("item %d: expected (array, stats dict)" % i) from None
        if np.ma.isMaskedArray(arr) and np.ma.count_masked(arr):
            raise ValueError("item %d: masked samples (a gap): fill or split them first, as "
                             "ObsPy's processing requires" % i)
        a = np.ascontiguousarray(np.asarray(arr), dtype=np.float64)
        if a.ndim != 1:
            raise ValueError("item %d: samples must be one-dimensional" % i)
        try:
            traces.append((a,) + _stats_of(stats))
        except ValueError as e:
            raise ValueError("item %d: %s" % (i, e)) from None
        originals.append(stats)
    return kind, traces, originals


def to_output(kind, results, originals, processing=()):
    """The processed traces as the input came (a Stream, or (array, stats) pairs), each with
    ``processing`` added to its ``stats.processing`` (ObsPy's provenance list)."""
    from . import Processed
    if kind == "stream":
        from obspy import Stream, Trace, UTCDateTime
        out = Stream()
        for r, stats in zip(results, originals):
            if r is None:
                continue
            data, net, sta, loc, cha, start_ns, rate = r
            header = {k: v for k, v in stats.items()
                      if k not in ("npts", "endtime", "delta", "sampling_rate", "starttime")}
            header.update(network=net, station=sta, location=loc, channel=cha,
                          sampling_rate=rate, starttime=UTCDateTime(ns=start_ns))
            header["processing"] = list(stats.get("processing", [])) + list(processing)
            out.append(Trace(data=data, header=header))
        return out
    out = Processed()
    for r, stats in zip(results, originals):
        if r is None:
            continue
        data, net, sta, loc, cha, start_ns, rate = r
        s = dict(stats)
        s.pop("delta", None)
        start = s.get("starttime")
        if hasattr(start, "ns"):
            start = type(start)(ns=start_ns)
        elif isinstance(start, str):
            from . import _seisbatch
            start = _seisbatch.iso(start_ns)
        else:
            start = start_ns
        s.update(network=net, station=sta, location=loc, channel=cha, sampling_rate=rate,
                 starttime=start, npts=len(data))
        s["processing"] = list(s.get("processing", [])) + list(processing)
        out.append((data, s))
    return out


_cache = {}
_cache_lock = threading.Lock()


def inventory_text(inv):
    """StationXML text for ``inv``: None, a path, StationXML text or bytes, or an ObsPy
    Inventory (written once per object, cached while it lives)."""
    if inv is None:
        return None
    if isinstance(inv, bytes):
        return inv.decode("utf-8")
    if isinstance(inv, os.PathLike) or (isinstance(inv, str) and not inv.lstrip().startswith("<")):
        with open(inv, encoding="utf-8") as fh:
            return fh.read()
    if isinstance(inv, str):
        return inv
    if not hasattr(inv, "write"):
        raise TypeError("inventory: an obspy Inventory, a StationXML path or its text")
    key = id(inv)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0]() is inv:
            return hit[1]
    buf = io.BytesIO()
    inv.write(buf, format="STATIONXML")
    text = buf.getvalue().decode("utf-8")
    with _cache_lock:
        _cache[key] = (weakref.ref(inv, lambda _r, k=key: _cache.pop(k, None)), text)
    return text


def event_tuple(event):
    """(origin ns, latitude, longitude, depth km) from an ObsPy Event (its preferred origin,
    else its first) or a dict with time, latitude, longitude, depth_km."""
    if event is None:
        return None
    if hasattr(event, "origins"):
        origin = event.preferred_origin() or (event.origins[0] if event.origins else None)
        if origin is None:
            raise ValueError("event: it has no origin")
        depth_km = (origin.depth or 0.0) / 1000.0
        return (_start_ns(origin.time, "event time"), float(origin.latitude), float(origin.longitude),
                float(depth_km))
    try:
        return (_start_ns(event["time"], "event time"), float(event["latitude"]), float(event["longitude"]),
                float(event.get("depth_km", 0.0)))
    except (KeyError, TypeError):
        raise ValueError("event: an obspy Event, or a dict with time, latitude, longitude, "
                         "depth_km") from None
