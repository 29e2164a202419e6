//! The hostile-input corpus (issue #6): the whole CLI over each malformed or unusual miniSEED
//! file (tests/fixtures/corpus/README.md says where each came from) plus generated ones. Each
//! run must end within its time bound with exit 0 or 3, a report.json in which the file is
//! either processed traces or failures with reasons, and bounded peak memory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{copy_dir, report};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else if p.file_name().is_some_and(|n| n != "README.md") {
            out.push(p);
        }
    }
}

/// Generated hostile files, written into `dir`.
fn generated(dir: &Path) -> Vec<PathBuf> {
    let good = std::fs::read(root().join("tests/fixtures/corpus/mseed/test.mseed")).unwrap();
    let mut noise = Vec::new();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..5000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.push(x as u8);
    }
    // miniSEED 3: fixed header of 40 bytes + identifier; sample count (u32 LE) at offset 16.
    let tr = seisbatch::trace::Trace {
        network: "XX".into(),
        station: "BIG".into(),
        location: String::new(),
        channel: "HHZ".into(),
        start_ns: 0,
        sampling_rate: 100.0,
        data: vec![1.0; 100],
    };
    let mut huge = seisbatch::write::mseed::encode(&tr);
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("cut_in_half.mseed", good[..good.len() / 2 - 100].to_vec()),
        ("tiny.mseed", good[..100].to_vec()),
        ("random.mseed", noise.clone()),
        ("zeros.mseed", vec![0u8; 4096]),
        (
            "good_then_garbage.mseed",
            [good.clone(), noise[..777].to_vec()].concat(),
        ),
    ];
    if huge.starts_with(b"MS\x03") {
        huge[16..20].copy_from_slice(&(i32::MAX as u32).to_le_bytes());
        cases.push(("claims_2e31_samples.mseed", huge));
    } else {
        // miniSEED 2: sample count (u16 BE) at byte 30; 65,535 at most.
        huge[30..32].copy_from_slice(&u16::MAX.to_be_bytes());
        cases.push(("claims_65535_samples.mseed", huge));
    }
    cases
        .into_iter()
        .map(|(name, bytes)| {
            let p = dir.join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        })
        .collect()
}

