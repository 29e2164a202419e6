"""Object storage (issue #28): `--input`, `--catalog` and `--output` as s3:// URLs against a real
S3-compatible server on 127.0.0.1 (moto's, started here), through a proxy that throttles and
drops connections. Every run is checked against the same run over the local archive, byte for
byte."""

import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import FIXTURES, cli_binary

import s3server

if os.environ.get("CI") == "true":
    import boto3  # CI installs moto's server and boto3: these tests must run there
else:
    boto3 = pytest.importorskip("boto3")

ARCHIVE = FIXTURES / "archive"
WINDOW = "2020-01-01T23:40:00/2020-01-02T00:40:00"
# Output objects of these bytes or more go up as multipart uploads (the 288,636-byte SAC files;
# the 192,632- and 95,636-byte ones as single conditional PUTs).
PART_BYTES = "200000"


@pytest.fixture(scope="module")
def server():
    try:
        moto = s3server.Moto()
    except (RuntimeError, FileNotFoundError) as e:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"moto's server: {e}")
    proxy = s3server.Proxy(moto)
    yield moto, proxy
    proxy.close()
    moto.close()


@pytest.fixture
def bucket(server, request):
    moto, proxy = server
    name = "t-" + request.node.name.replace("_", "-")[:50].lower()
    s3 = boto3.client("s3", endpoint_url=moto.endpoint, aws_access_key_id="test",
                      aws_secret_access_key="test", region_name="us-east-1")
    s3.create_bucket(Bucket=name)
    for p in sorted((ARCHIVE / "sds").rglob("*")):
        if p.is_file():
            s3.put_object(Bucket=name, Key="archive/" + str(p.relative_to(ARCHIVE / "sds")),
                          Body=p.read_bytes())
    proxy.faults.log.clear()
    return s3, name, proxy


