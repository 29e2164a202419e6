//! `rotate` through the command line: the receiver-function example against ObsPy on both
//! paths and with one and several jobs, a station's files read together, and the ways a
//! group cannot be rotated.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{bin, copy_dir, files_under, read_f64, rel_l2, report};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rf(input: &Path, out: &Path, extra: &[&str]) -> Output {
    bin()
        .arg("run")
        .arg(root().join("examples/receiver_function.toml"))
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(out)
        .args(["--format", "sac"])
        .args(extra)
        .output()
        .unwrap()
}

fn events() -> String {
    root().join("examples/events.csv").display().to_string()
}

/// The SAC file of `channel` under `dir`.
fn sac_of(dir: &Path, channel: &str) -> Option<PathBuf> {
    files_under(dir).into_iter().map(|p| dir.join(p)).find(|p| {
        p.extension().is_some_and(|x| x == "sac")
            && p.file_name()
                .unwrap()
                .to_string_lossy()
                .contains(&format!("..{channel}__"))
    })
}

/// report.json's failures as "ID REASON" lines.
fn reasons(report: &serde_json::Value) -> Vec<String> {
    report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}", f["id"], f["reason"]))
        .collect()
}

fn header_f32(b: &[u8], word: usize) -> f64 {
    f32::from_le_bytes(b[word * 4..word * 4 + 4].try_into().unwrap()) as f64
}

fn gpu_must_run() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

#[test]
fn receiver_function_example_matches_obspy_with_its_headers() {
    let headers: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("tests/fixtures/rotate/receiver_function.json")).unwrap(),
    )
    .unwrap();
    for (device, jobs) in [("cpu", "1"), ("cpu", "3"), ("gpu", "2")] {
        let out = tempfile::tempdir().unwrap();
        let o = rf(
            &root().join("examples/data"),
            out.path(),
            &["--events", &events(), "--device", device, "--jobs", jobs],
        );
        if device == "gpu" && o.status.code() != Some(0) && !gpu_must_run() {
            continue;
        }
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        if device == "gpu" {
            // Both segments on the device, each trace counted once.
            assert_eq!(report(out.path())["traces_on_device"], 3);
        }
        for channel in ["HHZ", "HHR", "HHT"] {
            let p = sac_of(out.path(), channel).unwrap_or_else(|| panic!("{device}: no {channel}"));
            let b = std::fs::read(&p).unwrap();
            let npts = i32::from_le_bytes(b[316..320].try_into().unwrap()) as usize;
            let got: Vec<f64> = b[632..]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
                .collect();
            let want = read_f64(&format!("golden/FUR_{channel}_receiver_function.f64"));
            assert_eq!(
                (npts, got.len()),
                (want.len(), want.len()),
                "{device} {channel}"
            );
            let tol = if device == "cpu" { 1e-6 } else { 1e-4 };
            let e = rel_l2(&got, &want);
            assert!(e < tol, "{device} jobs {jobs} {channel}: rel L2 {e:.3e}");
            // Station and event words as the script sets them; cmpaz of R and T from the
            // back-azimuth (SAC's convention: R points away from the source).
            let h = &headers["traces"][channel];
            for (word, key) in [
                (31, "stla"),
                (32, "stlo"),
                (33, "stel"),
                (34, "stdp"),
                (35, "evla"),
                (36, "evlo"),
                (38, "evdp"),
                (57, "cmpaz"),
                (58, "cmpinc"),
            ] {
                let want = h[key].as_f64().unwrap();
                assert_eq!(
                    header_f32(&b, word),
                    want as f32 as f64,
                    "{device} {channel} {key}"
                );
            }
            let baz = headers["back_azimuth"].as_f64().unwrap();
            assert!((header_f32(&b, 52) - baz).abs() < 1e-3, "{channel} baz");
        }
    }
}

#[test]
fn a_missing_component_fails_its_station_with_the_reason() {
    let d = tempfile::tempdir().unwrap();
    copy_dir(&root().join("examples/data"), d.path());
    let raw = d.path().join("event_2014-01-01/raw");
    for f in std::fs::read_dir(&raw).unwrap() {
        let p = f.unwrap().path();
        if p.to_string_lossy().contains("HHE__") {
            std::fs::remove_file(p).unwrap();
        }
    }
    let out = d.path().join("out");
    let o = rf(d.path(), &out, &["--events", &events(), "--device", "cpu"]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = report(&out);
    let reasons = reasons(&r);
    // Every trace of the group fails (the vertical too), each with the rotate's reason.
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .all(|r| r.contains("step 6 (rotate): missing component E")),
        "{reasons:?}"
    );
    assert!(sac_of(&out, "HHR").is_none() && sac_of(&out, "HHN").is_none());
}

