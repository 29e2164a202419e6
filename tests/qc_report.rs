//! `seisbatch qc` end to end (issue #30): the report folder from the command line, its
//! metrics equal to ObsPy's (tests/fixtures/qc/golden.json), its pictures real PNGs, the page
//! opened in headless Chromium (Debian's `chromium`, installed by scripts/setup.sh): every
//! picture loads, no error event, and a screenshot that is not blank. A run's failures come
//! into the report from its report.json; the report folder is never a stranger's.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/qc")
}

fn seisbatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_seisbatch"))
}

fn qc(out: &Path, extra: &[&str]) -> std::process::Output {
    let f = fixture();
    seisbatch()
        .arg("qc")
        .arg(f.join("sds"))
        .arg("--inventory")
        .arg(f.join("GR.FUR.xml"))
        .arg("--output")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

/// `seisbatch qc INPUT --output OUT --quiet`, which must succeed.
fn report_of(input: &Path, out: &Path) {
    let o = seisbatch()
        .arg("qc")
        .arg(input)
        .args(["--quiet", "--output"])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A PNG's size and its pixels as RGB(A) bytes with the channel count.
fn decode(bytes: &[u8]) -> (u32, u32, usize, Vec<u8>) {
    let mut r = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, info.color_type.samples(), buf)
}

/// Share of pixels that are not (near) white, and how many distinct colours there are.
fn ink(png: &[u8]) -> (f64, usize) {
    let (w, h, k, px) = decode(png);
    let mut colours = std::collections::HashSet::new();
    let mut inked = 0usize;
    for p in px.chunks(k) {
        colours.insert((p[0], p[1], p[2]));
        if p[..3].iter().any(|&c| c < 200) {
            inked += 1;
        }
    }
    (inked as f64 / (w as f64 * h as f64), colours.len())
}

#[test]
fn the_report_folder_holds_obspys_metrics_and_real_pictures() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("qc");
    let o = qc(&out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let golden: Value =
        serde_json::from_slice(&std::fs::read(fixture().join("golden.json")).unwrap()).unwrap();
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let mut lines = csv.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut rows = 0;
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let id = cells[..4].join(".");
        let want = &golden["metrics"][&id][cells[4]];
        assert!(want.is_object(), "{id} {}: not in ObsPy's answer", cells[4]);
        for (k, v) in head.iter().zip(&cells).skip(5) {
            let Some(w) = want[*k].as_f64() else { continue };
            let got: f64 = v.parse().unwrap_or_else(|_| panic!("{id} {k}: {v:?}"));
            let tol = if k.starts_with("pct_") {
                0.5
            } else {
                1e-9 * w.abs().max(1.0)
            };
            assert!(
                (got - w).abs() <= tol,
                "{id} {} {k}: {got} vs {w}",
                cells[4]
            );
        }
        rows += 1;
    }
    assert_eq!(rows, 6);
    // The dead day is flagged, the live ones are not.
    let json: Value =
        serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
    let dead: Vec<String> = json
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["dead_channel_gsn"] == 1)
        .map(|r| {
            format!(
                "{} {}",
                r["id"].as_str().unwrap(),
                r["day"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(dead, ["GR.FUR..LHN 2020-01-02"]);
    // Pictures: PNGs of their stated size with something drawn, SVGs beside them.
    for stem in [
        "availability",
        "ppsd/GR.FUR..LHZ",
        "ppsd/GR.FUR..LHN",
        "ppsd/GR.FUR..LHE",
    ] {
        let png = std::fs::read(out.join(format!("{stem}.png"))).unwrap();
        let (share, colours) = ink(&png);
        assert!(
            share > 0.02 && colours > 8,
            "{stem}: {share} inked, {colours} colours"
        );
        let svg = std::fs::read_to_string(out.join(format!("{stem}.svg"))).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("</svg>"),
            "{stem}.svg"
        );
    }
    // The PPSD's curves as ObsPy reads them from the histogram.
    let p: Value =
        serde_json::from_slice(&std::fs::read(out.join("ppsd/GR.FUR..LHZ.json")).unwrap()).unwrap();
    let want = &golden["ppsd"]["GR.FUR..LHZ"];
    assert_eq!(p["mode"], want["mode"]);
    assert_eq!(p["histogram"], want["histogram"]);
    // The page: one file, every picture inline.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(html.matches("<img src=\"data:image/png;base64,").count(), 4);
    assert!(!html.contains("http://") && !html.contains("https://"));
    // Again into the same folder: an earlier report's folder is written over.
    let o = qc(&out, &["--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Runs `cmd` for at most `limit`; its stdout and stderr (through files in `dir`: a pipe
/// nobody reads while waiting would stall a page's worth of DOM).
fn bounded(mut cmd: Command, dir: &Path, limit: Duration) -> (String, String) {
    let (so, se) = (dir.join("stdout"), dir.join("stderr"));
    let mut child = cmd
        .stdout(std::fs::File::create(&so).unwrap())
        .stderr(std::fs::File::create(&se).unwrap())
        .stdin(Stdio::null())
        .spawn()
        .expect("chromium (Debian's `chromium` package; scripts/setup.sh installs it)");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("chromium did not finish in {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    (read(&so), read(&se))
}

fn chromium(profile: &Path) -> Command {
    let exe = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut c = Command::new(exe);
    // Headless, no sandbox (CI runs as root), nothing that reaches the network.
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--virtual-time-budget=10000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn the_report_opens_in_chromium_with_every_picture_and_no_error() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("qc");
    // A run whose every window fails (remove_response with no inventory): its failures
    // belong in the report too.
    let chain = t.path().join("chain.toml");
    std::fs::write(
        &chain,
        "[[step]]\nop = \"remove_response\"\noutput = \"VEL\"\n",
    )
    .unwrap();
    let run = t.path().join("run");
    let o = seisbatch()
        .args(["run"])
        .arg(&chain)
        .arg("--input")
        .arg(fixture().join("sds"))
        .args(["--segment", "86400", "--quiet", "--output"])
        .arg(&run)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The run's own folder (SAC outputs, none here: every window failed): its report.json is
    // found there and its failures shown.
    let only = t.path().join("only-failures");
    report_of(&run, &only);
    let html = std::fs::read_to_string(only.join("report.html")).unwrap();
    assert!(html.contains("no StationXML") && only.join("failures.png").is_file());
    let report = run.join("report.json");
    let o = qc(&out, &["--run-report", report.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("no StationXML"),
        "the run's failure reason is listed"
    );
    assert!(out.join("failures.png").is_file());
    let page = format!("file://{}", out.join("report.html").display());
    let (dom, log) = bounded(
        {
            let mut c = chromium(&t.path().join("profile1"));
            c.arg("--dump-dom").arg(&page);
            c
        },
        t.path(),
        Duration::from_secs(120),
    );
    // Availability, failures and three PPSDs: five pictures, all decoded.
    assert!(
        dom.contains("data-images=\"5/5\""),
        "pictures: {}",
        &dom[..dom.len().min(300)]
    );
    assert!(
        dom.contains("data-errors=\"0\""),
        "error events in the page"
    );
    assert!(!log.contains("Uncaught"), "a script error: {log}");
    let shot = t.path().join("shot.png");
    bounded(
        {
            let mut c = chromium(&t.path().join("profile2"));
            c.arg(format!("--screenshot={}", shot.display()))
                .arg("--window-size=1280,1600")
                .arg(&page);
            c
        },
        t.path(),
        Duration::from_secs(120),
    );
    let (share, colours) = ink(&std::fs::read(&shot).expect("chromium wrote no screenshot"));
    assert!(
        share > 0.02 && colours > 16,
        "a blank page: {share} inked, {colours} colours"
    );
}

#[test]
fn the_report_folder_is_never_a_strangers() {
    let t = tempfile::tempdir().unwrap();
    // A folder with someone's files and no earlier report: refused, nothing written.
    let theirs = t.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::write(theirs.join("notes.txt"), "mine").unwrap();
    let o = qc(&theirs, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not empty"));
    let names: Vec<_> = std::fs::read_dir(&theirs).unwrap().collect();
    assert_eq!(names.len(), 1);
    // A link as the report folder: refused, nothing written where it points.
    let target = t.path().join("target");
    std::fs::create_dir(&target).unwrap();
    let link = t.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = qc(&link, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    // A bad window is named.
    let o = qc(
        &t.path().join("new"),
        &["--window", "2020-01-02/2020-01-01"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not after"));
}

#[test]
fn run_with_qc_draws_outputs_beside_their_raw_data() {
    let t = tempfile::tempdir().unwrap();
    let chain = t.path().join("chain.toml");
    std::fs::write(
        &chain,
        "[[step]]\nop = \"detrend\"\ntype = \"demean\"\n[[step]]\nop = \"taper\"\nmax_percentage = 0.05\n\
         [[step]]\nop = \"remove_response\"\noutput = \"VEL\"\npre_filt = [0.005, 0.01, 0.3, 0.4]\n",
    )
    .unwrap();
    let out = t.path().join("out");
    let o = seisbatch()
        .arg("run")
        .arg(&chain)
        .arg("--input")
        .arg(fixture().join("sds"))
        .arg("--inventory")
        .arg(fixture().join("GR.FUR.xml"))
        .args(["--segment", "86400", "--qc", "--quiet", "--output"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(out.join("qc/report.html")).unwrap();
    assert!(html.contains("Before and after"));
    // Availability, four outputs, three PPSDs.
    assert_eq!(html.matches("<img src=\"data:image/png;base64,").count(), 8);
    for k in 1..=4 {
        let (share, _) = ink(&std::fs::read(out.join(format!("qc/compare-{k}.png"))).unwrap());
        assert!(share > 0.02, "compare-{k}: blank");
    }
    // The pairs drawn: each output (SAC read back) beside the same channel's raw counts over
    // the same samples.
    let root = fixture().join("sds");
    let (files, _) = seisbatch::archive::files(&root, &Default::default()).unwrap();
    let index = seisbatch::archive::index::Index::build(&root, &files, &|_, _, _| None);
    let (pairs, problems) = seisbatch::qc::compare::pairs(&out, &index);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(pairs.len(), 4);
    for p in &pairs {
        assert_eq!(p.raw.codes(), p.processed.codes());
        assert_eq!(p.raw.start_ns, p.processed.start_ns, "{}", p.file.display());
        assert_eq!(
            p.raw.data.len(),
            p.processed.data.len(),
            "{}",
            p.file.display()
        );
        assert!((p.processed.sampling_rate - 1.0).abs() < 1e-6);
        // Counts in, m/s out: the response removed.
        let peak = p.processed.data.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(peak > 1e-9 && peak < 1e-3, "{}: {peak}", p.file.display());
    }
    // The report's folder is the run's: --resume leaves it and the outputs as they are.
    let o = seisbatch()
        .arg("run")
        .arg(&chain)
        .arg("--input")
        .arg(fixture().join("sds"))
        .arg("--inventory")
        .arg(fixture().join("GR.FUR.xml"))
        .args([
            "--segment",
            "86400",
            "--qc",
            "--quiet",
            "--resume",
            "--output",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A correlation run's report: its moveout, each pair's stack at its distance, peaking at
/// +-distance / 3 km/s (the synthetic field's speed); a damaged stack is named, not drawn.
#[test]
fn a_correlation_runs_report_shows_its_moveout() {
    let t = tempfile::tempdir().unwrap();
    let arr = t.path().join("array");
    let o = seisbatch()
        .args([
            "synth",
            "--stations",
            "5",
            "--noise-days",
            "1",
            "--rates",
            "2",
            "--output",
        ])
        .arg(&arr)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cfg = t.path().join("cc.toml");
    std::fs::write(&cfg, "freqmin = 0.05\nfreqmax = 0.8\nmaxlag = 100.0\n").unwrap();
    let cc = t.path().join("cc");
    let o = seisbatch()
        .arg("correlate")
        .arg(&cfg)
        .arg("--input")
        .arg(arr.join("archive"))
        .arg("--inventory")
        .arg(arr.join("stations.xml"))
        .args(["--quiet", "--output"])
        .arg(&cc)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = seisbatch::qc::moveout::find(&cc).expect("a correlation run");
    assert_eq!((m.components.as_str(), m.rows.len()), ("ZZ", 10));
    assert!(m.rows.windows(2).all(|w| w[0].dist_km <= w[1].dist_km));
    for r in &m.rows {
        let z = (-r.lag0 / r.delta).round() as usize;
        let side = |range: std::ops::Range<usize>| {
            let i = range
                .max_by(|&a, &b| r.data[a].total_cmp(&r.data[b]))
                .unwrap();
            ((i as f64 - z as f64) * r.delta).abs()
        };
        for got in [side(z + 1..r.data.len()), side(0..z)] {
            let want = r.dist_km / 3.0;
            assert!((got - want).abs() < 1.0, "{}: {got} s, want {want}", r.pair);
        }
    }
    // One stack cut short: named in the report, the others drawn.
    let victim = std::fs::read_dir(cc.join("stack"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("ZZ.sac");
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() - 4]).unwrap();
    let out = t.path().join("qc");
    report_of(&cc, &out);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Moveout of the stacked correlations"));
    assert!(html.contains("a correlation stack could not be drawn"));
    assert!(html.contains("does not match the file"));
    let (share, _) = ink(&std::fs::read(out.join("moveout.png")).unwrap());
    assert!(share > 0.02);
}

/// A day without data between a channel's first and last is a row of its own: 0 %
/// available, one gap of the whole day (an outage is what the report is for).
#[test]
fn a_day_without_data_is_a_row_of_its_own() {
    let t = tempfile::tempdir().unwrap();
    let arr = t.path().join("array");
    let o = seisbatch()
        .args([
            "synth",
            "--stations",
            "2",
            "--noise-days",
            "3",
            "--rates",
            "1",
            "--output",
        ])
        .arg(&arr)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut middle: Vec<PathBuf> = Vec::new();
    let mut stack = vec![arr.join("archive")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().contains("S001") && p.to_string_lossy().ends_with(".002")
            {
                middle.push(p);
            }
        }
    }
    assert_eq!(middle.len(), 1, "{middle:?}");
    std::fs::remove_file(&middle[0]).unwrap();
    let out = t.path().join("qc");
    report_of(&arr.join("archive"), &out);
    let json: Value =
        serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
    let s1: Vec<&Value> = json
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["id"].as_str().unwrap().contains(".S001."))
        .collect();
    assert_eq!(s1.len(), 3, "{s1:?}");
    assert_eq!(s1[1]["percent_availability"], 0.0);
    assert_eq!(s1[1]["num_gaps"], 1);
    assert_eq!(s1[1]["max_gap"], 86400.0);
    assert!(s1[1]["sample_mean"].is_null());
    assert_eq!(s1[0]["percent_availability"], 100.0);
}
