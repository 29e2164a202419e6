//! `seisbatch correlate` end to end (issue #27): an archive of three stations over two days
//! where B records A's noise 3.2 s later and C 5.0 s later (C silent on day 2), correlated
//! as NoisePy's S1 would: every pair's peak at its delay (lag 0 at SAC's o), distances from
//! the StationXML, a pair without data on a day counted, stacks over the run, and bad
//! configurations and occupied output folders refused.

mod common;

use std::path::{Path, PathBuf};

use common::{bin, exit_in};

const SPS: f64 = 10.0;
const DAY: usize = 864_000;

fn day_start(d: usize) -> String {
    format!("2020-01-0{}T00:00:00", d + 1)
}

/// The archive: per day, a source's noise (seeded per day) at A, 3.2 s later at B, 5.0 s
/// later at C, each with noise of its own; C has no day 2.
fn archive(dir: &Path) -> PathBuf {
    let root = dir.join("arch");
    for d in 0..2 {
        let src = common::noise(100 + d as u64, DAY + 100);
        let own = |k: u64| common::noise(10 * k + d as u64, DAY);
        for (sta, lag, k) in [("A", 0usize, 1u64), ("B", 32, 2), ("C", 50, 3)] {
            if sta == "C" && d == 1 {
                continue;
            }
            let o = own(k);
            let mut tr = common::trace(["XX", sta, "", "HHZ"], &day_start(d), SPS, DAY);
            // x(t) = src(t - lag): src is indexed from 50 samples before the day.
            tr.data = (0..DAY)
                .map(|i| 1000.0 * (src[i + 50 - lag] + 0.3 * o[i]))
                .collect();
            common::write_mseed(&root.join(format!("XX.{sta}.HHZ.2020.00{}", d + 1)), &[tr]);
        }
    }
    root
}

fn inventory(dir: &Path) -> PathBuf {
    let station = |code: &str, lat: f64, lon: f64| {
        format!(
            r#"<Station code="{code}" startDate="2000-01-01T00:00:00"><Latitude>{lat}</Latitude><Longitude>{lon}</Longitude><Elevation>0</Elevation>
<Channel code="HHZ" locationCode="" startDate="2000-01-01T00:00:00"><Latitude>{lat}</Latitude><Longitude>{lon}</Longitude><Elevation>0</Elevation><Depth>0</Depth><Azimuth>0</Azimuth><Dip>-90</Dip><SampleRate>10</SampleRate></Channel></Station>"#
        )
    };
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><FDSNStationXML xmlns="http://www.fdsn.org/xml/station/1" schemaVersion="1.1"><Source>test</Source><Created>2020-01-01T00:00:00</Created><Network code="XX">{}{}{}</Network></FDSNStationXML>"#,
        station("A", 0.0, 0.0),
        station("B", 0.0, 0.1),
        station("C", 0.1, 0.0)
    );
    let p = dir.join("inv.xml");
    std::fs::write(&p, xml).unwrap();
    p
}

fn config(dir: &Path, extra: &str) -> PathBuf {
    let p = dir.join("noise.toml");
    std::fs::write(
        &p,
        format!(
            "cc_len = 600.0\nstep = 300.0\nfreqmin = 0.1\nfreqmax = 2.0\nmaxlag = 20.0\ntime_norm = \"one_bit\"\n{extra}"
        ),
    )
    .unwrap();
    p
}

/// A SAC file's delta, b, o, dist, npts and samples (the words seisbatch and ObsPy write).
struct Sac {
    delta: f64,
    b: f64,
    o: f64,
    dist: f64,
    data: Vec<f64>,
}

fn read_sac(p: &Path) -> Sac {
    let bytes = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let f = |k: usize| f32::from_le_bytes(bytes[4 * k..4 * k + 4].try_into().unwrap()) as f64;
    let npts = i32::from_le_bytes(bytes[280 + 9 * 4..280 + 10 * 4].try_into().unwrap()) as usize;
    let data = bytes[632..632 + 4 * npts]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
        .collect();
    Sac {
        delta: f(0),
        b: f(5),
        o: f(7),
        dist: f(50),
        data,
    }
}

/// The lag of a correlation's peak, seconds from lag 0 (o).
fn peak_lag(s: &Sac) -> f64 {
    let i = (0..s.data.len())
        .max_by(|&a, &b| s.data[a].total_cmp(&s.data[b]))
        .unwrap();
    s.b + i as f64 * s.delta - s.o
}

