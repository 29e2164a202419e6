"""The archive index as Parquet (issue #26), read as a user reads it: pyarrow/pandas, with
MsPASS's wf_miniseed columns, each row checked against ObsPy reading the bytes it names; and a
run's outputs' catalog against ObsPy reading the outputs."""

import shutil
import subprocess

import numpy as np
import pytest

from conftest import FIXTURES, cli_binary

pq = pytest.importorskip("pyarrow.parquet")
obspy = pytest.importorskip("obspy")

ARCHIVE = FIXTURES / "archive"
MSPASS = ["net", "sta", "loc", "chan", "starttime", "endtime", "npts", "sampling_rate", "delta",
          "dir", "dfile", "foff", "nbytes", "format", "storage_mode"]


def index(tmp_path):
    sds = tmp_path / "sds"
    shutil.copytree(ARCHIVE / "sds", sds)
    cat = tmp_path / "sds.parquet"
    p = subprocess.run([cli_binary(), "index", str(sds), "--output", str(cat)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return sds, cat


def test_each_row_is_what_obspy_reads_at_its_bytes(tmp_path):
    sds, cat = index(tmp_path)
    table = pq.read_table(cat)
    assert set(MSPASS) <= set(table.column_names)
    meta = pq.ParquetFile(cat).metadata.metadata
    assert meta[b"seisbatch.root"].decode() == str(sds.resolve())
    df = table.to_pandas()
    # One row per contiguous stretch of a channel in a file: days 1 and 3 one per channel; day
    # 2 a morning and an evening per channel, HHN's morning cut by its gap and its evening by
    # the overlap of different data (four).
    assert sorted(df.chan.unique()) == ["HHE", "HHN", "HHZ"]
    assert len(df) == 3 + 3 + (4 + 2 + 2)
    for row in df.itertuples():
        path = f"{row.dir}/{row.dfile}"
        with open(path, "rb") as f:
            f.seek(row.foff)
            raw = f.read(row.nbytes)
        st = obspy.read(__import__("io").BytesIO(raw))
        st = st.select(channel=row.chan)
        assert len(st) == 1, (row.dfile, row.foff, st)
        tr = st[0]
        assert tr.stats.npts == row.npts
        assert tr.stats.starttime.ns == row.start_ns
        assert abs(tr.stats.starttime.timestamp - row.starttime) < 1e-6
        assert abs(tr.stats.endtime.timestamp - row.endtime) < 1e-6
        assert tr.stats.sampling_rate == row.sampling_rate
        assert abs(row.delta - 1 / row.sampling_rate) < 1e-15
        assert (row.format, row.storage_mode) == ("mseed", "file")
        assert row.path == str((sds / row.dir[len(str(sds.resolve())) + 1:] / row.dfile).relative_to(sds))
    # The gaps between a channel's rows: HHN's 12.5 s gap on 2020-01-02.
    hhn = df[df.chan == "HHN"].sort_values("start_ns")
    assert np.isclose(hhn.gap_before_s.dropna(), 12.5).any()


def test_a_runs_outputs_catalog_matches_its_outputs(tmp_path):
    out = tmp_path / "out"
    p = subprocess.run([cli_binary(), "run", str(ARCHIVE / "chain.toml"), "--input",
                        str(ARCHIVE / "sds"), "--inventory", str(ARCHIVE / "GR.FUR.xml"),
                        "--window", "2020-01-01T23:40:00/2020-01-02T00:40:00", "--output",
                        str(out), "--device", "cpu", "--quiet"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    df = pq.read_table(out / "catalog.parquet").to_pandas()
    sac = sorted(out.rglob("*.sac"))
    assert len(df) == len(sac) == 4
    for row in df.itertuples():
        tr = obspy.read(f"{row.dir}/{row.dfile}")[0]
        assert row.format == "sac"
        assert tr.stats.npts == row.npts
        assert abs(tr.stats.starttime.timestamp - row.starttime) < 1e-6
        assert tr.stats.sampling_rate == row.sampling_rate
        assert (tr.stats.network, tr.stats.station, tr.stats.channel) == (row.net, row.sta, row.chan)


def test_python_runs_archive_windows_as_the_cli_does(tmp_path):
    import seisbatch
    from test_run import products
    w = "2020-01-02T23:40:00/2020-01-03T00:40:00"
    report = seisbatch.run(ARCHIVE / "chain.toml", ARCHIVE / "sds", tmp_path / "py",
                           inventory=ARCHIVE / "GR.FUR.xml", window=w, device="cpu",
                           quiet=True)
    assert report["exit_code"] == 0
    assert report["windows"]["units"] == 3 and report["ok"] == 4
    p = subprocess.run([cli_binary(), "run", str(ARCHIVE / "chain.toml"), "--input",
                        str(ARCHIVE / "sds"), "--inventory", str(ARCHIVE / "GR.FUR.xml"),
                        "--window", w, "--output", str(tmp_path / "cli"), "--device", "cpu",
                        "--quiet"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert products(tmp_path / "py") == products(tmp_path / "cli")


def test_python_runs_windows_from_a_catalog(tmp_path):
    import seisbatch
    from test_run import products
    sds, cat = index(tmp_path)
    w = "2020-01-01T23:40:00/2020-01-02T00:40:00"
    a = seisbatch.run(ARCHIVE / "chain.toml", None, tmp_path / "cat", catalog=cat,
                      inventory=ARCHIVE / "GR.FUR.xml", window=w, device="cpu", quiet=True)
    b = seisbatch.run(ARCHIVE / "chain.toml", sds, tmp_path / "in",
                      inventory=ARCHIVE / "GR.FUR.xml", window=w, device="cpu", quiet=True)
    assert a["exit_code"] == b["exit_code"] == 0 and a["ok"] == 4
    assert products(tmp_path / "cat") == products(tmp_path / "in")


def test_python_index_writes_the_clis_catalog(tmp_path):
    import seisbatch
    sds, cli_cat = index(tmp_path)
    got = seisbatch.index(sds, tmp_path / "py.parquet")
    assert got == {"files": 9, "read": 9, "unchanged": 0, "channels": 3, "segments": 14}
    a = pq.read_table(tmp_path / "py.parquet").to_pandas()
    b = pq.read_table(cli_cat).to_pandas()
    assert a.drop(columns=["file_mtime_ns"]).equals(b.drop(columns=["file_mtime_ns"]))
    # Again: nothing changed, nothing read.
    assert seisbatch.index(sds, tmp_path / "py.parquet")["unchanged"] == 9
    with pytest.raises(ValueError, match="not a folder"):
        seisbatch.index(tmp_path / "py.parquet", tmp_path / "x.parquet")
