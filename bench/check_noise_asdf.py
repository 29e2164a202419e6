"""Reads `seisbatch correlate` output written with `asdf = true` as NoisePy does: pyasdf 0.8.2
opens each file, and the reads are those of noisepy-seis-io's ASDFCCStore and ASDFStackStore
(asdfstore.py: timespans from the CCF file names, `SRC_REC` data types, `CHA_CHA` paths parsed
into two channel types, `Allstack_<method>/<comp>` in a STACK file per pair), reproduced here
because NoisePy does not pip-install on our machines. Each dataset is compared with the SAC
file of the same correlation (ObsPy 1.5.1). Prints one line per file kind and exits non-zero
on any difference.

    cargo build --release
    seisbatch correlate CFG.toml (with asdf = true) --input ARCHIVE --inventory INV --output OUT
    python bench/check_noise_asdf.py OUT

Needs: pip install obspy==1.5.1 pyasdf==0.8.2
"""
import glob
import os
import sys

import numpy as np
import obspy
import pyasdf

DATE_FORMAT = "%Y_%m_%d_%H_%M_%S"  # noisepy-seis-io constants.DATE_FORMAT


def parse_timespan(path):
    # noisepy-seis-io stores.parse_timespan
    parts = os.path.splitext(os.path.basename(path))[0].split("T")
    assert len(parts) == 2, path
    return [obspy.UTCDateTime.strptime(p, DATE_FORMAT) for p in parts]


def parse_channel_path(path):
    # noisepy-seis-io asdfstore._parse_channel_path: CHA_CHA, CHA_LOC_CHA, CHA_CHA_LOC, ...
    parts = path.split("_")
    if len(parts) == 2:
        return parts
    if len(parts) == 3:
        return ["_".join(parts[0:2]), parts[2]] if parts[1].isdigit() else [parts[0], "_".join(parts[1:3])]
    if len(parts) == 4:
        return ["_".join(parts[0:2]), "_".join(parts[2:4])]
    raise ValueError(path)


def station_dir(sta):
    net, code = sta.split(".")
    return f"{net}.{code}."  # our SAC folders: NET.STA.LOC (empty location here)


def main(out):
    bad = 0
    ccf = sorted(glob.glob(os.path.join(out, "asdf", "CCF", "*.h5")))
    n = 0
    for path in ccf:
        start, end = parse_timespan(path)
        label = f"{start.strftime('%Y%m%dT%H%M%SZ')}__{end.strftime('%Y%m%dT%H%M%SZ')}"
        with pyasdf.ASDFDataSet(path, mode="r", mpi=False) as ds:
            for pair in ds.auxiliary_data.list():
                src, rec = pair.split("_")
                for ch in ds.auxiliary_data[pair].list():
                    a, b = parse_channel_path(ch)
                    item = ds.auxiliary_data[pair][ch]
                    p = item.parameters
                    comp = a[2].upper() + b[2].upper()
                    sac = obspy.read(os.path.join(out, label, f"{station_dir(src)}_{station_dir(rec)}", f"{comp}.sac"))[0]
                    if p["comp"] != comp or not np.array_equal(item.data[:], sac.data):
                        print("CCF differs:", path, pair, ch)
                        bad += 1
                    if abs(p["dist"] - sac.stats.sac.dist) > 1e-3 or abs(p["time"] - start.timestamp) > 1e-6:
                        print("CCF parameters differ:", path, pair, ch, p)
                        bad += 1
                    n += 1
    print(f"CCF: {len(ccf)} files, {n} correlations read by pyasdf {pyasdf.__version__} as NoisePy reads them")
    stacks = sorted(glob.glob(os.path.join(out, "asdf", "STACK", "*", "*.h5")))
    n = 0
    for path in stacks:
        src, rec = os.path.splitext(os.path.basename(path))[0].split("_")
        with pyasdf.ASDFDataSet(path, mode="r", mpi=False) as ds:
            for name in ds.auxiliary_data.list():
                for comp in ds.auxiliary_data[name].list():
                    item = ds.auxiliary_data[name][comp]
                    folder = "stack" if os.path.exists(os.path.join(out, "stack", f"{station_dir(src)}_{station_dir(rec)}", f"{comp}.sac")) else "stack_rtz"
                    sac = obspy.read(os.path.join(out, folder, f"{station_dir(src)}_{station_dir(rec)}", f"{comp}.sac"))[0]
                    if not np.array_equal(item.data[:], sac.data) or item.parameters["comp"] != comp:
                        print("STACK differs:", path, name, comp)
                        bad += 1
                    n += 1
    print(f"STACK: {len(stacks)} files, {n} stacks read by pyasdf {pyasdf.__version__}")
    if not ccf or not stacks:
        print("no ASDF output found under", out)
        bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