#[test]
fn without_event_metadata_the_back_azimuth_is_a_reason_not_a_guess() {
    let out = tempfile::tempdir().unwrap();
    let o = rf(
        &root().join("examples/data"),
        out.path(),
        &["--device", "cpu"],
    );
    assert_eq!(o.status.code(), Some(3));
    let r = report(out.path());
    let reasons = reasons(&r);
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    for c in ["HHN", "HHE"] {
        assert!(
            reasons.iter().any(|r| r.contains(&format!("GR.FUR..{c}"))
                && r.contains("step 6 (rotate): no back_azimuth given and no event")),
            "{reasons:?}"
        );
    }
}

#[test]
fn a_resumed_run_rotates_a_half_journaled_station_whole() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let o = rf(
        &root().join("examples/data"),
        &out,
        &["--events", &events(), "--device", "cpu"],
    );
    assert_eq!(o.status.code(), Some(0));
    let first: Vec<Vec<u8>> = ["HHZ", "HHR", "HHT"]
        .iter()
        .map(|c| std::fs::read(sac_of(&out, c).unwrap()).unwrap())
        .collect();
    // As if the run stopped after committing the HHE file (-> HHT) only.
    let journal = out.join(".seisbatch/journal.jsonl");
    let text = std::fs::read_to_string(&journal).unwrap();
    let kept: Vec<&str> = text.lines().filter(|l| l.contains("HHE__")).collect();
    assert_eq!(kept.len(), 1);
    std::fs::write(&journal, format!("{}\n", kept[0])).unwrap();
    for c in ["HHZ", "HHR"] {
        std::fs::remove_file(sac_of(&out, c).unwrap()).unwrap();
    }
    let o = rf(
        &root().join("examples/data"),
        &out,
        &["--events", &events(), "--device", "cpu", "--resume"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let again: Vec<Vec<u8>> = ["HHZ", "HHR", "HHT"]
        .iter()
        .map(|c| std::fs::read(sac_of(&out, c).unwrap()).unwrap())
        .collect();
    assert_eq!(first, again);
    let sacs = files_under(&out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "sac"))
        .count();
    assert_eq!(sacs, 3, "nothing written twice");
    let r = report(&out);
    assert_eq!(r["ok"], 3);
    assert_eq!(
        std::fs::read_to_string(&journal).unwrap().lines().count(),
        3
    );
}

#[test]
fn select_after_rotate_is_a_configuration_error() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("p.toml");
    std::fs::write(
        &p,
        "[[step]]\nop = \"rotate\"\nmethod = \"NE->RT\"\nback_azimuth = 10\n\
         [[step]]\nop = \"select\"\nchannel = \"HHR\"\n",
    )
    .unwrap();
    let o = common::run_cmd(&p, &root().join("examples/data"), &d.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("step 2") && e.contains("put it before the rotate"),
        "{e}"
    );
}

/// A station's three component files in MassDownloader's layout, `n[i]` samples each, plus a
/// second station whose files need no partner (a vertical alone).
fn tree_with_lengths(dir: &Path, n: [usize; 3]) -> PathBuf {
    let raw = dir.join("in/event_x/raw");
    for (c, len) in ["HHE", "HHN", "HHZ"].iter().zip(n) {
        let t = common::trace(["XX", "AB", "", c], "2020-01-01T00:00:00Z", 20.0, len);
        common::write_mseed(
            &raw.join(format!(
                "XX.AB..{c}__20200101T000000Z__20200101T000100Z.mseed"
            )),
            &[t],
        );
    }
    let z = common::trace(["XX", "CD", "", "HHZ"], "2020-01-01T00:00:00Z", 20.0, 1000);
    common::write_mseed(
        &raw.join("XX.CD..HHZ__20200101T000000Z__20200101T000100Z.mseed"),
        &[z],
    );
    let p = dir.join("rotate.toml");
    std::fs::write(
        &p,
        "[[step]]\nop = \"detrend\"\ntype = \"demean\"\n\
         [[step]]\nop = \"rotate\"\nmethod = \"NE->RT\"\nback_azimuth = 30.0\n",
    )
    .unwrap();
    p
}

