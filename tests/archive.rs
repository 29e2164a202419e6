//! Continuous archives (issue #26): windows cut across day files of an SDS archive equal
//! ObsPy's SDS client + the chain (tests/fixtures/make_archive.py), on both executors; the
//! index as Parquet and `--catalog` runs equal to `--input` runs; outputs, journal and resume
//! per (channel, window); windows without data listed; shards by window.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{bin, exit_in, fixture, outputs, read_f64, rel_l2, report};

const W1: &str = "2020-01-01T23:40:00/2020-01-02T00:40:00";
const W2: &str = "2020-01-02T23:40:00/2020-01-03T00:40:00";

fn archive() -> PathBuf {
    fixture("archive")
}

/// `seisbatch run chain.toml` over the fixture archive (or its catalog) into `out`, exit 0.
fn run(out: &Path, source: &[&str], extra: &[&str]) -> std::process::Output {
    run_exiting(out, source, extra, 0)
}

/// [`run`], expecting exit `code`.
fn run_exiting(out: &Path, source: &[&str], extra: &[&str], code: i32) -> std::process::Output {
    let a = archive();
    let o = bin()
        .arg("run")
        .arg(a.join("chain.toml"))
        .args(source)
        .arg("--inventory")
        .arg(a.join("GR.FUR.xml"))
        .arg("--output")
        .arg(out)
        .args(["--format", "mseed", "--quiet"])
        .args(extra)
        .output()
        .unwrap();
    exit_in(&o, &[code]);
    o
}

