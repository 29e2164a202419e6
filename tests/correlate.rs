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

/// `seisbatch correlate CFG --input INPUT --output OUT --quiet`, without an inventory.
fn correlate_cmd(cfg: &Path, input: &Path, out: &Path) -> std::process::Command {
    let mut c = bin();
    c.arg("correlate")
        .arg(cfg)
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(out)
        .arg("--quiet");
    c
}

fn run_correlate(cfg: &Path, input: &Path, inv: &Path, out: &Path) -> std::process::Output {
    correlate_cmd(cfg, input, out)
        .arg("--inventory")
        .arg(inv)
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
    // One catalog row per correlation file, as `run` indexes its outputs.
    let cat = seisbatch::archive::catalog::read(&out.join("catalog.parquet")).unwrap();
    assert_eq!(cat.files.len(), 4 + 3, "{:?}", cat.files);
    assert!(summary["catalog_error"].is_null(), "{summary}");
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
    let o = correlate_cmd(&config(d.path(), ""), &arch, &out)
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
    let o = correlate_cmd(&cfg, &arch, &bare).output().unwrap();
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
        let o = correlate_cmd(&cfg, &arch, &out)
            .arg("--inventory")
            .arg(&inv)
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

/// Two three-component stations on the equator, B 0.1 degree east of A (azimuth 90,
/// back-azimuth 270): each component of B records A's (own-source) noise 3.2 s later, over one
/// day at 10 Hz.
fn archive3(dir: &Path) -> (PathBuf, PathBuf) {
    let root = dir.join("arch3");
    let mut channels = String::new();
    for (k, comp) in ["E", "N", "Z"].iter().enumerate() {
        let src = common::noise(200 + k as u64, DAY + 100);
        for (sta, lag, seed) in [("A", 0usize, 1u64), ("B", 32, 2)] {
            let o = common::noise(300 + 10 * seed + k as u64, DAY);
            let mut tr = common::trace(
                ["XX", sta, "", &format!("HH{comp}")],
                &day_start(0),
                SPS,
                DAY,
            );
            tr.data = (0..DAY)
                .map(|i| 1000.0 * (src[i + 50 - lag] + 0.3 * o[i]))
                .collect();
            common::write_mseed(&root.join(format!("XX.{sta}.HH{comp}.2020.001")), &[tr]);
        }
    }
    for (comp, az, dip) in [("E", 90, 0), ("N", 0, 0), ("Z", 0, -90)] {
        channels.push_str(&format!(r#"<Channel code="HH{comp}" locationCode="" startDate="2000-01-01T00:00:00"><Latitude>LAT</Latitude><Longitude>LON</Longitude><Elevation>0</Elevation><Depth>0</Depth><Azimuth>{az}</Azimuth><Dip>{dip}</Dip><SampleRate>10</SampleRate></Channel>"#));
    }
    let station = |code: &str, lat: f64, lon: f64| {
        format!(
            r#"<Station code="{code}" startDate="2000-01-01T00:00:00"><Latitude>{lat}</Latitude><Longitude>{lon}</Longitude><Elevation>0</Elevation>{}</Station>"#,
            channels
                .replace("LAT", &lat.to_string())
                .replace("LON", &lon.to_string())
        )
    };
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><FDSNStationXML xmlns="http://www.fdsn.org/xml/station/1" schemaVersion="1.1"><Source>test</Source><Created>2020-01-01T00:00:00</Created><Network code="XX">{}{}</Network></FDSNStationXML>"#,
        station("A", 0.0, 0.0),
        station("B", 0.0, 0.1)
    );
    let inv = dir.join("inv3.xml");
    std::fs::write(&inv, xml).unwrap();
    (root, inv)
}

fn summary(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("correlate.json")).unwrap()).unwrap()
}

