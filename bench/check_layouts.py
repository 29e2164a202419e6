#!/usr/bin/env python3
"""ObsPy reads seisbatch's per-event miniSEED (--layout per-event) as one Stream per event,
and pyasdf 0.8 reads its ASDF output (--format asdf), with the same samples as the per-trace
SAC output of the same run (issue #5).

    cargo build --release
    python3 bench/check_layouts.py [SEISBATCH_BINARY]

Makes a synth set (with bad traces), runs the three outputs, and compares every trace with
ObsPy 1.5.1 / pyasdf 0.8.1 (pip install obspy==1.5.1 pyasdf==0.8.1). Prints one line per
event and exits 1 on any difference.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import obspy

exe = sys.argv[1] if len(sys.argv) > 1 else "target/release/seisbatch"
chain = os.path.join(os.path.dirname(os.path.abspath(__file__)), "short_chain.toml")
with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(tmp, "data")
    subprocess.run([exe, "synth", "--output", data, "--events", "4", "--stations", "5",
                    "--duration", "120", "--bad-fraction", "0.05"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    outs = {}
    for name, extra in [("sac", []), ("events", ["--layout", "per-event"]),
                        ("asdf", ["--format", "asdf"])]:
        outs[name] = os.path.join(tmp, name)
        r = subprocess.run([exe, "run", chain, "--input", data, "--output", outs[name],
                            "--device", "cpu", "--quiet"] + extra)
        assert r.returncode in (0, 3), r.returncode
    def events():
        """Per event folder: its miniSEED Stream and its ASDF Stream (all stations)."""
        import pyasdf
        for ev in sorted(os.listdir(outs["events"])):
            path = os.path.join(outs["events"], ev, ev + ".mseed")
            if not os.path.isfile(path):
                continue
            yield ev, "miniSEED", obspy.read(path)  # the whole event, one Stream
            ds = pyasdf.ASDFDataSet(os.path.join(outs["asdf"], ev, ev + ".h5"), mode="r")
            st = obspy.Stream()
            for sta in ds.waveforms:
                st += sta.processed
                assert sta.StationXML is not None  # the station's inventory rides along
            del ds
            yield ev, "ASDF", st

    bad = 0
    total = 0
    for ev, kind, st in events():
        sac = {}
        for f in os.listdir(os.path.join(outs["sac"], ev)):
            tr = obspy.read(os.path.join(outs["sac"], ev, f))[0]
            sac[(tr.id, str(tr.stats.starttime))] = tr
        worst = 0.0
        for tr in st:
            ref = sac.pop((tr.id, str(tr.stats.starttime)), None)
            if ref is None or len(ref.data) != len(tr.data):
                bad += 1
                continue
            worst = max(worst, float(np.max(np.abs(tr.data.astype(np.float64) - ref.data))))
            bad += int(tr.stats.sampling_rate != ref.stats.sampling_rate)
        bad += len(sac)  # SAC traces missing from the event file
        total += len(st)
        print(f"{ev} {kind}: {len(st)} traces, {len(sac)} missing, max |diff| {worst:g}")
        bad += int(worst != 0.0)
    print(f"{total} traces compared, {bad} differences")
    sys.exit(1 if bad or total == 0 else 0)