fn input() -> Vec<String> {
    vec![
        "--input".into(),
        archive().join("sds").display().to_string(),
    ]
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// golden.json: per "LABEL/NET.STA.LOC.CHA", ObsPy's pieces.
#[derive(serde::Deserialize)]
struct Piece {
    start_ns: i64,
    npts: usize,
    rate: f64,
    file: String,
}

fn golden() -> BTreeMap<String, Vec<Piece>> {
    let text = std::fs::read_to_string(archive().join("golden.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every output trace under `out`, by "LABEL/NET.STA.LOC.CHA", in time order.
fn traces(out: &Path) -> BTreeMap<String, Vec<seisbatch::trace::Trace>> {
    let mut by: BTreeMap<String, Vec<seisbatch::trace::Trace>> = BTreeMap::new();
    for (rel, bytes) in outputs(out).0 {
        if rel.extension().is_none_or(|e| e != "mseed") {
            continue;
        }
        let label = rel.parent().unwrap().display().to_string();
        for t in seisbatch::read::mseed::read_bytes(&bytes).traces {
            by.entry(format!("{label}/{}", t.id())).or_default().push(t);
        }
    }
    for v in by.values_mut() {
        v.sort_by_key(|t| t.start_ns);
    }
    by
}

/// The windows of `labels` under `out` equal ObsPy's within `tol` (relative L2 per piece).
fn equal_obspy(out: &Path, labels: &[&str], tol: f64) {
    let got = traces(out);
    let want = golden();
    let mut checked = 0;
    for (key, pieces) in want
        .iter()
        .filter(|(k, _)| labels.iter().any(|l| k.starts_with(l)))
    {
        let g = got
            .get(key)
            .unwrap_or_else(|| panic!("{key}: no output ({:?})", got.keys()));
        assert_eq!(g.len(), pieces.len(), "{key}: pieces");
        for (t, p) in g.iter().zip(pieces) {
            assert_eq!((t.start_ns, t.data.len()), (p.start_ns, p.npts), "{key}");
            assert!(
                (t.sampling_rate - p.rate).abs() < 1e-9,
                "{key}: rate {}",
                t.sampling_rate
            );
            let w = read_f64(&format!("archive/golden/{}", p.file));
            let e = rel_l2(&t.data, &w);
            assert!(
                e < tol,
                "{key} piece at {}: rel L2 {e:e} > {tol:e}",
                p.start_ns
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "{checked} pieces checked");
}

#[test]
fn windows_across_midnight_equal_obspys_sds_client_on_the_cpu_path() {
    let d = tempfile::tempdir().unwrap();
    // W1: each channel's day-1 file runs 30 s past midnight and its day-2 file repeats those
    // samples (merged); HHN has a 12.5 s gap (two pieces, as merge(-1) leaves them).
    run(
        &d.path().join("w1"),
        &args(&input()),
        &["--window", W1, "--device", "cpu"],
    );
    equal_obspy(
        &d.path().join("w1"),
        &["20200101T234000Z"],
        common::CPU_REL_L2_TOL,
    );
    // W2: HHE's 40 Hz day then its 40.000016 Hz day (one trace at 40 Hz, as libmseed joins
    // them); HHN's 5 s overlap of different data (two pieces).
    run(
        &d.path().join("w2"),
        &args(&input()),
        &["--window", W2, "--device", "cpu"],
    );
    equal_obspy(
        &d.path().join("w2"),
        &["20200102T234000Z"],
        common::CPU_REL_L2_TOL,
    );
    let r = report(&d.path().join("w2"));
    let w = r["warnings"].to_string();
    assert!(w.contains("joined as one rate, 40 Hz"), "{w}");
    assert!(w.contains("GR.FUR..HHN is 2 pieces"), "{w}");
    // An event's window, origin-60/origin+900 from --events.
    let ev = archive().join("events.csv").display().to_string();
    run(
        &d.path().join("ev"),
        &args(&input()),
        &[
            "--events",
            &ev,
            "--window",
            "origin-60/origin+900",
            "--device",
            "cpu",
        ],
    );
    equal_obspy(&d.path().join("ev"), &["ev1/"], common::CPU_REL_L2_TOL);
}

#[test]
fn windows_across_midnight_equal_obspys_sds_client_on_the_gpu_path() {
    if !common::gpu_available() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    run(
        &d.path().join("w2"),
        &args(&input()),
        &["--window", W2, "--device", "gpu"],
    );
    let r = report(&d.path().join("w2"));
    assert_eq!(r["traces_on_device"], 4, "{r}");
    equal_obspy(
        &d.path().join("w2"),
        &["20200102T234000Z"],
        common::GPU_REL_L2_TOL,
    );
}

#[test]
fn a_gap_policy_fills_a_gap_inside_a_window() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o");
    run(
        &out,
        &args(&input()),
        &[
            "--window",
            W1,
            "--gaps",
            "interpolate",
            "--max-gap",
            "20",
            "--device",
            "cpu",
        ],
    );
    let t = traces(&out);
    let hhn = &t["20200101T234000Z__20200102T004000Z/GR.FUR..HHN"];
    // One piece: 60 minutes at 20 Hz after decimate, both ends included.
    assert_eq!(hhn.len(), 1);
    assert_eq!(hhn[0].data.len(), 72001);
    assert!(report(&out)["warnings"]
        .to_string()
        .contains("1 gap(s) filled (500 samples, interpolated)"));
}

#[test]
fn segments_list_windows_without_data_and_below_the_coverage() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o");
    run(
        &out,
        &args(&input()),
        &[
            "--segment",
            "3600",
            "--step",
            "1800",
            "--start",
            "2020-01-01T23:00:00",
            "--end",
            "2020-01-02T02:00:00",
            "--min-coverage",
            "0.8",
            "--device",
            "cpu",
        ],
    );
    let r = report(&out);
    let w = &r["windows"];
    // 23:00, 23:30, 00:00, 00:30, 01:00, 01:30: the last two reach past the day-2 morning's
    // end at 01:10 (01:00 covers 1/6, 01:30 nothing).
    assert_eq!(w["windows"], 6, "{w}");
    assert_eq!(w["units"], 15, "{w}");
    assert_eq!(w["without_data_count"], 3, "{w}");
    assert_eq!(
        w["without_data"][0]["window"],
        "20200102T013000Z__20200102T023000Z"
    );
    // Below --min-coverage: 00:30 (40 of 60 minutes) and 01:00 (10 of 60), each channel.
    assert_eq!(w["below_coverage_count"], 6, "{w}");
    let low: Vec<(String, String, f64)> = w["below_coverage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["window"].as_str().unwrap().to_string(),
                x["id"].as_str().unwrap().to_string(),
                x["coverage"].as_f64().unwrap(),
            )
        })
        .collect();
    for (i, (window, id, cov)) in low.iter().enumerate() {
        let (want_w, want_c) = if i < 3 {
            ("20200102T003000Z__20200102T013000Z", 40.0 / 60.0)
        } else {
            ("20200102T010000Z__20200102T020000Z", 10.0 / 60.0)
        };
        assert_eq!(window, want_w);
        assert_eq!(id, ["GR.FUR..HHE", "GR.FUR..HHN", "GR.FUR..HHZ"][i % 3]);
        assert!((cov - want_c).abs() < 1e-3, "{window} {id} {cov}");
    }
    // A resumed run reports them as the run did (from the journal).
    let seg: Vec<&str> = [
        "--segment",
        "3600",
        "--step",
        "1800",
        "--start",
        "2020-01-01T23:00:00",
        "--end",
        "2020-01-02T02:00:00",
        "--min-coverage",
        "0.8",
        "--device",
        "cpu",
        "--resume",
    ]
    .to_vec();
    run(&out, &args(&input()), &seg);
    let again = report(&out);
    assert_eq!(again["windows"]["below_coverage"], w["below_coverage"]);
    assert_eq!(again["windows"]["below_coverage_count"], 6);
    let labels: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir() && !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        labels,
        [
            "20200101T230000Z__20200102T000000Z",
            "20200101T233000Z__20200102T003000Z",
            "20200102T000000Z__20200102T010000Z",
        ]
    );
}

#[test]
fn catalog_runs_equal_input_runs_byte_for_byte_and_reindexing_reads_only_what_changed() {
    let d = tempfile::tempdir().unwrap();
    // A copy of the archive, so that one file can change.
    let sds = d.path().join("sds");
    common::copy_dir(&archive().join("sds"), &sds);
    let cat = d.path().join("sds.parquet");
    let o = bin()
        .arg("index")
        .arg(&sds)
        .arg("--output")
        .arg(&cat)
        .output()
        .unwrap();
    exit_in(&o, &[0]);
    let said = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        said.contains("indexed 9 files (9 read, 0 unchanged"),
        "{said}"
    );
    assert!(said.contains("3 channels"), "{said}");
    assert!(said.contains("GR.FUR..HHN: gap of 12.5"), "{said}");
    let src = vec!["--input".to_string(), sds.display().to_string()];
    let via_cat = vec!["--catalog".to_string(), cat.display().to_string()];
    for w in [W1, W2] {
        let (a, b) = (
            d.path().join(format!("a{}", &w[..10])),
            d.path().join(format!("b{}", &w[..10])),
        );
        run(&a, &args(&src), &["--window", w, "--device", "cpu"]);
        run(&b, &args(&via_cat), &["--window", w, "--device", "cpu"]);
        let (oa, ob) = (outputs(&a).0, outputs(&b).0);
        assert!(oa.len() >= 3);
        assert_eq!(oa, ob, "--catalog and --input outputs differ");
    }
    // Index again after one file changed: only it is read.
    let f = sds.join("2020/GR/FUR/HHZ.D/GR.FUR..HHZ.D.2020.003");
    let bytes = std::fs::read(&f).unwrap();
    std::fs::write(&f, &bytes[..bytes.len() - 512]).unwrap();
    let o = bin()
        .arg("index")
        .arg(&sds)
        .arg("--output")
        .arg(&cat)
        .output()
        .unwrap();
    exit_in(&o, &[0]);
    let said = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        said.contains("indexed 9 files (1 read, 8 unchanged"),
        "{said}"
    );
    // A run from a catalog older than a file refuses that file, names it, and journals
    // nothing for it (--resume after indexing again reads it).
    std::fs::write(&f, &bytes).unwrap();
    let out = d.path().join("stale");
    let a = archive();
    let o = bin()
        .arg("run")
        .arg(a.join("chain.toml"))
        .args([
            "--catalog",
            &cat.display().to_string(),
            "--window",
            W2,
            "--device",
            "cpu",
            "--quiet",
        ])
        .arg("--inventory")
        .arg(a.join("GR.FUR.xml"))
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    exit_in(&o, &[3]);
    let r = report(&out);
    let p = r["file_problems"].to_string();
    assert!(p.contains("changed since it was indexed"), "{p}");
    assert!(p.contains("GR.FUR..HHZ.D.2020.003"), "{p}");
}