/// `rotation = true`: the nine ENZ stacks of the east-west pair turned to RTZ, where R is E
/// and T is -N at both ends (NoisePy's signs): RR = EE, TT = NN, RT = -EN, ZZ = ZZ, RR
/// peaking at the 3.2 s delay. With `xcorr_only = false` each station is also correlated with
/// itself, six component pairs (NoisePy's iiR >= iiS), not rotated. Without coordinates the
/// pair is not rotated and says why.
#[test]
fn rotation_turns_an_east_west_pair_and_autocorrelations_come_in_six() {
    let d = tempfile::tempdir().unwrap();
    let (arch, inv) = archive3(d.path());
    let cfg = config(
        d.path(),
        "inc_hours = 12.0\ncomponents = [\"all\"]\nrotation = true\nxcorr_only = false\n",
    );
    let out = d.path().join("rot");
    exit_in(&run_correlate(&cfg, &arch, &inv, &out), &[0]);
    let s = summary(&out);
    assert_eq!(s["chunks"], 2, "{s}");
    // Per chunk: the pair's nine and each station's six.
    assert_eq!(s["correlations"], 2 * (9 + 6 + 6), "{s}");
    assert_eq!(s["stacks"]["rotated"], 9, "{s}");
    assert_eq!(s["stacks"]["not_rotated_count"], 0, "{s}");
    // `seisbatch plan --correlate` models what the run did, chunk by chunk.
    let plan = bin()
        .arg("plan")
        .arg(&cfg)
        .args([
            "--correlate",
            "--stations",
            "2",
            "--sampling-rate",
            "10",
            "--json",
        ])
        .output()
        .unwrap();
    exit_in(&plan, &[0]);
    let m: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(
        m["correlations"].as_u64().unwrap() * 2,
        s["correlations"],
        "{m}"
    );
    let windows = s["windows_kept"].as_u64().unwrap() + s["windows_dropped"].as_u64().unwrap();
    let per_chunk = m["windows"].as_u64().unwrap() * m["channels"].as_u64().unwrap();
    assert_eq!(per_chunk * 2, windows, "{m}");
    let lags = m["lags"].as_u64().unwrap();
    let mut autos: Vec<String> = std::fs::read_dir(out.join("stack/XX.A._XX.A."))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    autos.sort();
    assert_eq!(
        autos,
        ["EE.sac", "EN.sac", "EZ.sac", "NN.sac", "NZ.sac", "ZZ.sac"]
    );
    assert!(!out.join("stack_rtz/XX.A._XX.A.").exists());
    let enz = |c: &str| read_sac(&out.join(format!("stack/XX.A._XX.B./{c}.sac")));
    let rtz = |c: &str| read_sac(&out.join(format!("stack_rtz/XX.A._XX.B./{c}.sac")));
    let close = |a: &Sac, b: &Sac, sign: f64, what: &str| {
        let top = b.data.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let worst = a
            .data
            .iter()
            .zip(&b.data)
            .fold(0.0f64, |m, (x, y)| m.max((x - sign * y).abs()));
        assert!(worst <= 1e-5 * top, "{what}: {worst} of {top}");
    };
    close(&rtz("RR"), &enz("EE"), 1.0, "RR = EE");
    close(&rtz("TT"), &enz("NN"), 1.0, "TT = NN");
    close(&rtz("RT"), &enz("EN"), -1.0, "RT = -EN");
    close(&rtz("ZZ"), &enz("ZZ"), 1.0, "ZZ");
    let rr = rtz("RR");
    assert!((peak_lag(&rr) - 3.2).abs() < 0.05, "{}", peak_lag(&rr));
    assert_eq!(lags, rr.data.len() as u64, "the model's lags");
    assert!((rr.o - enz("EE").o).abs() < 1e-6);

    let bare = d.path().join("bare");
    let o = correlate_cmd(&cfg, &arch, &bare).output().unwrap();
    exit_in(&o, &[0]);
    let s = summary(&bare);
    assert_eq!(s["stacks"]["rotated"], 0, "{s}");
    assert_eq!(s["stacks"]["not_rotated_count"], 1, "{s}");
    assert!(s["stacks"]["not_rotated"][0][1]
        .as_str()
        .unwrap()
        .contains("coordinates"));
}