#[test]
fn components_of_different_lengths_fail_their_group_with_obspys_reason() {
    for jobs in ["1", "2"] {
        let d = tempfile::tempdir().unwrap();
        let p = tree_with_lengths(d.path(), [1000, 999, 1000]);
        let out = d.path().join("out");
        let o = common::run_cmd(&p, &d.path().join("in"), &out)
            .args(["--device", "cpu", "--jobs", jobs, "--format", "mseed"])
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(3),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let r = report(&out);
        let mut failed: Vec<String> = r["failures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let reason = f["reason"].as_str().unwrap();
                assert!(
                    reason.starts_with(
                        "step 2 (rotate): All components need to have the same time span."
                    ),
                    "{reason}"
                );
                f["id"].as_str().unwrap().to_string()
            })
            .collect();
        failed.sort();
        assert_eq!(failed, ["XX.AB..HHE", "XX.AB..HHN", "XX.AB..HHZ"]);
        // The other station is written; nothing of the failed group is.
        assert_eq!(r["ok"], 1);
        let names: Vec<String> = files_under(&out)
            .iter()
            .map(|p| p.display().to_string())
            .filter(|p| p.ends_with(".mseed"))
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(names[0].contains("XX.CD..HHZ"));
    }
    // Equal lengths rotate: HHR and HHT come out, renamed, from the N and E files.
    let d = tempfile::tempdir().unwrap();
    let p = tree_with_lengths(d.path(), [1000, 1000, 1000]);
    let out = d.path().join("out");
    let o = common::run_cmd(&p, &d.path().join("in"), &out)
        .args(["--device", "cpu", "--format", "mseed"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut names: Vec<String> = files_under(&out)
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".mseed"))
        .map(|n| n[..10].to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["XX.AB..HHR", "XX.AB..HHT", "XX.AB..HHZ", "XX.CD..HHZ"]
    );
}

#[test]
fn a_station_larger_than_the_admission_window_goes_through_with_one_job() {
    // Ten time chunks of three components: 30 files of one name prefix, more than one group
    // (at most 24 files) and than --jobs 1's window of 12 files in flight. Admitted one by
    // one, the group waited forever on room its own files held.
    let d = tempfile::tempdir().unwrap();
    let raw = d.path().join("in/event_x/raw");
    for chunk in 0..10 {
        let start = format!("2020-01-01T00:{:02}:00Z", chunk);
        for c in ["HHE", "HHN", "HHZ"] {
            let t = common::trace(["XX", "AB", "", c], &start, 20.0, 200);
            let name =
                format!("XX.AB..{c}__20200101T00{chunk:02}00Z__20200101T00{chunk:02}10Z.mseed");
            common::write_mseed(&raw.join(name), &[t]);
        }
    }
    let p = d.path().join("rotate.toml");
    std::fs::write(
        &p,
        "[[step]]\nop = \"rotate\"\nmethod = \"NE->RT\"\nback_azimuth = 120\n",
    )
    .unwrap();
    let mut cmd = common::run_cmd(&p, &d.path().join("in"), &d.path().join("out"));
    cmd.args(["--device", "cpu", "--jobs", "1", "--format", "mseed"]);
    let o = common::output_within(cmd, 60);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = report(&d.path().join("out"));
    assert_eq!(r["ok"], 30);
    let rotated = files_under(&d.path().join("out"))
        .iter()
        .filter(|p| {
            let n = p.to_string_lossy();
            n.contains("..HHR__") || n.contains("..HHT__")
        })
        .count();
    assert_eq!(rotated, 20);
}