#[test]
fn the_output_catalog_lists_every_output_with_its_times() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o");
    run(&out, &args(&input()), &["--window", W1, "--device", "cpu"]);
    let cat = seisbatch::archive::catalog::read(&out.join("catalog.parquet")).unwrap();
    let t = traces(&out);
    let n: usize = t.values().map(Vec::len).sum();
    assert_eq!(cat.runs.len(), n);
    for r in &cat.runs {
        let (net, sta, loc, cha) = &cat.channels[r.channel];
        let label = cat.files[r.file]
            .rel
            .parent()
            .unwrap()
            .display()
            .to_string();
        let pieces = &t[&format!("{label}/{net}.{sta}.{loc}.{cha}")];
        assert!(
            pieces
                .iter()
                .any(|p| p.start_ns == r.start_ns && p.data.len() as u64 == r.npts),
            "{r:?}"
        );
    }
}

#[test]
fn resume_and_shards_work_per_channel_window() {
    let d = tempfile::tempdir().unwrap();
    let seg = [
        "--segment",
        "3600",
        "--start",
        "2020-01-01T23:00:00",
        "--end",
        "2020-01-02T01:00:00",
    ];
    let whole = d.path().join("whole");
    run(
        &whole,
        &args(&input()),
        &[&seg[..], &["--device", "cpu"]].concat(),
    );
    // The journal knows each (window, channel) by name.
    let journal = std::fs::read_to_string(whole.join(".seisbatch/journal.jsonl")).unwrap();
    assert!(
        journal.contains("20200101T230000Z__20200102T000000Z/raw/GR.FUR..HHZ__20200101T230000Z__20200102T000000Z"),
        "{journal}"
    );
    assert_eq!(journal.lines().count(), 6);
    // Resume: nothing is done again.
    let o = run(
        &whole,
        &args(&input()),
        &[&seg[..], &["--device", "cpu", "--resume"]].concat(),
    );
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(whole.join(".seisbatch/journal.jsonl")).unwrap(),
        journal
    );
    // Two shards together write what one run writes, each a whole window.
    let sharded = d.path().join("sharded");
    for k in ["0/2", "1/2"] {
        run(
            &sharded,
            &args(&input()),
            &[&seg[..], &["--device", "cpu", "--shard", k]].concat(),
        );
    }
    assert_eq!(outputs(&sharded).0, outputs(&whole).0);
}

