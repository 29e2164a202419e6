"""seisbatch.run (the CLI's batch run in-process) and the Dask example against one CLI run."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import seisbatch
from conftest import ROOT, cli_binary


def products(out):
    """Every output file (path -> bytes), the run's own records left out."""
    files = {}
    for p in sorted(pathlib.Path(out).rglob("*")):
        rel = p.relative_to(out)
        if (p.is_file() and ".seisbatch" not in rel.parts and not rel.name.startswith("report")
                and rel.name != "catalog.parquet"):
            files[str(rel)] = p.read_bytes()
    return files


def test_run_returns_the_report_and_writes_what_the_cli_writes(tmp_path):
    pipeline = ROOT / "examples" / "receiver_function.toml"
    events = ROOT / "examples" / "events.csv"
    report = seisbatch.run(pipeline, ROOT / "examples" / "data", tmp_path / "py",
                           format="sac", events=events, device="cpu", quiet=True)
    assert report["exit_code"] == 0
    assert report["ok"] == 3 and report["failed"] == 0
    assert "NE->RT" in str(report["pipeline"])
    cli = subprocess.run([cli_binary(), "run", str(pipeline), "--input",
                          str(ROOT / "examples" / "data"), "--output", str(tmp_path / "cli"),
                          "--format", "sac", "--events", str(events), "--device", "cpu",
                          "--quiet"], capture_output=True)
    assert cli.returncode == 0, cli.stderr
    a, b = products(tmp_path / "py"), products(tmp_path / "cli")
    assert sorted(a) == sorted(b) and len(a) == 3
    assert a == b
    # A Pipeline object works as well as a file, and usage errors raise.
    p = seisbatch.Pipeline.from_toml(ROOT / "examples" / "forum_chain.toml")
    report = seisbatch.run(p, ROOT / "examples" / "data", tmp_path / "obj", quiet=True)
    assert report["ok"] == 3
    with pytest.raises(ValueError, match="resume|different run|already"):
        seisbatch.run(p, ROOT / "examples" / "data", tmp_path / "obj", quiet=True)
    with pytest.raises(ValueError, match="--jobs|jobs"):
        seisbatch.run(p, ROOT / "examples" / "data", tmp_path / "bad", jobs="many")


@pytest.mark.parametrize("mode", ["events", "shards"])
def test_dask_example_on_a_local_cluster_equals_one_cli_run(tmp_path, mode):
    pytest.importorskip("dask.distributed")
    tree = tmp_path / "tree"
    seisbatch.synth(tree, events=4, stations=3, duration=120.0, rates=[20.0, 40.0], seed=7)
    pipeline = ROOT / "examples" / "velocity_bandpass.toml"
    cli = subprocess.run([cli_binary(), "run", str(pipeline), "--input", str(tree),
                          "--output", str(tmp_path / "cli"), "--format", "sac", "--device",
                          "cpu", "--quiet"], capture_output=True)
    assert cli.returncode == 0, cli.stderr
    ex = subprocess.run([sys.executable, str(ROOT / "examples" / "dask_tree.py"), str(pipeline),
                         "--input", str(tree), "--output", str(tmp_path / "dask"),
                         "--workers", "2", "--mode", mode], capture_output=True, timeout=600)
    assert ex.returncode == 0, ex.stderr.decode(errors="replace")[-4000:]
    assert json.loads(ex.stdout.decode().strip().splitlines()[-1])["ok"] == 4 * 3 * 3
    want, got = products(tmp_path / "cli"), products(tmp_path / "dask")
    assert len(want) == 4 * 3 * 3
    assert sorted(got) == sorted(want)
    assert got == want


def test_progress_goes_to_tqdm_when_shown(tmp_path, monkeypatch):
    seen = []

    class Bar:
        def __init__(self, total, unit, desc):
            self.total, self.n = total, 0

        def set_postfix(self, **kw):
            pass

        def refresh(self):
            seen.append((self.n, self.total))

        def close(self):
            seen.append(("closed", self.n, self.total))

    monkeypatch.setattr(seisbatch, "_show_progress", lambda: Bar)
    report = seisbatch.run(ROOT / "examples" / "forum_chain.toml", ROOT / "examples" / "data",
                           tmp_path / "out", quiet=True)
    assert report["ok"] == 3
    assert seen[-1] == ("closed", 3, 3)
    # Never more done than to do, and never going back.
    done = [n for n, total in seen[:-1]]
    assert done == sorted(done) and all(n <= t for n, t in seen[:-1] if t)
