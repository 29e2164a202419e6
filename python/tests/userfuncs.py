"""Functions for process_dataset/process_pairs (test_dataset.py): at a module's top level, as
spawned worker processes need them (they import this module by name)."""

import numpy as np


def double(st, inv):
    for tr in st:
        tr.data = tr.data * 2.0
    return st


def raise_for_wet(st, inv):
    if st[0].stats.station == "WET":
        raise ValueError("no good: " + st[0].id)
    return st


def nothing_for_wet(st, inv):
    return None if st[0].stats.station == "WET" else st


def shorten(st, inv):
    for tr in st:
        tr.trim(tr.stats.starttime + 10, tr.stats.endtime - 10)
    return st


def station_latitude(st, inv):
    """Writes a trace whose samples are the station's latitude from the inventory given."""
    tr = st[0].copy()
    lat = inv.get_coordinates(tr.id, tr.stats.starttime)["latitude"]
    tr.data = np.full(10, lat)
    return tr


def component_count(st, inv):
    """One trace per call: its samples the number of traces the function was given."""
    tr = st[0].copy()
    tr.data = np.full(10, float(len(st)))
    return tr


def difference(st_a, inv_a, st_b, inv_b):
    a = st_a.select(channel="HHZ")[0]
    b = st_b.select(channel="HHZ")[0]
    n = min(len(a), len(b))
    return float(np.abs(a.data[:n].astype(float) - b.data[:n]).max()), inv_a is not None


def raise_always(st_a, inv_a, st_b, inv_b):
    raise KeyError("nope")


def die_for_wet(st, inv):
    """A worker killed mid-function (a segfault or the OOM killer, as the run sees it)."""
    import os
    if st[0].stats.station == "WET":
        os._exit(3)
    return st


def die_for_fur_pair(st_a, inv_a, st_b, inv_b):
    """A pair whose worker is killed: the pairs after it must still run."""
    import os
    if st_a[0].stats.station == "FUR":
        os._exit(3)
    return st_a[0].stats.station


def samples_by_channel(st_a, inv_a, st_b, inv_b):
    """Samples per channel on each side (pieces of one channel summed), and whether a's
    inventory came."""
    def count(st):
        out = {}
        for tr in st:
            out[tr.id] = out.get(tr.id, 0) + len(tr)
        return out
    return count(st_a), count(st_b), inv_a is not None
