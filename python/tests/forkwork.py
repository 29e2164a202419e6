"""Work for the fork/forkserver/spawn/Dask tests (test_integrity.py): a module the children
import by name."""

import hashlib

import numpy as np

import seisbatch

STEPS = [
    {"op": "detrend", "type": "linear"},
    {"op": "taper", "max_percentage": 0.05},
    {"op": "filter", "type": "bandpass", "freqmin": 0.5, "freqmax": 5.0, "zerophase": True},
    {"op": "resample", "sampling_rate": 20.0},
]


def traces(seed, count=6, n=20_000):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(n) * 100.0 + 7.0,
             {"network": "XX", "station": "S%d" % i, "location": "", "channel": "HHZ",
              "starttime": "2020-01-01T00:00:00Z", "sampling_rate": 100.0})
            for i in range(count)]


def digest(seed):
    """Processes seed's traces on the CPU path and returns a hash of the output bytes."""
    out = seisbatch.Pipeline(STEPS).process(traces(seed), device="cpu", jobs=2)
    h = hashlib.sha256()
    for data, _ in out:
        h.update(np.ascontiguousarray(data).tobytes())
    return h.hexdigest()


def digest_on(device, seed):
    """As digest, on `device` ("gpu", "gpu:K"): the bytes and the devices this process opened."""
    out = seisbatch.Pipeline(STEPS).process(traces(seed), device=device, jobs=2)
    h = hashlib.sha256()
    for data, _ in out:
        h.update(np.ascontiguousarray(data).tobytes())
    return h.hexdigest(), seisbatch._ext.devices_opened()
