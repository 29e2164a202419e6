"""What a user runs instead of `seisbatch run --segment 86400` on an SDS archive: ObsPy 1.5.1's
SDS client + the day-long noise chain (bench/chains/noise_day.toml) in a multiprocessing Pool,
one (channel, day) per task, each written as SAC. Prints JSON: traces, seconds, workers.
usage: python3 bench/obspy_sds_pool.py ARCHIVE OUT WORKERS"""
import json
import os
import sys
import time
from multiprocessing import Pool

import obspy
from obspy import UTCDateTime
from obspy.clients.filesystem.sds import Client

root, out, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
INV = None


def init():
    global INV
    INV = obspy.read_inventory(os.path.join(root, "GR.FUR.xml"))


def one(task):
    cha, day = task
    t0 = UTCDateTime(day)
    st = Client(os.path.join(root, "sds")).get_waveforms("GR", "FUR", "", cha, t0, t0 + 86400)
    for tr in st:
        tr.detrend("demean")
        tr.detrend("linear")
        tr.taper(0.05)
        tr.remove_response(INV, output="VEL", pre_filt=(0.02, 0.04, 40.0, 45.0), water_level=60)
        tr.filter("bandpass", freqmin=0.05, freqmax=2.0)
        tr.decimate(5)
        label = "%s__%s" % (t0.strftime("%Y%m%dT%H%M%SZ"), (t0 + 86400).strftime("%Y%m%dT%H%M%SZ"))
        d = os.path.join(out, label)
        os.makedirs(d, exist_ok=True)
        f = "%Y%m%dT%H%M%SZ"
        name = "%s__%s__%s.sac" % (tr.id, tr.stats.starttime.strftime(f), tr.stats.endtime.strftime(f))
        tr.write(os.path.join(d, name), format="SAC")
    return len(st)


if __name__ == "__main__":
    days = sorted({f.rsplit(".", 2)[-2] + "." + f.rsplit(".", 1)[-1]
                   for _, _, fs in os.walk(os.path.join(root, "sds")) for f in fs})
    tasks = []
    for yd in days:
        y, doy = yd.split(".")
        day = UTCDateTime(year=int(y), julday=int(doy))
        tasks += [(c, str(day)) for c in ("HHZ", "HHN", "HHE")]
    t = time.time()
    with Pool(workers, initializer=init) as p:
        n = sum(p.map(one, tasks, chunksize=1))
    print(json.dumps({"traces": n, "seconds": time.time() - t, "workers": workers}))