#[test]
fn bad_window_requests_are_usage_errors() {
    let d = tempfile::tempdir().unwrap();
    for (extra, says) in [
        (
            vec!["--window", "2020-01-02/2020-01-01"],
            "end must come after",
        ),
        (vec!["--window", "origin-60/origin+900"], "needs --events"),
        (vec!["--segment", "0"], "--segment must be"),
        (
            vec![
                "--segment",
                "0.001",
                "--start",
                "2000-01-01",
                "--end",
                "2020-01-01",
            ],
            "more than",
        ),
        (
            vec!["--min-coverage", "0.5"],
            "--window START/END or --segment",
        ),
        (
            vec!["--window", W1, "--min-coverage", "2"],
            "--min-coverage must be",
        ),
    ] {
        let a = archive();
        let o = bin()
            .arg("run")
            .arg(a.join("chain.toml"))
            .arg("--input")
            .arg(a.join("sds"))
            .arg("--output")
            .arg(d.path().join("o"))
            .args(&extra)
            .output()
            .unwrap();
        exit_in(&o, &[2]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{extra:?}: {err}");
        assert!(!d.path().join("o").join("report.json").exists());
    }
}

#[test]
fn a_merge_step_joins_a_windows_pieces_as_obspys_merge() {
    let d = tempfile::tempdir().unwrap();
    let chain = d.path().join("merge.toml");
    // merge(fill_value=0) then demean: HHN's 12.5 s gap (500 samples at 40 Hz) becomes zeros
    // in one trace, which a merge-less run leaves as two pieces.
    std::fs::write(
        &chain,
        "[[step]]\nop = \"merge\"\nfill_value = 0\n\n[[step]]\nop = \"detrend\"\ntype = \"demean\"\n",
    )
    .unwrap();
    let out = d.path().join("o");
    let o = bin()
        .arg("run")
        .arg(&chain)
        .args(input())
        .args([
            "--window", W1, "--device", "cpu", "--format", "mseed", "--quiet", "--output",
        ])
        .arg(&out)
        .output()
        .unwrap();
    exit_in(&o, &[0]);
    let t = traces(&out);
    let hhn = &t["20200101T234000Z__20200102T004000Z/GR.FUR..HHN"];
    assert_eq!(hhn.len(), 1);
    assert_eq!(hhn[0].data.len(), 144001);
    // The filled stretch holds one value (0 minus the trace's mean), 500 samples long.
    let at = 40 * 40 * 60; // 00:20:00 is 40 minutes after 23:40:00
    let fill = hhn[0].data[at];
    assert!(hhn[0].data[at..at + 500].iter().all(|&v| v == fill));
    assert_ne!(hhn[0].data[at + 500], fill);
    let r = report(&out);
    assert_eq!(r["pipeline"]["steps"][0]["fill_value"], 0.0);
}

#[test]
fn a_memory_budget_admits_windows_while_they_fit() {
    let d = tempfile::tempdir().unwrap();
    let seg = [
        "--segment",
        "3600",
        "--start",
        "2020-01-01T23:00:00",
        "--end",
        "2020-01-02T01:00:00",
    ];
    let free = d.path().join("free");
    run(
        &free,
        &args(&input()),
        &[&seg[..], &["--device", "cpu", "--jobs", "1"]].concat(),
    );
    // One window of one channel: 3600 s at 40 Hz, 160 bytes a sample modeled (~23 MB).
    let one = 144_001.0 * 160.0;
    for (gb, most) in [("0.000001", 1.2 * one), ("0.08", 80e6)] {
        let out = d.path().join(format!("m{gb}"));
        run(
            &out,
            &args(&input()),
            &[
                &seg[..],
                &["--device", "cpu", "--jobs", "2", "--memory", gb],
            ]
            .concat(),
        );
        let m = &report(&out)["memory"];
        assert_eq!(
            m["budget_bytes"].as_f64().unwrap(),
            gb.parse::<f64>().unwrap() * 1e9
        );
        assert_eq!(m["bytes_per_sample_modeled"], 160);
        let peak = m["peak_admitted_bytes"].as_f64().unwrap();
        // Below the budget, or one window alone when even that does not fit.
        assert!(peak > 0.8 * one && peak <= most, "{gb} GB: peak {peak}");
        assert_eq!(
            outputs(&out).0,
            outputs(&free).0,
            "--memory changed the outputs"
        );
    }
}

#[test]
fn a_damaged_record_in_a_window_is_named_in_its_own_file() {
    let d = tempfile::tempdir().unwrap();
    let sds = d.path().join("sds");
    common::copy_dir(&archive().join("sds"), &sds);
    // Garbage over one record of HHZ's day 2, inside W1 (00:00 to 00:40 of 2020-01-02).
    let f = sds.join("2020/GR/FUR/HHZ.D/GR.FUR..HHZ.D.2020.002");
    let mut bytes = std::fs::read(&f).unwrap();
    let at = 512 * 40;
    bytes[at..at + 512].fill(0xAB);
    std::fs::write(&f, &bytes).unwrap();
    let out = d.path().join("o");
    let src = ["--input".to_string(), sds.display().to_string()];
    run_exiting(&out, &args(&src), &["--window", W1, "--device", "cpu"], 3);
    let r = report(&out);
    let p = &r["file_problems"][0];
    assert!(
        p["file"]
            .as_str()
            .unwrap()
            .ends_with("GR.FUR..HHZ.D.2020.002"),
        "{p}"
    );
    // The damaged bytes as offsets in that file, not in the window's buffer.
    assert_eq!(p["bytes"][0], at as u64, "{p}");
    assert!(p["bytes"][1].as_u64().unwrap() >= (at + 512) as u64, "{p}");
    // The other channels are untouched; HHZ is two pieces around the lost record.
    let t = traces(&out);
    assert_eq!(t["20200101T234000Z__20200102T004000Z/GR.FUR..HHE"].len(), 1);
    assert_eq!(t["20200101T234000Z__20200102T004000Z/GR.FUR..HHZ"].len(), 2);
    // A run from the catalog says the same: the index keeps what it found.
    let cat = d.path().join("c.parquet");
    exit_in(
        &bin()
            .arg("index")
            .arg(&sds)
            .arg("--output")
            .arg(&cat)
            .output()
            .unwrap(),
        &[0],
    );
    let out2 = d.path().join("o2");
    let src = ["--catalog".to_string(), cat.display().to_string()];
    run_exiting(&out2, &args(&src), &["--window", W1, "--device", "cpu"], 3);
    assert_eq!(report(&out2)["file_problems"], r["file_problems"]);
    assert_eq!(outputs(&out2).0, outputs(&out).0);
}

/// The day-long noise preprocessing chain (demean, linear detrend, taper, remove_response VEL
/// with pre_filt, band-pass 0.05-2 Hz, decimate to 20 Hz) on a whole 40 Hz day, 3,456,000
/// samples, against ObsPy's SDS client + chain (every 16th output sample kept in the fixture).
fn day_equals_obspy(device: &str, tol: f64) {
    #[derive(serde::Deserialize)]
    struct Day {
        start_ns: i64,
        npts: usize,
        rate: f64,
        every: usize,
    }
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o");
    let a = archive();
    let src = vec![
        "--input".to_string(),
        a.join("day/sds").display().to_string(),
    ];
    run(
        &out,
        &args(&src),
        &[
            "--window",
            "2020-01-05T00:00:00/2020-01-05T23:59:59.975",
            "--device",
            device,
        ],
    );
    let want: Day =
        serde_json::from_str(&std::fs::read_to_string(a.join("golden_day.json")).unwrap()).unwrap();
    let golden = read_f64("archive/golden_day.f64");
    let t = traces(&out);
    let got = &t["20200105T000000Z__20200105T235959.975000000Z/GR.FUR..HHZ"];
    assert_eq!(got.len(), 1);
    let g = &got[0];
    assert_eq!(
        (g.start_ns, g.data.len(), g.sampling_rate),
        (want.start_ns, want.npts, want.rate)
    );
    let sub: Vec<f64> = g.data.iter().step_by(want.every).copied().collect();
    let e = rel_l2(&sub, &golden);
    assert!(
        e < tol,
        "{device}: rel L2 {e:e} over every {}th sample",
        want.every
    );
    let r = report(&out);
    if device == "gpu" {
        assert_eq!(r["traces_on_device"], 1, "{}", r["warnings"]);
    }
}

#[test]
fn a_day_long_noise_chain_equals_obspy_on_the_cpu_path() {
    day_equals_obspy("cpu", common::CPU_REL_L2_TOL);
}

#[test]
fn a_day_long_noise_chain_equals_obspy_on_the_gpu_path() {
    if common::gpu_available() {
        day_equals_obspy("gpu", common::GPU_REL_L2_TOL);
    }
}

/// The 40 Hz day through the day chain on the device with the environment `env`: its output
/// folder and report.
fn day_on_device(d: &Path, name: &str, env: &[(&str, &str)]) -> (PathBuf, serde_json::Value) {
    let a = archive();
    let out = d.join(name);
    let o = bin()
        .arg("run")
        .arg(a.join("chain.toml"))
        .arg("--input")
        .arg(a.join("day/sds"))
        .arg("--inventory")
        .arg(a.join("GR.FUR.xml"))
        .arg("--output")
        .arg(&out)
        .args(["--format", "mseed", "--quiet", "--device", "gpu"])
        .args(["--window", "2020-01-05T00:00:00/2020-01-05T23:59:59.975"])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    exit_in(&o, &[0]);
    let r = report(&out);
    (out, r)
}

/// A 100 Hz day's f64 spectrum (276 MB) is above lavapipe's 128 MiB binding limit; with the
/// device taken to bind 64 or 40 MiB the 40 Hz day's (110.6 MB) are too. They run in two and
/// three parts (`record::PART_STRIDE`), on the device, with the bytes the whole buffers
/// give, through the f64 transforms and the f32 radix passes alike.
#[test]
fn buffers_above_the_binding_limit_run_in_parts_with_the_same_bytes() {
    if !common::gpu_available() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    // Three parts in f64, two with the f32 passes (a day on lavapipe is ~15 s a run).
    for (fft, limits) in [("f64", &["41943040"][..]), ("passes", &["67108864"][..])] {
        let (whole, r) = day_on_device(
            d.path(),
            &format!("{fft}-whole"),
            &[("SEISBATCH_GPU_FFT", fft)],
        );
        assert_eq!(r["traces_on_device"], 1, "{fft}: {}", r["warnings"]);
        let want = outputs(&whole).0;
        assert_eq!(want.len(), 1);
        for limit in limits {
            let (parts, r) = day_on_device(
                d.path(),
                &format!("{fft}-{limit}"),
                &[
                    ("SEISBATCH_GPU_FFT", fft),
                    ("SEISBATCH_TEST_GPU_MAX_BINDING", limit),
                ],
            );
            assert_eq!(r["traces_on_device"], 1, "{fft} {limit}: {}", r["warnings"]);
            assert_eq!(
                r["adapter"]["max_storage_binding_bytes"].to_string(),
                *limit
            );
            assert!(
                outputs(&parts).0 == want,
                "{fft} {limit}: the parts changed the output"
            );
        }
    }
    // Below a third of the spectrum, three parts cannot hold it: the CPU path runs the day and
    // the report says why.
    let (_, r) = day_on_device(
        d.path(),
        "too-small",
        &[("SEISBATCH_TEST_GPU_MAX_BINDING", "33554432")],
    );
    assert_eq!(r["traces_on_device"], 0);
    assert!(
        r["warnings"].to_string().contains("binds at most"),
        "{}",
        r["warnings"]
    );
}

/// `seisbatch plan`'s device memory for a day trace is what the run's batch sizing needs:
/// with the --gpu-memory it names the day runs on the device, with 6 % less on the CPU path
/// (the reason said).
#[test]
fn the_plans_gpu_memory_for_a_day_trace_is_what_the_run_needs() {
    if !common::gpu_available() {
        return;
    }
    let a = archive();
    let o = bin()
        .arg("plan")
        .arg(a.join("chain.toml"))
        .args([
            "--npts",
            "3456000",
            "--sampling-rate",
            "40",
            "--device",
            "gpu",
            "--json",
        ])
        .output()
        .unwrap();
    exit_in(&o, &[0]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mib = v["gpu"]["device_memory"]["gpu_memory_mib_for_one_trace"]
        .as_u64()
        .unwrap();
    let d = tempfile::tempdir().unwrap();
    let src = vec![
        "--input".to_string(),
        a.join("day/sds").display().to_string(),
    ];
    for (budget, on_device) in [(mib, 1), (mib * 94 / 100, 0)] {
        let out = d.path().join(format!("m{budget}"));
        let b = budget.to_string();
        run(
            &out,
            &args(&src),
            &[
                "--window",
                "2020-01-05T00:00:00/2020-01-05T23:59:59.975",
                "--device",
                "gpu",
                "--gpu-memory",
                &b,
            ],
        );
        let r = report(&out);
        assert_eq!(
            r["traces_on_device"], on_device,
            "--gpu-memory {budget}: {}",
            r["warnings"]
        );
        if on_device == 0 {
            assert!(r["warnings"]
                .to_string()
                .contains("device memory but the budget leaves"));
        }
    }
}

#[test]
fn a_window_without_any_data_is_listed_and_the_run_succeeds() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o");
    let o = run(
        &out,
        &args(&input()),
        &[
            "--window",
            "2019-06-01T00:00:00/2019-06-01T01:00:00",
            "--device",
            "cpu",
        ],
    );
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = report(&out);
    assert_eq!((r["ok"].as_u64(), r["failed"].as_u64()), (Some(0), Some(0)));
    assert_eq!(r["windows"]["without_data_count"], 3);
    let ids: Vec<&str> = r["windows"]["without_data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["GR.FUR..HHE", "GR.FUR..HHN", "GR.FUR..HHZ"]);
}

/// A catalog is state read as input: a FIFO, a folder, a file that is not Parquet or not ours
/// are usage errors before the output folder is touched (within seconds: a FIFO never blocks).
#[test]
fn a_catalog_that_is_not_one_is_refused_before_the_output_folder_is_touched() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("fifo.parquet");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let text = d.path().join("text.parquet");
    std::fs::write(&text, "net,sta\nGR,FUR\n").unwrap();
    let folder = d.path().join("folder.parquet");
    std::fs::create_dir(&folder).unwrap();
    // Real Parquet, not ours: no archive root in its metadata.
    let foreign = d.path().join("foreign.parquet");
    let mut cat = seisbatch::archive::catalog::to_bytes(
        &seisbatch::archive::index::Index::default(),
        &|_| "mseed",
    )
    .unwrap();
    let at = cat
        .windows(14)
        .position(|w| w == b"seisbatch.root")
        .unwrap();
    cat[at..at + 14].copy_from_slice(b"elsewhere.root");
    std::fs::write(&foreign, &cat).unwrap();
    // A finished run's folder, which a refused --resume must leave as it was.
    let done = d.path().join("done");
    run(&done, &args(&input()), &["--window", W1, "--device", "cpu"]);
    let before = common::tree(&done);
    let bytes_before = outputs(&done).0;
    for (c, says) in [
        (&fifo, "not a regular file"),
        (&text, "--catalog"),
        (&folder, "not a regular file"),
        (&foreign, "not a seisbatch catalog"),
    ] {
        for (out, extra) in [
            (d.path().join("new"), vec![]),
            (done.clone(), vec!["--resume"]),
        ] {
            let mut cmd = bin();
            cmd.arg("run")
                .arg(archive().join("chain.toml"))
                .arg("--catalog")
                .arg(c)
                .args(["--window", W1, "--device", "cpu", "--output"])
                .arg(&out)
                .args(&extra);
            let o = common::output_within(cmd, 20);
            exit_in(&o, &[2]);
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains(says), "{}: {err}", c.display());
        }
        assert!(!d.path().join("new").exists());
        assert_eq!(common::tree(&done), before);
        assert_eq!(outputs(&done).0, bytes_before);
    }
}

