"""The forum chain as an ObsPy 1.5.1 user writes it, for one MassDownloader event folder: its
StationXML read once, each trace demeaned, tapered, deconvolved and interpolated, written as
SAC under DST/<event>. Shared by bench/obspy_loop.py (one process) and bench/obspy_pool.py (a
multiprocessing.Pool, one event per task), so both time the same work."""
import glob
import os
import warnings

import obspy


def forum_event(path, dst):
    """Processes event folder `path` into DST/<event>; returns the number of traces."""
    warnings.simplefilter("ignore")
    inv = obspy.Inventory()
    for x in sorted(glob.glob(os.path.join(path, "resp", "*.xml"))):
        inv += obspy.read_inventory(x)
    out = os.path.join(dst, os.path.basename(path))
    os.makedirs(out, exist_ok=True)
    n = 0
    for f in sorted(glob.glob(os.path.join(path, "raw", "*.mseed"))):
        for tr in obspy.read(f):
            tr.detrend("demean")
            tr.taper(0.05, "hann")
            tr.remove_response(inv, output="DISP", pre_filt=(0.001, 0.005, 4.9, 5.0),
                               water_level=0, zero_mean=False, taper=False)
            tr.interpolate(10, "lanczos", a=25, npts=12000)
            name = "%s__%s__%s.sac" % (tr.id, tr.stats.starttime.strftime("%Y%m%dT%H%M%SZ"),
                                       tr.stats.endtime.strftime("%Y%m%dT%H%M%SZ"))
            tr.write(os.path.join(out, name), format="SAC")
            n += 1
    return n