fn run_correlate(cfg: &Path, input: &Path, inv: &Path, out: &Path) -> std::process::Output {
    bin()
        .arg("correlate")
        .arg(cfg)
        .arg("--input")
        .arg(input)
        .arg("--inventory")
        .arg(inv)
        .arg("--output")
        .arg(out)
        .arg("--quiet")
        .output()
        .unwrap()
}

#[test]
fn pairs_peak_at_their_delays_per_day_and_stacked() {
    let d = tempfile::tempdir().unwrap();
    let (arch, inv) = (archive(d.path()), inventory(d.path()));
    let out = d.path().join("cc");
    let o = run_correlate(&config(d.path(), ""), &arch, &inv, &out);
    exit_in(&o, &[0]);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("correlate.json")).unwrap()).unwrap();
    assert_eq!(summary["chunks"], 2, "{summary}");
    assert_eq!(summary["channel_chunks"], 5, "{summary}");
    // Day 1: AB, AC, BC; day 2: AB, and AC, BC without C.
    assert_eq!(summary["correlations"], 4, "{summary}");
    assert_eq!(summary["pairs_missing"], 2, "{summary}");
    // 286 windows of 600 s every 300 s in a day, each station-day.
    assert_eq!(summary["windows_kept"], 5 * 286, "{summary}");
    let day1 = "20200101T000000Z__20200102T000000Z";
    let km = |a: (f64, f64), b: (f64, f64)| seisbatch_dist(a, b) / 1000.0;
    for (pair, lag, dist) in [
        ("XX.A._XX.B.", 3.2, km((0.0, 0.0), (0.0, 0.1))),
        ("XX.A._XX.C.", 5.0, km((0.0, 0.0), (0.1, 0.0))),
        ("XX.B._XX.C.", 1.8, km((0.0, 0.1), (0.1, 0.0))),
    ] {
        let s = read_sac(&out.join(day1).join(pair).join("ZZ.sac"));
        assert_eq!(s.delta as f32, 0.1f32);
        // +-20 s kept: 401 samples, lag 0 in the middle as NoisePy keeps them.
        assert_eq!(s.data.len(), 401, "{pair}");
        let got = peak_lag(&s);
        assert!(
            (got - lag).abs() < 0.05,
            "{pair}: peak at {got} s, want {lag}"
        );
        assert!(
            (s.dist - dist).abs() < 1e-3 * dist,
            "{pair}: dist {} want {dist}",
            s.dist
        );
    }
    let stack = read_sac(&out.join("stack/XX.A._XX.B./ZZ.sac"));
    assert!((peak_lag(&stack) - 3.2).abs() < 0.05);
    assert!(out.join("stack/XX.A._XX.C./ZZ.sac").exists());
    assert!(!out
        .join("20200102T000000Z__20200103T000000Z/XX.A._XX.C.")
        .exists());
}

/// WGS84 distance as ObsPy's gps2dist_azimuth gives it (Vincenty), through seisbatch's own.
fn seisbatch_dist(a: (f64, f64), b: (f64, f64)) -> f64 {
    // A sphere would be off by 0.3 %: use the crate's geodesy through a SAC header instead
    // is circular, so Vincenty's inverse here for the equator and meridian cases the test
    // uses: along the equator the distance is a (6378137 m) times the longitude difference;
    // along a meridian from the equator, the meridian arc.
    let (dlat, dlon) = (b.0 - a.0, b.1 - a.1);
    let rad = std::f64::consts::PI / 180.0;
    if a.0 == 0.0 && b.0 == 0.0 {
        return 6_378_137.0 * dlon.abs() * rad;
    }
    if dlon == 0.0 && a.0 == 0.0 {
        // Meridian arc from the equator, series in the third flattening (n = f / (2 - f)).
        let f: f64 = 1.0 / 298.257223563;
        let n = f / (2.0 - f);
        let aa = 6_378_137.0 / (1.0 + n) * (1.0 + n * n / 4.0 + n.powi(4) / 64.0);
        let phi = dlat.abs() * rad;
        let b1 = 1.5 * n - 27.0 / 32.0 * n.powi(3);
        let b2 = 21.0 / 16.0 * n * n - 55.0 / 32.0 * n.powi(4);
        let b3 = 151.0 / 96.0 * n.powi(3);
        return aa
            * (phi - b1 * (2.0 * phi).sin() + b2 * (4.0 * phi).sin() - b3 * (6.0 * phi).sin());
    }
    // The B-C pair: the two legs' hypotenuse within 0.1 % at these distances.
    let x = seisbatch_dist((0.0, 0.0), (0.0, dlon.abs()));
    let y = seisbatch_dist((0.0, 0.0), (dlat.abs(), 0.0));
    (x * x + y * y).sqrt()
}

