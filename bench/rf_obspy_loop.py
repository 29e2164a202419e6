#!/usr/bin/env python
"""The ObsPy 1.5.1 receiver-function preparation seisbatch replaces (issue #16): per event
folder, the three components of each station through detrend, taper, remove_response VEL
with pre_filt, band-pass, rotate NE->RT with the back-azimuth from the event to the station,
trim origin+60..origin+900, SAC out. Prints traces and seconds as JSON.

usage: python bench/rf_obspy_loop.py INPUT_TREE EVENTS_CSV OUTPUT_DIR
"""
import csv
import glob
import json
import os
import sys
import time
import warnings

import obspy
from obspy import UTCDateTime
from obspy.geodetics import gps2dist_azimuth

warnings.simplefilter("ignore")
src, events_csv, dst = sys.argv[1:4]
events = {r["folder"]: r for r in csv.DictReader(open(events_csv))}
t0 = time.perf_counter()
n = 0
for event in sorted(glob.glob(os.path.join(src, "*"))):
    ev = events[os.path.basename(event)]
    origin = UTCDateTime(ev["time"])
    inv = obspy.Inventory()
    for x in sorted(glob.glob(os.path.join(event, "resp", "*.xml"))):
        inv += obspy.read_inventory(x)
    out = os.path.join(dst, os.path.basename(event))
    os.makedirs(out, exist_ok=True)
    st = obspy.Stream()
    for f in sorted(glob.glob(os.path.join(event, "raw", "*.mseed"))):
        st += obspy.read(f)
    st = st.select(channel="HH?")
    st.detrend("linear")
    st.taper(0.05)
    st.remove_response(inv, output="VEL", pre_filt=(0.005, 0.01, 4.0, 5.0), water_level=60)
    st.filter("bandpass", freqmin=0.02, freqmax=1.0, zerophase=True)
    for sta in sorted({(tr.stats.network, tr.stats.station) for tr in st}):
        three = st.select(network=sta[0], station=sta[1])
        c = inv.get_coordinates(three[0].id, three[0].stats.starttime)
        _, _, back_az = gps2dist_azimuth(float(ev["latitude"]), float(ev["longitude"]),
                                         c["latitude"], c["longitude"])
        three.rotate("NE->RT", back_azimuth=back_az)
        three.trim(origin + 60, origin + 900)
        for tr in three:
            name = "%s__%s__%s.sac" % (tr.id, tr.stats.starttime.strftime("%Y%m%dT%H%M%SZ"),
                                       tr.stats.endtime.strftime("%Y%m%dT%H%M%SZ"))
            tr.write(os.path.join(out, name), format="SAC")
            n += 1
print(json.dumps({"traces": n, "seconds": time.perf_counter() - t0}))