def seisbatch(*args, env_extra=None, timeout=300):
    env = s3server.environment()
    env.update(env_extra or {})
    return subprocess.run([cli_binary(), *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout)


def chain(*extra):
    return ["run", ARCHIVE / "chain.toml", "--inventory", ARCHIVE / "GR.FUR.xml", "--device", "cpu",
            *extra]


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The same window over the local archive: the bytes every s3 run must give."""
    out = tmp_path_factory.mktemp("local") / "out"
    p = seisbatch(*chain("--input", ARCHIVE / "sds", "--window", WINDOW, "--output", out,
                         "--quiet"))
    assert p.returncode == 0, p.stderr
    files = {str(f.relative_to(out)): f.read_bytes() for f in out.rglob("*.sac")}
    assert len(files) == 4
    return files


def objects(s3, name, prefix):
    """Every object under prefix/ (key relative to it -> bytes)."""
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name, Prefix=prefix + "/"):
        for o in page.get("Contents", []):
            out[o["Key"][len(prefix) + 1:]] = s3.get_object(Bucket=name, Key=o["Key"])["Body"].read()
    return out


def sacs(objs):
    return {k: v for k, v in objs.items() if k.endswith(".sac")}


def test_archive_in_a_bucket_to_a_bucket_gives_the_local_runs_bytes(bucket, local, tmp_path):
    s3, name, proxy = bucket
    p = seisbatch(*chain("--input", f"s3://{name}/archive", "--window", WINDOW, "--output",
                         f"s3://{name}/out", "--stage", tmp_path / "stage", "--s3-endpoint",
                         proxy.endpoint), env_extra={"SEISBATCH_TEST_PART_BYTES": PART_BYTES})
    assert p.returncode == 0, p.stderr
    objs = objects(s3, name, "out")
    assert sacs(objs) == local
    # The journal names the three channel windows; the report came last, with what the
    # object store cost; no lock is left.
    journal = [json.loads(l) for l in objs[".seisbatch/journal.jsonl"].splitlines()]
    assert len(journal) == 3
    assert ".seisbatch/lock.json" not in objs
    report = json.loads(objs["report.json"])
    assert report["ok"] == 4
    store = report["object_store"]
    assert store["published"]["objects"] == 4
    assert store["traffic"]["requests"] > 0 and store["traffic"]["bytes_read"] > 0
    # Multipart for the large outputs, conditional single PUTs for the rest.
    log = proxy.faults.log
    assert sum(1 for m, _, q in log if m == "POST" and q.startswith("uploads")) == 2
    # The outputs' catalog names the objects.
    pq = pytest.importorskip("pyarrow.parquet")
    (tmp_path / "c.parquet").write_bytes(objs["catalog.parquet"])
    df = pq.read_table(tmp_path / "c.parquet").to_pandas()
    assert len(df) == 4 and all(d.startswith(f"s3://{name}/out/") for d in df.dir)


def test_a_catalog_in_the_bucket_reads_only_the_windows_bytes(bucket, local, tmp_path):
    s3, name, proxy = bucket
    p = seisbatch("index", f"s3://{name}/archive", "--output", f"s3://{name}/archive.parquet",
                  "--s3-endpoint", proxy.endpoint)
    assert p.returncode == 0, p.stderr
    proxy.faults.log.clear()
    out = tmp_path / "out"
    p = seisbatch(*chain("--catalog", f"s3://{name}/archive.parquet", "--window", WINDOW,
                         "--output", out, "--quiet", "--s3-endpoint", proxy.endpoint))
    assert p.returncode == 0, p.stderr
    assert {str(f.relative_to(out)): f.read_bytes() for f in out.rglob("*.sac")} == local
    gets = [(path, q) for m, path, q in proxy.faults.log if m == "GET"]
    # One GET for the catalog, then ranged GETs of the records (no listing, no whole files):
    # 3 channels x 2 day files.
    assert not any("list-type" in q for _, q in gets)
    assert len(gets) == 1 + 6, gets
    # report.json counts them (and their bytes: a window's records, not the day files).
    read = json.loads((out / "report.json").read_text())["object_store_read"]
    assert read["requests"] == len(gets)
    day_files = sum(f.stat().st_size for f in (ARCHIVE / "sds").rglob("*.D.2020.00[12]"))
    assert 0 < read["bytes_read"] < day_files


def test_throttling_and_dropped_connections_are_retried(bucket, local, tmp_path):
    s3, name, proxy = bucket
    proxy.faults.slowdown_gets = 4
    proxy.faults.drop_gets = 2
    p = seisbatch(*chain("--input", f"s3://{name}/archive", "--window", WINDOW, "--output",
                         f"s3://{name}/out", "--stage", tmp_path / "stage", "--s3-endpoint",
                         proxy.endpoint, "--jobs", "1"))
    assert p.returncode == 0, p.stderr
    assert proxy.faults.served == {"slowdown": 4, "dropped": 2}
    assert sacs(objects(s3, name, "out")) == local


def test_an_object_changed_since_indexing_is_reported_never_read_short(bucket, tmp_path):
    s3, name, proxy = bucket
    p = seisbatch("index", f"s3://{name}/archive", "--output", tmp_path / "cat.parquet",
                  "--s3-endpoint", proxy.endpoint)
    assert p.returncode == 0, p.stderr
    key = "archive/2020/GR/FUR/HHZ.D/GR.FUR..HHZ.D.2020.002"
    whole = s3.get_object(Bucket=name, Key=key)["Body"].read()
    s3.put_object(Bucket=name, Key=key, Body=whole[: len(whole) // 2])  # truncated
    out = tmp_path / "out"
    p = seisbatch(*chain("--catalog", tmp_path / "cat.parquet", "--window", WINDOW, "--output",
                         out, "--s3-endpoint", proxy.endpoint))
    assert p.returncode == 3, p.stderr
    report = json.loads((out / "report.json").read_text())
    reasons = " ".join(f["reason"] for f in report["failures"] + report["file_problems"])
    assert "changed since it was indexed" in reasons, report
    assert key in json.dumps(report)
    # The other channels are processed.
    assert sorted(f.name.split("__")[0] for f in out.rglob("*.sac")) == [
        "GR.FUR..HHE", "GR.FUR..HHN", "GR.FUR..HHN"]


def test_an_object_the_run_did_not_write_is_never_replaced(bucket, tmp_path):
    s3, name, proxy = bucket
    theirs = "20200101T234000Z__20200102T004000Z/GR.FUR..HHZ__20200101T234000Z__20200102T004000Z.sac"
    s3.put_object(Bucket=name, Key="out/" + theirs, Body=b"someone else's")
    p = seisbatch(*chain("--input", f"s3://{name}/archive", "--window", WINDOW, "--output",
                         f"s3://{name}/out", "--stage", tmp_path / "stage", "--s3-endpoint",
                         proxy.endpoint))
    assert p.returncode == 1
    assert f"s3://{name}/out/{theirs}" in p.stderr and "not replaced" in p.stderr
    objs = objects(s3, name, "out")
    assert objs[theirs] == b"someone else's"
    # The others are published; the report is not (the run did not reach the bucket whole).
    assert len(sacs(objs)) == 4 and "report.json" not in objs


def test_a_held_lock_refuses_a_second_run(bucket, tmp_path):
    s3, name, proxy = bucket
    lease = {"host": "another-machine", "pid": 1, "until_unix": int(time.time()) + 3600}
    s3.put_object(Bucket=name, Key="out/.seisbatch/lock.json", Body=json.dumps(lease).encode())
    p = seisbatch(*chain("--input", f"s3://{name}/archive", "--window", WINDOW, "--output",
                         f"s3://{name}/out", "--stage", tmp_path / "stage", "--s3-endpoint",
                         proxy.endpoint))
    assert p.returncode == 2
    assert "another run holds this output (host another-machine" in p.stderr
    assert "report.json" not in objects(s3, name, "out")
    # A lapsed lease (a killed run's) is taken over.
    lease["until_unix"] = int(time.time()) - 10
    s3.put_object(Bucket=name, Key="out/.seisbatch/lock.json", Body=json.dumps(lease).encode())
    p = seisbatch(*chain("--input", f"s3://{name}/archive", "--window", WINDOW, "--output",
                         f"s3://{name}/out", "--stage", tmp_path / "stage", "--s3-endpoint",
                         proxy.endpoint))
    assert p.returncode == 0, p.stderr


def test_a_fresh_run_refuses_a_prefix_holding_a_run(bucket, tmp_path):
    s3, name, proxy = bucket
    args = chain("--input", f"s3://{name}/archive", "--window", WINDOW, "--output",
                 f"s3://{name}/out", "--s3-endpoint", proxy.endpoint)
    assert seisbatch(*args, "--stage", tmp_path / "a").returncode == 0
    p = seisbatch(*args, "--stage", tmp_path / "b")
    assert p.returncode == 2 and "--resume" in p.stderr


def test_resume_after_a_kill_on_another_machine(bucket, tmp_path):
    """A run killed after it published part of its work; the resume starts from an empty
    stage (a new machine) with the bucket's journal, and the bucket ends as one whole run."""
    s3, name, proxy = bucket
    hours = ["--segment", "3600", "--start", "2020-01-01T18:00:00", "--end",
             "2020-01-02T06:00:00", "--jobs", "1"]
    p = seisbatch(*chain("--input", ARCHIVE / "sds", *hours, "--output", tmp_path / "local",
                         "--quiet"))
    assert p.returncode == 0, p.stderr
    local = {str(f.relative_to(tmp_path / "local")): f.read_bytes()
             for f in (tmp_path / "local").rglob("*.sac")}
    inputs = (tmp_path / "local" / ".seisbatch" / "journal.jsonl").read_bytes().count(b"\n")
    assert inputs >= 6
    args = chain("--input", f"s3://{name}/archive", *hours, "--output", f"s3://{name}/out",
                 "--s3-endpoint", proxy.endpoint)
    env = s3server.environment()
    # Outputs written slowly, journaled a batch at a time, published every second.
    env["SEISBATCH_TEST_WRITE_DELAY_MS"] = "300"
    proc = subprocess.Popen([cli_binary(), *map(str, args), "--stage", str(tmp_path / "a"),
                             "--s3-sync-seconds", "1"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            j = s3.get_object(Bucket=name, Key="out/.seisbatch/journal.jsonl")["Body"].read()
            if j.count(b"\n") >= 1:
                break
        except s3.exceptions.NoSuchKey:
            pass
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = s3.get_object(Bucket=name, Key="out/.seisbatch/journal.jsonl")["Body"].read()
    assert 1 <= done.count(b"\n") < inputs, done
    assert "report.json" not in objects(s3, name, "out")
    shutil.rmtree(tmp_path / "a")
    p = seisbatch(*args, "--stage", tmp_path / "b", "--resume")
    assert p.returncode == 0, p.stderr
    objs = objects(s3, name, "out")
    assert sacs(objs) == local
    journal = [json.loads(l) for l in objs[".seisbatch/journal.jsonl"].splitlines()]
    assert len(journal) == inputs and len({e["key"] for e in journal}) == inputs
    report = json.loads(objs["report.json"])
    assert report["ok"] == len(local)
    # What the killed run published was taken from the bucket, not processed again.
    assert not [w for w in report["warnings"] if "processed again" in w]
    assert report["object_store"]["published"]["already_there"] == 0


def scedc_name(path):
    """GR.FUR..HHZ.D.2020.002 -> GRFUR__HHZ___2020002.ms (SCEDC's padded codes)."""
    net, sta, loc, cha, _, year, day = path.name.split(".")
    return f"{net:_<2}{sta:_<5}{cha:_<3}{loc:_<3}{year}{day}.ms"


def test_scedc_layout_lists_only_the_days_a_window_touches(bucket, local, tmp_path):
    s3, name, proxy = bucket
    for p in sorted((ARCHIVE / "sds").rglob("*.D.2020.*")):
        day = p.name.split(".")[-1]
        s3.put_object(Bucket=name, Key=f"continuous_waveforms/2020/2020_{day}/{scedc_name(p)}",
                      Body=p.read_bytes())
    # A day far from the window: never listed, never read.
    s3.put_object(Bucket=name, Key="continuous_waveforms/2020/2020_200/not-miniseed.ms",
                  Body=b"x" * 100)
    proxy.faults.log.clear()
    out = tmp_path / "out"
    p = seisbatch(*chain("--input", f"s3://{name}/continuous_waveforms", "--window", WINDOW,
                         "--output", out, "--quiet", "--s3-endpoint", proxy.endpoint))
    assert p.returncode == 0, p.stderr
    got = {str(f.relative_to(out)): f.read_bytes() for f in out.rglob("*.sac")}
    assert got == local
    listed = sorted(
        dict(x.split("=", 1) for x in q.split("&")).get("prefix", "")
        for m, _, q in proxy.faults.log if m == "GET" and "list-type" in q)
    assert listed == ["continuous_waveforms%2F2019%2F2019_365%2F",
                      "continuous_waveforms%2F2020%2F2020_001%2F",
                      "continuous_waveforms%2F2020%2F2020_002%2F"], listed


def test_missing_credentials_and_empty_prefixes_are_clear_errors(bucket, tmp_path):
    s3, name, proxy = bucket
    env = {k: v for k, v in s3server.environment().items()
           if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    p = subprocess.run([cli_binary(), "index", f"s3://{name}/archive", "--output",
                        str(tmp_path / "c.parquet"), "--s3-endpoint", proxy.endpoint],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 2
    assert "no AWS credentials found" in p.stderr and "--s3-anonymous" in p.stderr
    assert not (tmp_path / "c.parquet").exists()
    p = seisbatch("index", f"s3://{name}/nothing-here", "--output", tmp_path / "c.parquet",
                  "--s3-endpoint", proxy.endpoint)
    assert p.returncode == 2 and "no objects under this prefix" in p.stderr
    p = seisbatch(*chain("--input", f"s3://{name}/nothing-here", "--window", WINDOW, "--output",
                         tmp_path / "out", "--s3-endpoint", proxy.endpoint))
    assert p.returncode == 2 and "no miniSEED input found" in p.stderr
    # An s3 input is an archive: without windows it is refused before anything is written.
    p = seisbatch(*chain("--input", f"s3://{name}/archive", "--output", tmp_path / "out2",
                         "--s3-endpoint", proxy.endpoint))
    assert p.returncode == 2 and "read as an archive" in p.stderr
    assert not (tmp_path / "out2").exists()


def test_overwrite_replaces_the_prefixs_earlier_run(bucket, local, tmp_path):
    s3, name, proxy = bucket
    key = "20200101T234000Z__20200102T004000Z/GR.FUR..HHZ__20200101T234000Z__20200102T004000Z.sac"
    args = chain("--input", f"s3://{name}/archive", "--window", WINDOW, "--output",
                 f"s3://{name}/out", "--s3-endpoint", proxy.endpoint)
    assert seisbatch(*args, "--stage", tmp_path / "a").returncode == 0
    s3.put_object(Bucket=name, Key="out/" + key, Body=b"damaged")
    p = seisbatch(*args, "--stage", tmp_path / "b", "--overwrite")
    assert p.returncode == 0, p.stderr
    assert sacs(objects(s3, name, "out")) == local


def test_listings_are_read_past_one_page(bucket, tmp_path):
    """S3 lists 1,000 keys a page: an archive of more objects is listed whole (here 1,002
    empty objects beside the day files: every one seen, skipped as empty, none read)."""
    s3, name, proxy = bucket
    for i in range(1002):
        s3.put_object(Bucket=name, Key=f"archive/zz/empty{i:04d}", Body=b"")
    proxy.faults.log.clear()
    p = seisbatch("index", f"s3://{name}/archive", "--output", tmp_path / "c.parquet",
                  "--s3-endpoint", proxy.endpoint)
    assert p.returncode == 0, p.stderr
    assert "indexed 9 files" in p.stdout and "1002 path(s) skipped" in p.stdout, p.stdout
    pages = [q for m, _, q in proxy.faults.log if m == "GET" and "list-type" in q]
    assert len(pages) == 2 and "continuation-token" in pages[1], pages
    assert sum(1 for m, _, q in proxy.faults.log if m == "GET" and "list-type" not in q) == 9


def test_asdf_files_in_a_bucket_are_fetched_once_and_read_as_local_ones(bucket, tmp_path):
    """HDF5 reads a file in place: the bucket's ASDF objects come whole into a folder under
    TMPDIR and the run is the local run over the same files; a second run fetches nothing,
    an object replaced since is fetched again, one object URL is that file alone."""
    s3, name, proxy = bucket
    two = FIXTURES / "asdf" / "two_events.h5"
    s3.put_object(Bucket=name, Key="sets/b/two_events.h5", Body=two.read_bytes())
    s3.put_object(Bucket=name, Key="sets/notes.txt", Body=b"not a data set")
    chain = tmp_path / "demean.toml"
    chain.write_text('[[step]]\nop = "detrend"\ntype = "demean"\n')
    local_in = tmp_path / "local" / "b"
    local_in.mkdir(parents=True)
    shutil.copy(two, local_in / "two_events.h5")
    p = seisbatch("run", chain, "--input", tmp_path / "local", "--output", tmp_path / "want",
                  "--format", "sac", "--quiet")
    assert p.returncode == 0, p.stderr
    want = {str(f.relative_to(tmp_path / "want")): f.read_bytes()
            for f in (tmp_path / "want").rglob("*.sac")}
    assert len(want) == 2
    env = {"TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()

    def run(url, out):
        p = seisbatch("run", chain, "--input", url, "--output", tmp_path / out, "--format",
                      "sac", "--s3-endpoint", proxy.endpoint, env_extra=env)
        assert p.returncode == 0, p.stderr
        got = {str(f.relative_to(tmp_path / out)): f.read_bytes()
               for f in (tmp_path / out).rglob("*.sac")}
        return p.stderr, got

    # Throttled and cut off mid-body while it fetches: retried, never short.
    before = dict(proxy.faults.served)  # the proxy serves the whole module
    proxy.faults.slowdown_gets = 2
    proxy.faults.drop_gets = 1
    err, got = run(f"s3://{name}/sets", "o1")
    assert {k: proxy.faults.served[k] - before.get(k, 0) for k in proxy.faults.served} == {
        "slowdown": 2, "dropped": 1}
    assert got == want
    assert "1 ASDF objects fetched" in err and "1 other objects not read" in err, err
    err, got = run(f"s3://{name}/sets", "o2")
    assert got == want and "0 ASDF objects fetched" in err and "1 already here" in err, err
    # Replaced in the bucket: fetched again, the new data set's station only.
    s3.put_object(Bucket=name, Key="sets/b/two_events.h5",
                  Body=(FIXTURES / "asdf" / "event_2014-01-01.h5").read_bytes())
    err, got = run(f"s3://{name}/sets", "o3")
    assert "1 ASDF objects fetched" in err, err
    assert len(got) >= 3 and all("GR.FUR" in k for k in got), sorted(got)
    # One object named whole: that file is the input (its folder is the output's name).
    err, got = run(f"s3://{name}/sets/b/two_events.h5", "o4")
    assert got and all(k.startswith("two_events/") for k in got), sorted(got)
    # Two runs fetching one prefix at once (shards on one machine): each its own copy.
    fresh = {"TMPDIR": str(tmp_path / "tmp2")}
    (tmp_path / "tmp2").mkdir()
    env2 = s3server.environment()
    env2.update(fresh)
    procs = [subprocess.Popen([cli_binary(), "run", str(chain), "--input", f"s3://{name}/sets",
                               "--output", str(tmp_path / f"c{k}"), "--format", "sac",
                               "--s3-endpoint", proxy.endpoint, "--quiet"], env=env2,
                              stderr=subprocess.PIPE, text=True) for k in range(2)]
    for pr in procs:
        assert pr.wait(timeout=120) == 0, pr.stderr.read()
        pr.stderr.close()
    c0 = {f.relative_to(tmp_path / "c0"): f.read_bytes() for f in (tmp_path / "c0").rglob("*.sac")}
    c1 = {f.relative_to(tmp_path / "c1"): f.read_bytes() for f in (tmp_path / "c1").rglob("*.sac")}
    assert c0 == c1 and len(c0) >= 3
    # A prefix without ASDF objects is a usage error that says what to do.
    p = seisbatch("run", chain, "--input", f"s3://{name}/archive", "--output", tmp_path / "o5",
                  "--s3-endpoint", proxy.endpoint, env_extra=env)
    assert p.returncode == 2 and "no ASDF object" in p.stderr and "--window" in p.stderr


def asdf_waveforms(data):
    """{(station, trace id, start): samples} of an ASDF file's bytes, read by pyasdf."""
    pyasdf = pytest.importorskip("pyasdf")
    import tempfile
    with tempfile.NamedTemporaryFile(suffix=".h5") as f:
        f.write(data)
        f.flush()
        with pyasdf.ASDFDataSet(f.name, mode="r") as ds:
            out = {}
            for s in ds.waveforms.list():
                sta = ds.waveforms[s]
                for tag in sta.get_waveform_tags():
                    for tr in sta[tag]:
                        out[(s, tr.id, str(tr.stats.starttime))] = tr.data.tolist()
            return out


def test_asdf_and_data_sets_go_up_whole_at_the_end_and_resume_on_a_new_machine(bucket, tmp_path):
    """--format asdf and --layout dataset to a bucket: the files grow while the run goes on, so
    they go up at its end (a large one in parts, read from the stage part by part), then their
    inputs' journal lines; a resume on a new machine fetches the data set, adds to it and
    replaces its own object; another's object at the key is never replaced."""
    s3, name, proxy = bucket
    chain = tmp_path / "demean.toml"
    chain.write_text('[[step]]\nop = "detrend"\ntype = "demean"\n')
    two = FIXTURES / "asdf" / "two_events.h5"
    one = FIXTURES / "asdf" / "event_2014-01-01.h5"
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(two, src / "b.h5")

    def run(out, stage, *extra):
        return seisbatch("run", chain, "--input", src, "--output", f"s3://{name}/{out}",
                         "--stage", tmp_path / stage, "--s3-endpoint", proxy.endpoint,
                         "--quiet", *extra, env_extra={"SEISBATCH_TEST_PART_BYTES": "20000"})

    # Per event: b/b.h5, as the local run writes it.
    p = seisbatch("run", chain, "--input", src, "--output", tmp_path / "local", "--format",
                  "asdf", "--quiet")
    assert p.returncode == 0, p.stderr
    want = asdf_waveforms((tmp_path / "local" / "b" / "b.h5").read_bytes())
    assert len(want) == 2
    p = run("ev", "st1", "--format", "asdf")
    assert p.returncode == 0, p.stderr
    objs = objects(s3, name, "ev")
    assert asdf_waveforms(objs["b/b.h5"]) == want
    assert "b/b.mseed" not in objs
    journal = [json.loads(l) for l in objs[".seisbatch/journal.jsonl"].splitlines()]
    assert len(journal) == 2 and all(e.get("appended") for e in journal), journal
    assert json.loads(objs["report.json"])["object_store"]["published"]["objects"] == 1
    # A multipart upload (the ~50 kB file over 20,000-byte parts), completed last.
    assert any(m == "POST" and q.startswith("uploads") for m, _, q in proxy.faults.log)

    # The data set layout; then a new input and --resume from an empty stage elsewhere.
    p = run("ds", "st2", "--layout", "dataset")
    assert p.returncode == 0, p.stderr
    first = asdf_waveforms(objects(s3, name, "ds")["dataset.h5"])
    assert first == want
    shutil.copy(one, src / "a.h5")
    p = run("ds", "st3", "--layout", "dataset", "--resume")
    assert p.returncode == 0, p.stderr
    objs = objects(s3, name, "ds")
    both = asdf_waveforms(objs["dataset.h5"])
    assert set(first) < set(both) and len(both) > len(first) + 2, sorted(both)
    journal = [json.loads(l) for l in objs[".seisbatch/journal.jsonl"].splitlines()]
    assert len(journal) == 3, journal  # b's two stations, a's one

    # Another's object where the event file goes: named, not replaced, exit 1.
    s3.put_object(Bucket=name, Key="other/b/b.h5", Body=b"someone else's")
    p = run("other", "st4", "--format", "asdf")
    assert p.returncode == 1 and "another object is there" in p.stderr, p.stderr
    assert objects(s3, name, "other")["b/b.h5"] == b"someone else's"


def test_per_event_miniseed_goes_up_at_the_end_with_the_local_runs_bytes(bucket, tmp_path):
    s3, name, proxy = bucket
    data = FIXTURES.parent.parent / "examples" / "data"
    chain = tmp_path / "demean.toml"
    chain.write_text('[[step]]\nop = "detrend"\ntype = "demean"\n')
    p = seisbatch("run", chain, "--input", data, "--output", tmp_path / "local", "--layout",
                  "per-event", "--quiet")
    assert p.returncode == 0, p.stderr
    want = (tmp_path / "local" / "event_2014-01-01" / "event_2014-01-01.mseed").read_bytes()
    p = seisbatch("run", chain, "--input", data, "--output", f"s3://{name}/pe", "--stage",
                  tmp_path / "stage", "--layout", "per-event", "--s3-endpoint", proxy.endpoint,
                  "--quiet")
    assert p.returncode == 0, p.stderr
    objs = objects(s3, name, "pe")
    assert objs["event_2014-01-01/event_2014-01-01.mseed"] == want
    journal = [json.loads(l) for l in objs[".seisbatch/journal.jsonl"].splitlines()]
    assert len(journal) == 3