/// A record damaged after indexing (same size and mtime: the catalog cannot tell) in the
/// second file a window reads is named in that file's own bytes.
#[test]
fn damage_found_while_reading_a_window_is_named_in_its_files_bytes() {
    let d = tempfile::tempdir().unwrap();
    let sds = d.path().join("sds");
    common::copy_dir(&archive().join("sds"), &sds);
    let cat = d.path().join("c.parquet");
    exit_in(
        &bin()
            .arg("index")
            .arg(&sds)
            .arg("--output")
            .arg(&cat)
            .output()
            .unwrap(),
        &[0],
    );
    let f = sds.join("2020/GR/FUR/HHE.D/GR.FUR..HHE.D.2020.002");
    let modified = std::fs::metadata(&f).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&f).unwrap();
    let at = 512 * 30; // about 00:10 on 2020-01-02, inside W1
    bytes[at..at + 512].fill(0xAB);
    std::fs::write(&f, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    let out = d.path().join("o");
    let src = ["--catalog".to_string(), cat.display().to_string()];
    run_exiting(&out, &args(&src), &["--window", W1, "--device", "cpu"], 3);
    let r = report(&out);
    let probs = r["file_problems"].as_array().unwrap();
    assert_eq!(probs.len(), 1, "{probs:?}");
    let p = &probs[0];
    assert!(
        p["file"]
            .as_str()
            .unwrap()
            .ends_with("GR.FUR..HHE.D.2020.002"),
        "{p}"
    );
    assert_eq!(p["bytes"][0], at as u64, "{p}");
    assert!(p["bytes"][1].as_u64().unwrap() <= bytes.len() as u64, "{p}");
    assert!(r["failures"].as_array().unwrap().is_empty(), "{r}");
}

