"""Issue #28's object-storage measurements, side by side in one run on this machine: an SDS
archive of DAYS days of GR.FUR..HH[ZNE] at 100 Hz (bench/make_sds.py) uploaded to moto's S3
server on 127.0.0.1, then
- `seisbatch index s3://...` (every object read whole once): MB/s;
- `run --catalog s3://... --segment 3600` (NoisePy's hour windows) with a short chain: requests
  and bytes per window from report.json's object_store_read, MB/s, and the same run over the
  local copy (its seconds and outputs, which must be the same bytes);
- the model of a window on real S3: bytes per window (what the catalog's marks let a ranged GET
  skip) and requests per window, against the 250 MB/s that NoisePy's authors report from S3 to
  EC2 and a first-byte latency of 30 ms per request with --s3-concurrency 16.
The local server is Python (moto): its MB/s bounds what is measured here, not seisbatch's.

usage: python3 bench/s3_windows.py [DAYS=2]   (obspy==1.5.1, moto[server], boto3; the release
binary target/release/seisbatch)"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python" / "tests"))
import s3server  # noqa: E402

import boto3  # noqa: E402

days = int(sys.argv[1]) if len(sys.argv) > 1 else 2
sb = str(ROOT / "target" / "release" / "seisbatch")
work = pathlib.Path(tempfile.mkdtemp())
subprocess.run([sys.executable, str(ROOT / "bench" / "make_sds.py"), str(work), str(days)],
               check=True)
moto = s3server.Moto()
env = s3server.environment()
s3 = boto3.client("s3", endpoint_url=moto.endpoint, aws_access_key_id="test",
                  aws_secret_access_key="test", region_name="us-east-1")
s3.create_bucket(Bucket="bench")
total = 0
for p in sorted((work / "sds").rglob("*")):
    if p.is_file():
        s3.put_object(Bucket="bench", Key="sds/" + str(p.relative_to(work / "sds")),
                      Body=p.read_bytes())
        total += p.stat().st_size


def timed(*args):
    t = time.time()
    p = subprocess.run([sb, *map(str, args)], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(p.stderr)
    return time.time() - t


ep = ["--s3-endpoint", moto.endpoint]
t_index = timed("index", "s3://bench/sds", "--output", "s3://bench/sds.parquet", *ep)
chain = ROOT / "bench" / "short_chain.toml"
common = ["--inventory", work / "GR.FUR.xml", "--segment", "3600", "--device", "cpu", "--quiet"]
t_s3 = timed("run", chain, "--catalog", "s3://bench/sds.parquet", "--output", work / "s3out",
             *common, *ep)
timed("index", work / "sds", "--output", work / "local.parquet")
t_local = timed("run", chain, "--catalog", work / "local.parquet", "--output", work / "localout",
                *common)


def sacs(d):
    return {str(f.relative_to(d)): f.read_bytes() for f in d.rglob("*.sac")}


local_files = sacs(work / "localout")
same = bool(local_files) and sacs(work / "s3out") == local_files
report = json.loads((work / "s3out" / "report.json").read_text())
read = report["object_store_read"]
units = report["input_files"]
moto.close()
per_window = (read["bytes_read"]) / units
s3_mb_s = 250.0
latency = 0.030
model_bytes = s3_mb_s * 1e6 / per_window
model_latency = 16 / (latency * read["requests"] / units)
print(json.dumps({
    "days": days, "archive_bytes": total, "channel_windows": units,
    "index_s": round(t_index, 2), "index_MB_s": round(total / t_index / 1e6, 1),
    "run_s3_s": round(t_s3, 2), "run_local_s": round(t_local, 2),
    "requests": read["requests"], "requests_per_window": round(read["requests"] / units, 2),
    "bytes_read": read["bytes_read"], "bytes_per_window": round(per_window),
    "run_MB_s": round(read["bytes_read"] / t_s3 / 1e6, 1), "retries": read["retries"],
    "model_windows_s_at_250MB_s": round(model_bytes),
    "model_windows_s_at_30ms_x16": round(model_latency),
    "outputs": len(local_files), "same_bytes_as_local": same,
}, indent=1))
shutil.rmtree(work)
