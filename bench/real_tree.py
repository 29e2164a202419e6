#!/usr/bin/env python
"""A MassDownloader-shaped tree whose responses are real: every seismic channel (input units
M, M/S or M/S**2, 1-250 Hz) of ObsPy's own test StationXML (tests/fixtures/data and
tests/fixtures/response/xml, copied from ObsPy 1.5.1 by tests/fixtures/make_fixtures.py) that
ObsPy can remove the response of (no Polynomial stage: seisbatch refuses those), one 20-minute Steim2 noise trace per channel per event, each
event's resp/ holding the StationXML files. Each channel's response is then used EVENTS times,
as in a real download. For bench/vs_obspy.sh (SOURCE=real): the response evaluation that
dominates real data (multi-stage FIR chains) is in it, unlike `seisbatch synth`'s.

With VARY=1 each event's traces start a day later and each station's last 1200 s plus a
random 0-60 s, as MassDownloader's origin-relative windows and the data available make them
(one request per station and event: its channels share the window): a channel's length, and
remove_response's nfft, then differ from event to event, where VARY=0 gives every event the
same 20-minute traces.

usage: python3 bench/real_tree.py OUT [EVENTS=3] [VARY=0]
"""
import glob
import os
import shutil
import sys
import warnings

import numpy as np
import obspy
from obspy import Stream, Trace, UTCDateTime

warnings.simplefilter("ignore")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out, events = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3
vary = len(sys.argv) > 3 and sys.argv[3] == "1"
xmls = sorted(glob.glob(os.path.join(ROOT, "tests/fixtures/data/*.xml"))) + sorted(
    glob.glob(os.path.join(ROOT, "tests/fixtures/response/xml/*.xml")))
SEISMIC = {"M", "M/S", "M/S**2", "M/SEC", "M/SEC**2"}
seen, channels, used = set(), [], []
for x in xmls:
    try:
        inv = obspy.read_inventory(x, format="STATIONXML")
    except Exception:
        continue
    took = False
    for net in inv:
        for sta in net:
            for cha in sta:
                key = (net.code, sta.code, cha.location_code, cha.code)
                resp, rate = cha.response, cha.sample_rate
                if key in seen or resp is None or not resp.response_stages or not rate:
                    continue
                units = (resp.response_stages[0].input_units or "").upper()
                # seisbatch refuses Polynomial stages (README: where we deviate).
                if any(type(st).__name__ == "PolynomialResponseStage"
                       for st in resp.response_stages):
                    continue
                if units not in SEISMIC or not 1.0 <= rate <= 250.0 or cha.start_date is None:
                    continue
                t0 = UTCDateTime(cha.start_date) + 86400
                t0 = UTCDateTime(t0.year, t0.month, t0.day)
                if cha.end_date is not None and t0 + 1300 + 86400 * events * vary > cha.end_date:
                    continue
                n = int(1200 * rate) + 1
                tr = Trace(np.zeros(n, dtype=np.int32), header={
                    "network": key[0], "station": key[1], "location": key[2],
                    "channel": key[3], "sampling_rate": rate, "starttime": t0})
                try:
                    # ObsPy must be able to remove it (no polynomial stage, sane units).
                    tr.copy().remove_response(inv, output="DISP", water_level=0)
                except Exception:
                    continue
                seen.add(key)
                channels.append(tr.stats.copy())
                took = True
    if took:
        used.append(x)
rng = np.random.default_rng(7)
for e in range(events):
    ev = os.path.join(out, "event_%02d" % e)
    os.makedirs(os.path.join(ev, "raw"), exist_ok=True)
    os.makedirs(os.path.join(ev, "resp"), exist_ok=True)
    for x in used:
        shutil.copy(x, os.path.join(ev, "resp", os.path.basename(x)))
    extra = {}
    for st in channels:
        st = st.copy()
        if vary:
            st.starttime += 86400 * e
            sec = extra.setdefault((st.network, st.station), rng.uniform(0, 60))
            st.npts = int((1200 + sec) * st.sampling_rate) + 1
        data = np.cumsum(rng.integers(-500, 501, st.npts)).astype(np.int32) + 10000
        tr = Trace(data, header=st)
        name = "%s__%s__%s.mseed" % (tr.id, tr.stats.starttime.strftime("%Y%m%dT%H%M%SZ"),
                                     tr.stats.endtime.strftime("%Y%m%dT%H%M%SZ"))
        Stream([tr]).write(os.path.join(ev, "raw", name), format="MSEED", encoding="STEIM2",
                           reclen=4096)
print("%d channels from %d StationXML files, %d events" % (len(channels), len(used), events))