#[test]
fn every_corpus_file_ends_as_traces_or_reasons() {
    let tmp = tempfile::tempdir().unwrap();
    let mut inputs = Vec::new();
    files_under(&root().join("tests/fixtures/corpus/mseed"), &mut inputs);
    assert!(inputs.len() >= 75, "{} corpus files", inputs.len());
    inputs.extend(generated(tmp.path()));
    let chain = tmp.path().join("demean.toml");
    std::fs::write(&chain, "[[step]]\nop = \"detrend\"\ntype = \"demean\"\n").unwrap();
    let (mut processed, mut refused) = (0, 0);
    for (k, input) in inputs.iter().enumerate() {
        let out = tmp.path().join(format!("out{k}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_seisbatch"))
            .arg("run")
            .arg(&chain)
            .arg("--input")
            .arg(input)
            .arg("--output")
            .arg(&out)
            .args(["--device", "cpu", "--quiet", "--jobs", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let t0 = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if t0.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                panic!("{}: still running after 30 s", input.display());
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let mut err = String::new();
        use std::io::Read;
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(
            matches!(status.code(), Some(0) | Some(3)),
            "{}: exit {:?}\n{err}",
            input.display(),
            status.code()
        );
        // --quiet prints nothing: what libmseed says is in the report, with the record.
        assert!(err.is_empty(), "{}: stderr {err}", input.display());
        let r = report(&out);
        let ok = r["ok"].as_u64().unwrap();
        let failures = r["failures"].as_array().unwrap();
        let problems = r["file_problems"].as_array().unwrap();
        assert!(
            ok > 0 || !failures.is_empty() || !problems.is_empty(),
            "{}: neither a trace nor a reason",
            input.display()
        );
        for f in failures.iter().chain(problems) {
            assert!(!f["reason"].as_str().unwrap().is_empty());
        }
        // A failure is a trace (it has an id); a damaged part of the file is a file problem.
        for f in failures {
            assert!(
                !f["id"].as_str().unwrap().is_empty(),
                "{}: {f}",
                input.display()
            );
        }
        let rss = r["peak_rss_bytes"].as_u64().unwrap_or(0);
        assert!(rss < 512 << 20, "{}: peak RSS {rss} bytes", input.display());
        if ok > 0 {
            processed += 1;
        } else {
            refused += 1;
        }
    }
    eprintln!("{processed} files gave traces, {refused} only reasons");
    assert!(processed > 40 && refused > 5);
}

/// Removes every `<tag>...</tag>` block (tags of the example have no attributes).
fn without(xml: &str, tag: &str) -> String {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut s = xml.to_string();
    while let (Some(a), Some(b)) = (s.find(&open), s.find(&close)) {
        if b < a {
            break;
        }
        s.replace_range(a..b + close.len(), "");
    }
    s
}

/// Malformed StationXML for the example event's station: each variant replaces
/// resp/GR.FUR.xml and the forum chain (remove_response) runs over the event's three traces:
/// each ends processed or failed with a reason, within its time bound.
#[test]
fn malformed_stationxml_ends_as_traces_or_reasons() {
    let tmp = tempfile::tempdir().unwrap();
    let event = root().join("examples/data/event_2014-01-01");
    let xml = std::fs::read_to_string(event.join("resp/GR.FUR.xml")).unwrap();
    let first_channel = {
        let a = xml.find("<Channel ").unwrap();
        let b = xml.find("</Channel>").unwrap() + "</Channel>".len();
        xml[a..b].to_string()
    };
    let variants: Vec<(&str, String)> = vec![
        ("truncated", xml[..xml.len() / 2].to_string()),
        ("empty", String::new()),
        ("not_xml", "this is not XML at all <<<".into()),
        (
            "wrong_root",
            "<?xml version='1.0'?><QuakeML></QuakeML>".into(),
        ),
        (
            "no_namespace",
            xml.replace(" xmlns=\"http://www.fdsn.org/xml/station/1\"", ""),
        ),
        ("no_response", without(&xml, "Response")),
        (
            "no_units",
            without(&without(&xml, "InputUnits"), "OutputUnits"),
        ),
        (
            "nan_pole",
            xml.replace("<Real>-251.33</Real>", "<Real>NaN</Real>"),
        ),
        (
            "inf_gain",
            xml.replace("<Value>1500.0</Value>", "<Value>inf</Value>"),
        ),
        (
            "huge_gain",
            xml.replace("<Value>943680000.0</Value>", "<Value>1e308</Value>"),
        ),
        (
            "empty_number",
            xml.replace("<Value>943680000.0</Value>", "<Value></Value>"),
        ),
        (
            "zero_gain",
            xml.replace("<Value>629121.0</Value>", "<Value>0.0</Value>"),
        ),
        (
            "poles_at_zero",
            xml.replace("-0.037004", "0.0")
                .replace("0.037016", "0.0")
                .replace("-251.33", "0.0")
                .replace("-131.04", "0.0")
                .replace("467.29", "0.0"),
        ),
        ("fir_without_decimation", without(&xml, "Decimation")),
        (
            "epochs_miss_the_data",
            xml.replace("2006-12-16T00:00:00", "2030-01-01T00:00:00"),
        ),
        (
            "duplicate_channels",
            xml.replacen(
                &first_channel,
                &format!("{first_channel}{first_channel}"),
                1,
            ),
        ),
    ];
    let mut reasons = Vec::new();
    for (name, text) in &variants {
        let input = tmp.path().join(name).join("event");
        copy_dir(&event, &input);
        std::fs::write(input.join("resp/GR.FUR.xml"), text).unwrap();
        let out = tmp.path().join(name).join("out");
        let t0 = Instant::now();
        let o = Command::new(env!("CARGO_BIN_EXE_seisbatch"))
            .arg("run")
            .arg(root().join("examples/forum_chain.toml"))
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(&out)
            .args(["--device", "cpu", "--quiet", "--jobs", "1"])
            .output()
            .unwrap();
        assert!(t0.elapsed() < Duration::from_secs(60), "{name}: too slow");
        assert!(
            matches!(o.status.code(), Some(0) | Some(3)),
            "{name}: exit {:?}\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stderr)
        );
        let r = report(&out);
        let (ok, failed) = (r["ok"].as_u64().unwrap(), r["failed"].as_u64().unwrap());
        assert_eq!(ok + failed, 3, "{name}: every trace accounted for");
        for f in r["failures"].as_array().unwrap() {
            let reason = f["reason"].as_str().unwrap();
            assert!(
                !reason.is_empty() && !f["id"].as_str().unwrap().is_empty(),
                "{name}"
            );
            reasons.push(format!("{name}: {reason}"));
        }
        // A response that cannot be right is never applied silently.
        if [
            "no_response",
            "empty",
            "not_xml",
            "wrong_root",
            "truncated",
            "epochs_miss_the_data",
            "nan_pole",
            "inf_gain",
            "fir_without_decimation",
            "zero_gain",
            "empty_number",
        ]
        .contains(name)
        {
            assert_eq!(ok, 0, "{name}: processed without a usable response");
        }
    }
    eprintln!("{}", reasons.join("\n"));
}

/// Degenerate traces (1-4 and 7 samples, constant, all zero, NaN and huge samples) through the
/// two example chains on the CPU and GPU paths: every trace ends processed or failed with a
/// reason, and both paths fail the same ones.
#[test]
fn degenerate_traces_end_as_traces_or_reasons_on_both_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let event = tmp.path().join("in/EV");
    std::fs::create_dir_all(event.join("raw")).unwrap();
    std::fs::create_dir_all(event.join("resp")).unwrap();
    std::fs::copy(
        root().join("examples/data/event_2014-01-01/resp/GR.FUR.xml"),
        event.join("resp/GR.FUR.xml"),
    )
    .unwrap();
    let start = 1_388_534_400_000_000_000; // 2014-01-01, inside the response epoch
    let cases: Vec<(&str, Vec<f64>)> = vec![
        ("one", vec![3.0]),
        ("two", vec![1.0, -1.0]),
        ("three", vec![1.0, 2.0, 4.0]),
        ("four", vec![0.5, -0.5, 0.25, 1.0]),
        ("seven", (0..7).map(|i| i as f64).collect()),
        ("constant", vec![1234.0; 3000]),
        ("zeros", vec![0.0; 3000]),
        (
            "nan_inside",
            (0..3000)
                .map(|i| if i == 1500 { f64::NAN } else { (i % 13) as f64 })
                .collect(),
        ),
        (
            "huge",
            (0..3000)
                .map(|i| if i % 2 == 0 { 3e38 } else { -3e38 })
                .collect(),
        ),
    ];
    for (k, (name, data)) in cases.iter().enumerate() {
        let tr = seisbatch::trace::Trace {
            network: "GR".into(),
            station: "FUR".into(),
            location: String::new(),
            channel: "HHZ".into(),
            start_ns: start + k as i64 * 10_000_000_000,
            sampling_rate: 100.0,
            data: data.clone(),
        };
        std::fs::write(
            event.join(format!("raw/{name}.mseed")),
            seisbatch::write::mseed::encode(&tr),
        )
        .unwrap();
    }
    for chain in ["forum_chain.toml", "velocity_bandpass.toml"] {
        let mut failed_by = Vec::new();
        for device in ["cpu", "gpu"] {
            let out = tmp.path().join(format!("{chain}-{device}"));
            let o = Command::new(env!("CARGO_BIN_EXE_seisbatch"))
                .arg("run")
                .arg(root().join("examples").join(chain))
                .arg("--input")
                .arg(tmp.path().join("in"))
                .arg("--output")
                .arg(&out)
                .args(["--device", device, "--quiet", "--jobs", "1"])
                .output()
                .unwrap();
            assert!(
                matches!(o.status.code(), Some(0) | Some(3)),
                "{chain} on {device}: exit {:?}\n{}",
                o.status.code(),
                String::from_utf8_lossy(&o.stderr)
            );
            let r = report(&out);
            let (ok, failed) = (r["ok"].as_u64().unwrap(), r["failed"].as_u64().unwrap());
            assert_eq!(ok + failed, cases.len() as u64, "{chain} on {device}");
            let mut files: Vec<String> = r["failures"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    assert!(!f["reason"].as_str().unwrap().is_empty());
                    f["file"]
                        .as_str()
                        .unwrap()
                        .rsplit('/')
                        .next()
                        .unwrap()
                        .to_string()
                })
                .collect();
            files.sort();
            // NaN samples can never give a finite result.
            assert!(files.contains(&"nan_inside.mseed".to_string()), "{files:?}");
            failed_by.push(files);
        }
        assert_eq!(
            failed_by[0], failed_by[1],
            "{chain}: CPU and GPU fail the same traces"
        );
    }
}
