//! `seisbatch synth`: deterministic for a seed, MassDownloader-shaped, and exactly the bad
//! traces it announces fail when a pipeline runs over it (the good ones all pass through
//! remove_response with the synthetic three-stage responses).

mod common;

use std::path::Path;
use std::process::Command;

fn seisbatch(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_seisbatch"))
        .args(args)
        .output()
        .expect("run seisbatch")
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    common::files_under(dir)
        .into_iter()
        .map(|rel| {
            (
                rel.display().to_string(),
                std::fs::read(dir.join(&rel)).unwrap(),
            )
        })
        .collect()
}

fn synth(dir: &Path, seed: &str) {
    let o = seisbatch(&[
        "synth",
        "--output",
        dir.to_str().unwrap(),
        "--events",
        "2",
        "--stations",
        "3",
        "--duration",
        "120",
        "--rates",
        "20,100",
        "--bad-fraction",
        "0.17",
        "--seed",
        seed,
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("wrote 18 traces (3 bad"));
}

#[test]
fn same_seed_same_bytes_other_seed_other_data() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    synth(a.path(), "7");
    synth(b.path(), "7");
    synth(c.path(), "8");
    let (fa, fb, fc) = (files(a.path()), files(b.path()), files(c.path()));
    assert_eq!(fa.len(), 18 + 6, "18 miniSEED files and 6 StationXML files");
    assert!(fa.iter().any(|(n, _)| n.ends_with("resp/SY.S0001.xml")));
    assert!(fa
        .iter()
        .any(|(n, _)| n.contains("raw/SY.S0002..HHZ__20200101T001000Z__")));
    assert_eq!(fa, fb);
    assert_ne!(fa, fc);
}

#[test]
fn exactly_the_bad_traces_fail() {
    let data = tempfile::tempdir().unwrap();
    synth(data.path(), "1");
    let pipeline = data.path().join("vel.toml");
    std::fs::write(
        &pipeline,
        "[[step]]\nop = \"detrend\"\ntype = \"linear\"\n[[step]]\nop = \"taper\"\nmax_percentage = 0.05\n\
         [[step]]\nop = \"remove_response\"\noutput = \"VEL\"\npre_filt = [0.01, 0.02, 8.0, 9.0]\nwater_level = 60\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = seisbatch(&[
        "run",
        pipeline.to_str().unwrap(),
        "--input",
        data.path().to_str().unwrap(),
        "--output",
        out.path().to_str().unwrap(),
        "--device",
        "cpu",
    ]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    // Three bad traces: a response epoch that ended is a failed trace; a truncated file and a
    // corrupt record are damaged parts of their files (with byte ranges), whose readable
    // records still give traces, processed and written. Traces are counted as traces.
    let failures = r["failures"].as_array().unwrap();
    assert_eq!(r["failed"], 1, "{failures:#?}");
    assert!(
        failures[0]["reason"]
            .as_str()
            .unwrap()
            .contains("no StationXML response"),
        "{failures:#?}"
    );
    let problems = r["file_problems"].as_array().unwrap();
    let reasons = serde_json::to_string(problems).unwrap();
    assert_eq!(problems.len(), 2, "{reasons}");
    assert_eq!(r["files_with_problems"], 2);
    for why in ["truncated record", "unreadable data"] {
        assert!(reasons.contains(why), "{why}: {reasons}");
    }
    assert!(problems
        .iter()
        .all(|p| p["bytes"].as_array().is_some_and(|b| b.len() == 2)));
    // 15 good traces, the truncated file's first part, the corrupt file's two parts.
    assert_eq!(r["ok"], 18, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        !serde_json::to_string(failures)
            .unwrap()
            .contains("invalid response"),
        "synthetic responses evaluate"
    );
    // Every run prints what was not processed, by reason.
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not processed, by reason"), "{err}");
    assert!(err.contains("1 x no StationXML response"), "{err}");
}

/// `seisbatch bench` runs each path as a child process and reports where the time went.
#[test]
fn bench_measures_each_path() {
    let data = tempfile::tempdir().unwrap();
    let o = seisbatch(&[
        "synth",
        "--output",
        data.path().to_str().unwrap(),
        "--events",
        "2",
        "--stations",
        "2",
        "--duration",
        "120",
        "--rates",
        "50",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let pipeline = data.path().join("p.toml");
    std::fs::write(&pipeline, "[[step]]\nop = \"detrend\"\ntype = \"linear\"\n[[step]]\nop = \"taper\"\nmax_percentage = 0.05\n[[step]]\nop = \"remove_response\"\noutput = \"VEL\"\n").unwrap();
    let json = data.path().join("bench.json");
    let o = seisbatch(&[
        "bench",
        pipeline.to_str().unwrap(),
        "--input",
        data.path().to_str().unwrap(),
        "--devices",
        "cpu,gpu",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("| cpu | cpu | 12/0 |"), "{table}");
    let software = matches!(
        seisbatch::gpu::best_adapter(),
        Some((_, wgpu::DeviceType::Cpu))
    );
    if software {
        // Named: measured, and said loudly to be no GPU's numbers.
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("WARNING") && err.contains("SOFTWARE adapter"),
            "{err}"
        );
        assert!(table.contains("SOFTWARE)"), "{table}");
        // Not named: skipped, with the reason.
        let o = seisbatch(&[
            "bench",
            pipeline.to_str().unwrap(),
            "--input",
            data.path().to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("gpu path skipped"), "{err}");
        let t = String::from_utf8_lossy(&o.stdout);
        assert!(
            t.contains("| cpu | cpu | 12/0 |") && !t.contains("| gpu |"),
            "{t}"
        );
    }
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for r in rows {
        assert_eq!(r["ok"], 12, "{r}");
        assert!(r["traces_per_second"].as_f64().unwrap() > 0.0);
        assert!(r["stage_seconds"]["read_decode"].as_f64().unwrap() > 0.0);
        assert!(r["stage_seconds"]["write"].as_f64().unwrap() > 0.0);
        if cfg!(target_os = "linux") {
            assert!(r["peak_rss_mib"].as_f64().unwrap() > 1.0);
        }
    }
    let gpu = &rows[1];
    if gpu["ran"] == "gpu" {
        assert_eq!(gpu["traces_on_device"], 12);
        assert!(gpu["stage_seconds"]["gpu_device"].as_f64().unwrap() > 0.0);
        assert!(gpu["stage_seconds"]["gpu_batches"].as_u64().unwrap() >= 1);
    } else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true but no adapter"
        );
    }
}