#[test]
fn bad_configurations_and_occupied_outputs_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let (arch, inv) = (archive(d.path()), inventory(d.path()));
    let bad = config(d.path(), "cc_method = \"xcor\"\n");
    let o = run_correlate(&bad, &arch, &inv, &d.path().join("x"));
    exit_in(&o, &[2]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("cc_method"));
    assert!(!d.path().join("x").exists());
    let busy = d.path().join("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("keep.txt"), "mine").unwrap();
    let o = run_correlate(&config(d.path(), ""), &arch, &inv, &busy);
    exit_in(&o, &[1]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not empty"));
    assert_eq!(
        std::fs::read_to_string(busy.join("keep.txt")).unwrap(),
        "mine"
    );
}

/// A chunk whose spectra would exceed --memory is refused before any is computed, naming
/// the flag; and a bad catalog or inventory leaves OUTPUT untouched.
#[test]
fn memory_is_budgeted_and_refusals_leave_output_untouched() {
    let d = tempfile::tempdir().unwrap();
    let arch = archive(d.path());
    let out = d.path().join("m");
    let o = bin()
        .arg("correlate")
        .arg(config(d.path(), ""))
        .arg("--input")
        .arg(&arch)
        .arg("--output")
        .arg(&out)
        .args(["--memory", "0.01"])
        .output()
        .unwrap();
    exit_in(&o, &[1]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--memory"));
    let bad_inv = d.path().join("bad.xml");
    std::fs::write(&bad_inv, "<not stationxml").unwrap();
    let out2 = d.path().join("n");
    let o = run_correlate(&config(d.path(), ""), &arch, &bad_inv, &out2);
    exit_in(&o, &[1]);
    assert!(!out2.exists(), "a refused run created OUTPUT");
}

/// `max_distance_km = 12`: A-B (11.1 km) and A-C (11.1 km) correlated, B-C (15.7 km) left
/// out and not counted; without coordinates no distance can be held to: every pair counted
/// as missing.
#[test]
fn max_distance_leaves_far_pairs_out_and_needs_coordinates() {
    let d = tempfile::tempdir().unwrap();
    let (arch, inv) = (archive(d.path()), inventory(d.path()));
    let cfg = config(d.path(), "max_distance_km = 12.0\n");
    let out = d.path().join("near");
    exit_in(&run_correlate(&cfg, &arch, &inv, &out), &[0]);
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("correlate.json")).unwrap()).unwrap();
    assert_eq!(
        (s["correlations"].as_u64(), s["pairs_missing"].as_u64()),
        (Some(3), Some(2)),
        "{s}"
    );
    assert!(!out.join("stack/XX.B._XX.C.").exists());
    let bare = d.path().join("bare");
    let o = bin()
        .arg("correlate")
        .arg(&cfg)
        .arg("--input")
        .arg(&arch)
        .arg("--output")
        .arg(&bare)
        .arg("--quiet")
        .output()
        .unwrap();
    exit_in(&o, &[0]);
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bare.join("correlate.json")).unwrap()).unwrap();
    assert_eq!(
        (s["correlations"].as_u64(), s["pairs_missing"].as_u64()),
        (Some(0), Some(6)),
        "{s}"
    );
}

/// Same input, same bytes: one thread or four, every output file the same.
#[test]
fn the_same_bytes_for_any_number_of_threads() {
    let d = tempfile::tempdir().unwrap();
    let (arch, inv) = (archive(d.path()), inventory(d.path()));
    let cfg = config(d.path(), "components = [\"ZZ\"]\nsubstack = true\n");
    let mut runs = Vec::new();
    for threads in ["1", "4"] {
        let out = d.path().join(format!("t{threads}"));
        let o = bin()
            .arg("correlate")
            .arg(&cfg)
            .arg("--input")
            .arg(&arch)
            .arg("--inventory")
            .arg(&inv)
            .arg("--output")
            .arg(&out)
            .arg("--quiet")
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        exit_in(&o, &[0]);
        let files: Vec<(PathBuf, Vec<u8>)> = common::files_under(&out)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "sac"))
            .map(|p| (p.clone(), std::fs::read(out.join(&p)).unwrap()))
            .collect();
        assert_eq!(files.len(), 7);
        runs.push(files);
    }
    assert!(runs[0] == runs[1], "the thread count changed the outputs");
}