/// `acorr_only = true`: each station with itself only; an autocorrelation is symmetric about
/// lag 0 (NoisePy's mean-bin removal makes lag 0 itself ~0).
#[test]
fn autocorrelations_are_symmetric() {
    let d = tempfile::tempdir().unwrap();
    let (arch, inv) = (archive(d.path()), inventory(d.path()));
    let out = d.path().join("auto");
    exit_in(
        &run_correlate(&config(d.path(), "acorr_only = true\n"), &arch, &inv, &out),
        &[0],
    );
    let s = summary(&out);
    // Day 1: A, B, C; day 2: A, B.
    assert_eq!(s["correlations"], 5, "{s}");
    assert_eq!(s["pairs_missing"], 1, "{s}");
    assert!(!out.join("stack/XX.A._XX.B.").exists());
    let a = read_sac(&out.join("stack/XX.A._XX.A./ZZ.sac"));
    let z = ((a.o - a.b) / a.delta).round() as usize;
    let top = a.data.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(top > 0.0);
    for k in 1..=z.min(a.data.len() - 1 - z) {
        let (l, r) = (a.data[z - k], a.data[z + k]);
        assert!((l - r).abs() <= 1e-5 * top, "lag {k}: {l} vs {r}");
    }
}

fn sac_files(out: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<(PathBuf, Vec<u8>)> = common::files_under(out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sac"))
        .map(|p| (p.clone(), std::fs::read(out.join(&p)).unwrap()))
        .collect();
    v.sort();
    v
}

/// `--resume` after a run killed in its second chunk (its record and one file gone, no stacks
/// yet): the first chunk kept, the second done again, the stacks made, every file the bytes
/// of an uninterrupted run. A record that cannot be trusted (a station not of the run) is
/// redone and said so. A folder of another configuration, or not of a correlate run, is
/// refused and left as it was; a non-empty folder without --resume points to it.
#[test]
fn resume_finishes_a_killed_run_with_the_same_bytes() {
    let d = tempfile::tempdir().unwrap();
    let (arch, inv) = (archive(d.path()), inventory(d.path()));
    let cfg = config(d.path(), "");
    let whole = d.path().join("whole");
    exit_in(&run_correlate(&cfg, &arch, &inv, &whole), &[0]);
    let want = sac_files(&whole);
    assert_eq!(want.len(), 4 + 3);

    let resume = |out: &Path, cfg: &Path| {
        correlate_cmd(cfg, &arch, out)
            .arg("--inventory")
            .arg(&inv)
            .arg("--resume")
            .output()
            .unwrap()
    };
    let out = d.path().join("killed");
    exit_in(&run_correlate(&cfg, &arch, &inv, &out), &[0]);
    let day2 = "20200102T000000Z__20200103T000000Z";
    std::fs::remove_file(out.join(format!(".correlate/chunks/{day2}.json"))).unwrap();
    std::fs::remove_file(out.join(format!("{day2}/XX.A._XX.B./ZZ.sac"))).unwrap();
    std::fs::remove_dir_all(out.join("stack")).unwrap();
    std::fs::remove_file(out.join("correlate.json")).unwrap();
    exit_in(&resume(&out, &cfg), &[0]);
    let s = summary(&out);
    assert_eq!(s["chunks_resumed"], 1, "{s}");
    // The resumed chunk's counts come from its record: the totals of a whole run.
    assert_eq!(s["correlations"], 4, "{s}");
    assert_eq!(s["windows_kept"], 5 * 286, "{s}");
    assert!(sac_files(&out) == want, "a resumed run wrote other bytes");

    // A record naming a station the run does not have is not trusted.
    let rec = out.join(".correlate/chunks/20200101T000000Z__20200102T000000Z.json");
    let text = std::fs::read_to_string(&rec).unwrap();
    std::fs::write(&rec, text.replacen("\"XX.B.\"", "\"../../XX.B.\"", 1)).unwrap();
    exit_in(&resume(&out, &cfg), &[0]);
    let s = summary(&out);
    assert_eq!(s["chunks_resumed"], 1, "{s}");
    assert!(
        s["records_redone"][0]
            .as_str()
            .unwrap()
            .contains("not in this run"),
        "{s}"
    );
    assert!(sac_files(&out) == want);

    // Another configuration, a folder of something else, and no --resume: refused.
    let o_dir = d.path().join("other");
    std::fs::create_dir_all(&o_dir).unwrap();
    let other = config(&o_dir, "smooth_n = 20\n");
    let o = resume(&out, &other);
    exit_in(&o, &[1]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("another configuration"));
    assert!(sac_files(&out) == want);
    let o = run_correlate(&cfg, &arch, &inv, &out);
    exit_in(&o, &[1]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"));
    let foreign = d.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let o = resume(&foreign, &cfg);
    exit_in(&o, &[1]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not written by seisbatch correlate"));
    assert_eq!(common::files_under(&foreign).len(), 1);

    // A link planted in the finished folder (its stack folder, then a chunk's record folder)
    // is refused, never written through: nothing lands outside OUTPUT.
    let elsewhere = d.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    for planted in ["stack", ".correlate/chunks"] {
        let at = out.join(planted);
        let moved = d.path().join("moved");
        std::fs::rename(&at, &moved).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &at).unwrap();
        if planted != "stack" {
            std::fs::remove_file(out.join(format!("{day2}/XX.A._XX.B./ZZ.sac"))).unwrap();
        }
        let o = resume(&out, &cfg);
        exit_in(&o, &[1]);
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("link"),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            common::files_under(&elsewhere).is_empty(),
            "{planted}: written through a link"
        );
        std::fs::remove_file(&at).unwrap();
        std::fs::rename(&moved, &at).unwrap();
    }
}

/// `--shard K/N`: two shards into one folder (each its block of the pairs, its own records
/// and correlate.K-of-N.json) write the bytes one run writes, and their counts add up to the
/// run's. A shard run again without --resume is refused, with --resume keeps its chunks; a
/// shard into a folder an unsharded run finished is refused; a bad K/N is a usage error.
#[test]
fn shards_together_write_what_one_run_writes() {
    let d = tempfile::tempdir().unwrap();
    let (arch, inv) = (archive(d.path()), inventory(d.path()));
    let cfg = config(d.path(), "");
    let whole = d.path().join("whole");
    exit_in(&run_correlate(&cfg, &arch, &inv, &whole), &[0]);
    let want = sac_files(&whole);
    let out = d.path().join("sharded");
    let shard = |k: &str, extra: &[&str]| {
        correlate_cmd(&cfg, &arch, &out)
            .arg("--inventory")
            .arg(&inv)
            .args(["--shard", k])
            .args(extra)
            .output()
            .unwrap()
    };
    for k in ["0/2", "1/2"] {
        exit_in(&shard(k, &[]), &[0]);
    }
    assert!(
        sac_files(&out) == want,
        "two shards wrote other files than one run"
    );
    let part = |k: usize| -> serde_json::Value {
        let p = out.join(format!("correlate.{k}-of-2.json"));
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let (s0, s1) = (part(0), part(1));
    let sum = |k: &str| s0[k].as_u64().unwrap() + s1[k].as_u64().unwrap();
    let one = summary(&whole);
    for k in ["correlations", "pairs_missing", "pair_windows"] {
        assert_eq!(Some(sum(k)), one[k].as_u64(), "{k}: {s0} {s1}");
    }
    // A-B to shard 0; A-C and B-C to shard 1.
    assert_eq!(s0["correlations"], 2, "{s0}");
    assert!(!out.join("correlate.json").exists());

    let o = shard("0/2", &[]);
    exit_in(&o, &[1]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not empty"));
    exit_in(&shard("0/2", &["--resume"]), &[0]);
    assert_eq!(part(0)["chunks_resumed"], 2);
    assert!(sac_files(&out) == want);

    let o = correlate_cmd(&cfg, &arch, &whole)
        .arg("--inventory")
        .arg(&inv)
        .args(["--shard", "1/2"])
        .output()
        .unwrap();
    exit_in(&o, &[1]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("without --shard"));
    for bad in ["2/2", "1", "x/3"] {
        let o = shard(bad, &[]);
        exit_in(&o, &[2]);
        assert!(String::from_utf8_lossy(&o.stderr).contains("--shard"));
    }
}

/// Several GPUs as one process per GPU (issue #28): each copy takes `--gpu-index K` and
/// `--shard K/N`; together they write the bytes one run on that adapter writes (here both
/// copies take CI's one adapter, index 0), every pair correlated on a device.
#[test]
fn one_process_per_gpu_shards_write_what_one_device_run_writes() {
    if common::gpu().is_none() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let (arch, inv) = (archive(d.path()), inventory(d.path()));
    let cfg = config(d.path(), "");
    let on = |out: &Path, extra: &[&str]| {
        let o = correlate_cmd(&cfg, &arch, out)
            .arg("--inventory")
            .arg(&inv)
            .args(["--device", "gpu", "--gpu-index", "0"])
            .args(extra)
            .output()
            .unwrap();
        exit_in(&o, &[0]);
    };
    let whole = d.path().join("whole");
    on(&whole, &[]);
    let sharded = d.path().join("sharded");
    for k in ["0/2", "1/2"] {
        on(&sharded, &["--shard", k]);
    }
    assert!(
        sac_files(&sharded) == sac_files(&whole),
        "the per-GPU shards wrote other bytes than one device run"
    );
    let pairs = |k: usize| -> u64 {
        let p = sharded.join(format!("correlate.{k}-of-2.json"));
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        assert_eq!(v["device"]["cpu_pairs"], 0, "{v}");
        v["device"]["pairs"].as_u64().unwrap()
    };
    assert_eq!(pairs(0) + pairs(1), 4);
}

/// `--device gpu` (lavapipe here and in CI): the pairs correlated on the device give the CPU
/// path's correlations within 1e-5 (relative L2, f32 on the device), the delays at their lags
/// (the physical test on both executors), every pair counted on the device; a configuration
/// the device does not take (coherency) runs on the CPU path and says why.
#[test]
fn the_device_gives_the_cpu_paths_correlations() {
    if common::gpu().is_none() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let (arch, inv) = (archive(d.path()), inventory(d.path()));
    let cfg = config(d.path(), "");
    let run = |device: &str, cfg: &Path| {
        let out = d.path().join(format!("on_{device}"));
        let _ = std::fs::remove_dir_all(&out);
        let o = correlate_cmd(cfg, &arch, &out)
            .arg("--inventory")
            .arg(&inv)
            .args(["--device", device])
            .output()
            .unwrap();
        exit_in(&o, &[0]);
        out
    };
    let (cpu, gpu) = (run("cpu", &cfg), run("gpu", &cfg));
    let s = summary(&gpu);
    assert_eq!(s["device"]["pairs"], 4, "{s}");
    assert_eq!(s["device"]["cpu_pairs"], 0, "{s}");
    // Every channel-chunk's spectra made on the device from its windows (A, B, C; A, B).
    assert_eq!(s["device"]["channels_on_device"], 5, "{s}");
    assert!(summary(&cpu)["device"].is_null());
    let (a, b) = (sac_files(&cpu), sac_files(&gpu));
    assert_eq!(a.len(), 7);
    for ((pa, _), (pb, _)) in a.iter().zip(&b) {
        assert_eq!(pa, pb);
        let (x, y) = (read_sac(&cpu.join(pa)), read_sac(&gpu.join(pb)));
        let num: f64 = x
            .data
            .iter()
            .zip(&y.data)
            .map(|(p, q)| (p - q).powi(2))
            .sum();
        let den: f64 = x.data.iter().map(|p| p * p).sum();
        assert!(
            (num / den).sqrt() < 1e-5,
            "{}: {}",
            pa.display(),
            (num / den).sqrt()
        );
    }
    let day1 = "20200101T000000Z__20200102T000000Z";
    for (pair, lag) in [
        ("XX.A._XX.B.", 3.2),
        ("XX.A._XX.C.", 5.0),
        ("XX.B._XX.C.", 1.8),
    ] {
        let s = read_sac(&gpu.join(day1).join(pair).join("ZZ.sac"));
        assert!(
            (peak_lag(&s) - lag).abs() < 0.05,
            "{pair}: {}",
            peak_lag(&s)
        );
    }
    let coh = d.path().join("coh");
    std::fs::create_dir_all(&coh).unwrap();
    let cfg2 = config(&coh, "cc_method = \"coherency\"\nfreq_norm = \"no\"\n");
    let s = summary(&run("gpu", &cfg2));
    assert_eq!(s["device"]["pairs"], 0, "{s}");
    assert_eq!(s["device"]["cpu_pairs"], 4, "{s}");
    assert!(s["device"]["cpu_reasons"][0]
        .as_str()
        .unwrap()
        .contains("cc_method"));
    // Spectra above half of --gpu-memory: the chunk's pairs on the CPU path, said, the same
    // bytes as the CPU path's.
    let small = d.path().join("small");
    let o = correlate_cmd(&cfg, &arch, &small)
        .arg("--inventory")
        .arg(&inv)
        .args(["--device", "gpu", "--gpu-memory", "8"])
        .output()
        .unwrap();
    exit_in(&o, &[0]);
    let s = summary(&small);
    assert_eq!(s["device"]["cpu_pairs"], 4, "{s}");
    assert!(s["device"]["cpu_reasons"][0]
        .as_str()
        .unwrap()
        .contains("--gpu-memory"));
    // The device had the windows only: each chunk done again on the CPU path from the start.
    assert_eq!(s["device"]["chunks_redone_on_cpu"], 2, "{s}");
    assert!(sac_files(&small) == sac_files(&cpu));
    let o = correlate_cmd(&cfg, &arch, &d.path().join("x"))
        .args(["--device", "tpu"])
        .output()
        .unwrap();
    exit_in(&o, &[2]);
}

/// `seisbatch synth --noise-days`: a ring of stations recording a diffuse field at 3 km/s;
/// every pair's stack peaks at +-distance / 3 km/s on both sides, on the CPU path and on the
/// device (the moveout a seismologist checks first).
#[test]
fn a_synthetic_array_correlates_to_its_moveout_on_both_executors() {
    let d = tempfile::tempdir().unwrap();
    let arr = d.path().join("array");
    let o = bin()
        .args([
            "synth",
            "--stations",
            "4",
            "--noise-days",
            "1",
            "--rates",
            "2",
        ])
        .arg("--output")
        .arg(&arr)
        .output()
        .unwrap();
    exit_in(&o, &[0]);
    let cfg = d.path().join("cc.toml");
    std::fs::write(&cfg, "freqmin = 0.05\nfreqmax = 0.8\nmaxlag = 100.0\n").unwrap();
    let mut devices = vec!["cpu"];
    if common::gpu().is_some() {
        devices.push("gpu");
    }
    for device in devices {
        let out = d.path().join(device);
        let o = correlate_cmd(&cfg, &arr.join("archive"), &out)
            .arg("--inventory")
            .arg(arr.join("stations.xml"))
            .args(["--device", device])
            .output()
            .unwrap();
        exit_in(&o, &[0]);
        let stacks: Vec<PathBuf> = common::files_under(&out.join("stack"))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "sac"))
            .collect();
        assert_eq!(stacks.len(), 6, "{device}");
        for p in stacks {
            let s = read_sac(&out.join("stack").join(&p));
            let want = s.dist / 3.0;
            let z = ((s.o - s.b) / s.delta).round() as usize;
            let side = |range: std::ops::Range<usize>| {
                let i = range
                    .max_by(|&a, &b| s.data[a].total_cmp(&s.data[b]))
                    .unwrap();
                ((i as f64 - z as f64) * s.delta).abs()
            };
            for got in [side(z + 1..s.data.len()), side(0..z)] {
                assert!(
                    (got - want).abs() < 1.0,
                    "{device} {}: {got} s, want {want}",
                    p.display()
                );
            }
        }
    }
}

/// `substack = true` with `substack_len = 1200`: a row per group of windows starting within
/// each 1200 s (NoisePy's substack_len), the chunk's row their mean, recorded as standing for
/// the groups' windows in fewer rows; the delay still at its lag.
#[test]
fn substack_len_groups_windows() {
    let d = tempfile::tempdir().unwrap();
    let (arch, inv) = (archive(d.path()), inventory(d.path()));
    let cfg = config(d.path(), "substack = true\nsubstack_len = 1200.0\n");
    let out = d.path().join("groups");
    exit_in(&run_correlate(&cfg, &arch, &inv, &out), &[0]);
    let day1 = "20200101T000000Z__20200102T000000Z";
    let s = read_sac(&out.join(day1).join("XX.A._XX.B./ZZ.sac"));
    assert!((peak_lag(&s) - 3.2).abs() < 0.05, "{}", peak_lag(&s));
    let rec: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join(format!(".correlate/chunks/{day1}.json"))).unwrap(),
    )
    .unwrap();
    let row = &rec["rows"][0];
    let (windows, rows) = (
        row["windows"].as_u64().unwrap(),
        row["rows"].as_u64().unwrap(),
    );
    // 286 windows of 600 s every 300 s; groups of four starts: round(85500 / 1200) = 71.
    assert!((60..=71).contains(&rows), "{row}");
    assert!(windows >= 4 * rows - 4 && windows <= 286, "{row}");
    let bad = config(d.path(), "substack = true\nsubstack_len = 300.0\n");
    let o = run_correlate(&bad, &arch, &inv, &d.path().join("bad"));
    exit_in(&o, &[2]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("substack_len"));
}