/// `rotate` finds a station's components of one window together (the units' names are
/// MassDownloader's): NE->RT over W1 equals ObsPy's formula on the same window's N and E.
#[test]
fn rotate_pairs_a_windows_components() {
    let d = tempfile::tempdir().unwrap();
    let rot = d.path().join("rot.toml");
    std::fs::write(
        &rot,
        "[[step]]\nop = \"rotate\"\nmethod = \"NE->RT\"\nback_azimuth = 30.0\n",
    )
    .unwrap();
    let nop = d.path().join("nop.toml");
    std::fs::write(&nop, "[[step]]\nop = \"select\"\nchannel = \"HH?\"\n").unwrap();
    // HHN's 12.5 s gap filled, so that N and E span the same window.
    let gaps = ["--gaps", "interpolate", "--max-gap", "20"];
    let mut outs = Vec::new();
    for (name, chain) in [("rot", &rot), ("raw", &nop)] {
        let out = d.path().join(name);
        let o = bin()
            .arg("run")
            .arg(chain)
            .args(input())
            .args([
                "--window", W1, "--device", "cpu", "--format", "mseed", "--quiet",
            ])
            .args(gaps)
            .arg("--output")
            .arg(&out)
            .output()
            .unwrap();
        exit_in(&o, &[0]);
        outs.push(traces(&out));
    }
    let w = "20200101T234000Z__20200102T004000Z";
    let one = |k: usize, cha: &str| outs[k][&format!("{w}/GR.FUR..{cha}")][0].clone();
    let (r, t, n, e) = (one(0, "HHR"), one(0, "HHT"), one(1, "HHN"), one(1, "HHE"));
    assert_eq!(
        (n.data.len(), e.data.len(), r.data.len()),
        (144_001, 144_001, 144_001)
    );
    // ObsPy's rotate_ne_rt, on the float32 samples both outputs hold.
    let ba = 30f64.to_radians();
    for i in (0..n.data.len()).step_by(997) {
        let (nn, ee) = (n.data[i], e.data[i]);
        let want_r = -ee * ba.sin() - nn * ba.cos();
        let want_t = -ee * ba.cos() + nn * ba.sin();
        assert!(
            (r.data[i] - want_r).abs() <= 1e-4 * (1.0 + want_r.abs()),
            "{i}"
        );
        assert!(
            (t.data[i] - want_t).abs() <= 1e-4 * (1.0 + want_t.abs()),
            "{i}"
        );
    }
}
