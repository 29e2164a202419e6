//! The hostile-input corpus (issue #6): the whole CLI over each malformed or unusual miniSEED
//! file (tests/fixtures/corpus/README.md says where each came from) plus generated ones. Each
//! run must end within its time bound with exit 0 or 3, a report.json in which the file is
//! either processed traces or failures with reasons, and bounded peak memory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    assert!(inputs.len() >= 70, "{} corpus files", inputs.len());
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
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap())
                .unwrap();
        let ok = r["ok"].as_u64().unwrap();
        let failures = r["failures"].as_array().unwrap();
        assert!(
            ok > 0 || !failures.is_empty(),
            "{}: neither a trace nor a reason",
            input.display()
        );
        for f in failures {
            assert!(!f["reason"].as_str().unwrap().is_empty());
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