/// A station of 30 time chunks of E, N and Z (90 files, a month of day files) rotates
/// whole: it was cut after 24 files, and every trace failed with "missing component E ...
/// 0 of 2 found". Components are paired by time span (files are named and walked E chunks,
/// then N, then Z); a chunk missing its N fails that chunk only. Both executors, one job and
/// several: the same bytes.
#[test]
fn a_station_of_ninety_files_rotates_whole_paired_by_time() {
    let d = tempfile::tempdir().unwrap();
    let raw = d.path().join("in/event_x/raw");
    let t0 = seisbatch::time::parse_iso("2020-01-01T00:00:00Z").unwrap();
    let mut inputs = std::collections::HashMap::new();
    for chunk in 0..30i64 {
        let start = t0 + chunk * 3_600_000_000_000;
        for (k, c) in ["HHE", "HHN", "HHZ"].iter().enumerate() {
            let mut t = common::trace(["XX", "AB", "", c], "2020-01-01T00:00:00Z", 20.0, 1200);
            t.start_ns = start;
            let seed = (chunk * 3 + k as i64) as u64;
            t.data = common::noise(seed, 1200)
                .iter()
                .map(|v| v * 1000.0)
                .collect();
            let name = format!(
                "XX.AB..{c}__{}__{}.mseed",
                seisbatch::time::compact(start),
                seisbatch::time::compact(t.end_ns())
            );
            common::write_mseed(&raw.join(name), &[t.clone()]);
            inputs.insert((chunk, c.to_string()), t);
        }
    }
    let p = d.path().join("rotate.toml");
    std::fs::write(
        &p,
        "[[step]]\nop = \"detrend\"\ntype = \"demean\"\n\
         [[step]]\nop = \"rotate\"\nmethod = \"NE->RT\"\nback_azimuth = 30\n",
    )
    .unwrap();
    let run = |out: &str, extra: &[&str]| {
        let mut cmd = common::run_cmd(&p, &d.path().join("in"), &d.path().join(out));
        cmd.args(["--format", "mseed", "--quiet"]).args(extra);
        common::output_within(cmd, 300)
    };
    let mut devices = vec![
        vec!["--device", "cpu", "--jobs", "1"],
        vec!["--device", "cpu", "--jobs", "3"],
    ];
    if common::gpu_available() {
        devices.push(vec!["--device", "gpu", "--jobs", "2"]);
    }
    let mut first = None;
    for (i, extra) in devices.iter().enumerate() {
        let o = run(&format!("out{i}"), extra);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{extra:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let out = d.path().join(format!("out{i}"));
        assert_eq!(report(&out)["ok"], 90, "{extra:?}");
        // R = -E sin(baz) - N cos(baz) (ObsPy's rotate_ne_rt) on the demeaned chunk: within
        // float32 (the files' samples) on the CPU path, within the device's f32 arithmetic on
        // the GPU path.
        let got = common::outputs(&out).0;
        let tol = if extra[1] == "cpu" { 1e-7 } else { 1e-5 };
        {
            let ba = 30f64.to_radians();
            let demeaned = |t: &seisbatch::trace::Trace| -> Vec<f64> {
                let m = t.data.iter().sum::<f64>() / t.data.len() as f64;
                t.data.iter().map(|v| v - m).collect()
            };
            for ((chunk, c), t) in &inputs {
                if c != "HHE" {
                    continue;
                }
                let e = demeaned(t);
                let n = demeaned(&inputs[&(*chunk, "HHN".to_string())]);
                let r: Vec<f64> = e
                    .iter()
                    .zip(&n)
                    .map(|(e, n)| -e * ba.sin() - n * ba.cos())
                    .collect();
                let name = format!(
                    "XX.AB..HHR__{}__{}.mseed",
                    seisbatch::time::compact(t.start_ns),
                    seisbatch::time::compact(t.end_ns())
                );
                let bytes = got
                    .iter()
                    .find(|(k, _)| k.file_name().unwrap().to_string_lossy() == name)
                    .unwrap_or_else(|| panic!("{name} not written"))
                    .1;
                let tr = seisbatch::read::mseed::read_bytes(bytes).traces.remove(0);
                let e = rel_l2(&tr.data, &r);
                assert!(e < tol, "{extra:?} chunk {chunk}: {e}");
            }
        }
        match &first {
            None => first = Some(got),
            Some(want) if extra[1] == "cpu" => {
                assert!(*want == got, "{extra:?}: other bytes than one job")
            }
            Some(_) => {}
        }
    }
    // Chunk 7 without its N: that chunk's E and Z fail with the reason, the rest rotate.
    let n7 = files_under(&raw)
        .into_iter()
        .find(|f| {
            f.to_string_lossy()
                .starts_with("XX.AB..HHN__20200101T070000Z")
        })
        .unwrap();
    std::fs::remove_file(raw.join(n7)).unwrap();
    let o = run("missing", &["--device", "cpu", "--jobs", "2"]);
    assert_eq!(o.status.code(), Some(3));
    let r = report(&d.path().join("missing"));
    assert_eq!(r["ok"], 87, "{:?}", reasons(&r));
    let why = reasons(&r);
    assert_eq!(why.len(), 2, "{why:?}");
    assert!(
        why.iter().all(|w| w.contains("missing component N")),
        "{why:?}"
    );
}
