//! Crashes and unbounded resources (issue #12, items 12-15): nested XML, closed output
//! streams, memory per trace and per file, absurd times, rates and flags. Each case ended the
//! run (stack overflow, panic, OOM kill) or wrote garbage with exit 0 before the fix.

use std::path::Path;
use std::process::{Command, Stdio};

mod common;
use common::{
    bin, exit_in, one_trace_input, output_within, plain_chain, report, trace, tree, write_mseed,
};

fn run(chain: &Path, input: &Path, output: &Path, extra: &[&str]) -> Command {
    let mut c = common::run_cmd(chain, input, output);
    c.args(["--device", "cpu"]).args(extra);
    c
}

/// 40,000 nested elements in an event's StationXML (326 KB) aborted the whole run with a stack
/// overflow, on --resume too. Now the traces that need it fail, naming the file.
#[test]
fn deeply_nested_stationxml_fails_its_traces_not_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    write_mseed(
        &input.join("ev/raw/a.mseed"),
        &[trace(
            ["XX", "S", "", "BHZ"],
            "2020-01-01T00:00:00",
            20.0,
            400,
        )],
    );
    std::fs::create_dir_all(input.join("ev/resp")).unwrap();
    let deep = format!(
        "<?xml version='1.0'?><FDSNStationXML>{}{}</FDSNStationXML>",
        "<a>".repeat(40_000),
        "</a>".repeat(40_000)
    );
    std::fs::write(input.join("ev/resp/XX.S.xml"), deep).unwrap();
    let chain = tmp.path().join("rr.toml");
    std::fs::write(&chain, "[[step]]\nop = \"remove_response\"\n").unwrap();
    let out = tmp.path().join("out");
    for extra in [&["--quiet"][..], &["--quiet", "--overwrite"]] {
        let o = run(&chain, &input, &out, extra).output().unwrap();
        exit_in(&o, &[3]);
        let r = report(&out);
        assert_eq!(r["failed"], 1);
        assert!(r["failures"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("nested more than 64 elements deep"));
    }
}

/// Progress and messages never end a run: stderr on a full device, stderr a closed pipe,
/// `2>&1 | head -1`, and `seisbatch report` with stdout closed all exited 101 without a report.
#[test]
fn closed_or_full_output_streams_never_end_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let input = one_trace_input(tmp.path());
    write_mseed(&input.join("bad.mseed"), &[]);
    std::fs::write(
        input.join("bad.mseed"),
        b"not miniseed at all, but named so",
    )
    .unwrap();
    let chain = plain_chain(tmp.path());
    let check = |out: &Path, status: std::process::ExitStatus| {
        assert_eq!(status.code(), Some(3), "{out:?}");
        assert_eq!(report(out)["ok"], 1);
    };
    // 2>/dev/full
    let out = tmp.path().join("full");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let s = run(&chain, &input, &out, &[])
        .stderr(Stdio::from(full))
        .status()
        .unwrap();
    check(&out, s);
    // stderr a pipe whose reader is gone.
    let out = tmp.path().join("closed");
    let mut child = run(&chain, &input, &out, &[])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    check(&out, child.wait().unwrap());
    // seisbatch run ... 2>&1 | head -1
    let out = tmp.path().join("head");
    let sh = format!(
        "{} run {} --input {} --output {} --device cpu 2>&1 | head -1; exit ${{PIPESTATUS[0]}}",
        env!("CARGO_BIN_EXE_seisbatch"),
        chain.display(),
        input.display(),
        out.display()
    );
    let o = Command::new("bash").arg("-c").arg(&sh).output().unwrap();
    check(&out, o.status);
    // seisbatch report DIR with stdout closed: the merged report is written first.
    let sharded = tmp.path().join("sharded");
    for k in 0..2 {
        exit_in(
            &run(
                &chain,
                &input,
                &sharded,
                &["--quiet", "--shard", &format!("{k}/2")],
            )
            .output()
            .unwrap(),
            &[0],
        );
    }
    let mut child = bin()
        .arg("report")
        .arg(&sharded)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(3));
    assert_eq!(report(&sharded)["ok"], 1);
}

/// A header rate of 6e7 Hz with sub-second gaps under --gaps zeros filled each gap with ~3e7
/// samples (the cap was per gap) and was killed for memory; a 2 GB file was held whole; a
/// resample typo needed 9.3 GB per trace. Every such cost is now bounded by --max-samples,
/// with the reason in the report.
#[test]
fn per_trace_and_per_file_costs_are_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let chain = plain_chain(tmp.path());
    // 20 records of 1,000 samples at 6e7 Hz, 0.5 s apart.
    let input = tmp.path().join("fast");
    let recs: Vec<_> = (0..20)
        .map(|k| {
            trace(
                ["XX", "FASTSTA", "", "HHZ"], // miniSEED 3: nanosecond times
                &format!(
                    "2020-01-01T00:00:{:02}.{}",
                    k / 2,
                    if k % 2 == 1 { "5" } else { "0" }
                ),
                6e7,
                1000,
            )
        })
        .collect();
    write_mseed(&input.join("fast.mseed"), &recs);
    let out = tmp.path().join("out_fast");
    let o = run(
        &chain,
        &input,
        &out,
        &["--quiet", "--gaps", "zeros", "--max-samples", "1000000"],
    )
    .output()
    .unwrap();
    exit_in(&o, &[0]);
    let r = report(&out);
    assert_eq!(r["ok"], 20, "no fill made: each would pass --max-samples");
    assert!(r["warnings"]
        .to_string()
        .contains("past --max-samples 1000000"));
    assert!(r["peak_rss_bytes"].as_u64().unwrap() < 200 << 20);

    // A 2 GiB file (sparse): refused before it is read, the run goes on.
    let input = tmp.path().join("big");
    write_mseed(
        &input.join("good.mseed"),
        &[trace(
            ["XX", "S", "", "BHZ"],
            "2020-01-01T00:00:00",
            20.0,
            400,
        )],
    );
    let f = std::fs::File::create(input.join("huge.mseed")).unwrap();
    f.set_len(2 << 30).unwrap();
    let out = tmp.path().join("out_big");
    let mut c = run(&chain, &input, &out, &["--quiet"]);
    c.env_remove("SEISBATCH_TEST_WRITE_DELAY_MS");
    let o = output_within(c, 60);
    exit_in(&o, &[3]);
    let r = report(&out);
    assert_eq!(r["ok"], 1);
    let p = &r["file_problems"][0];
    assert!(p["file"].as_str().unwrap().ends_with("huge.mseed"));
    assert!(
        p["reason"].as_str().unwrap().contains("more than the"),
        "{p}"
    );
    assert!(r["peak_rss_bytes"].as_u64().unwrap() < 200 << 20);

    // resample sampling_rate = 220000 (a typo for 20) on a 20-minute 100 Hz trace.
    let input = tmp.path().join("typo");
    write_mseed(
        &input.join("a.mseed"),
        &[trace(
            ["XX", "S", "", "HHZ"],
            "2020-01-01T00:00:00",
            100.0,
            120_000,
        )],
    );
    let typo = tmp.path().join("typo.toml");
    std::fs::write(
        &typo,
        "[[step]]\nop = \"resample\"\nsampling_rate = 220000\n",
    )
    .unwrap();
    let out = tmp.path().join("out_typo");
    let o = run(&typo, &input, &out, &["--quiet"]).output().unwrap();
    exit_in(&o, &[3]);
    let r = report(&out);
    assert!(r["failures"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("264000000 samples, more than the limit of 33554432 (--max-samples)"));
    assert!(r["peak_rss_bytes"].as_u64().unwrap() < 200 << 20);
}

/// What cannot be represented is refused, never written as garbage with exit 0: a record dated
/// 2262 came out as 1677, a 1e300 Hz rate made a SAC file ObsPy could not read.
#[test]
fn unrepresentable_times_and_rates_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    let mut late = seisbatch::write::mseed::encode(&trace(
        ["XX", "LATE", "", "BHZ"],
        "2020-01-01T00:00:00",
        20.0,
        400,
    ));
    late[20..22].copy_from_slice(&2262u16.to_be_bytes());
    late[22..24].copy_from_slice(&200u16.to_be_bytes());
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(input.join("late.mseed"), late).unwrap();
    write_mseed(
        &input.join("fast.mseed"),
        // miniSEED 3 (a long station code): its rate field is an f64.
        &[trace(
            ["XX", "FASTSTA", "", "BHZ"],
            "2020-01-01T00:00:00",
            1e300,
            400,
        )],
    );
    write_mseed(
        &input.join("good.mseed"),
        &[trace(
            ["XX", "GOOD", "", "BHZ"],
            "2020-01-01T00:00:00",
            20.0,
            400,
        )],
    );
    let out = tmp.path().join("out");
    let o = run(&plain_chain(tmp.path()), &input, &out, &["--quiet"])
        .output()
        .unwrap();
    exit_in(&o, &[3]);
    let r = report(&out);
    assert_eq!(r["ok"], 1);
    let problems = r["file_problems"].to_string();
    assert!(
        problems.contains("start year 2262 cannot be represented"),
        "{problems}"
    );
    assert!(
        problems.contains("sampling rate 1e300 Hz cannot be represented"),
        "{problems}"
    );
    let written: Vec<_> = tree(&out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sac"))
        .collect();
    assert_eq!(written.len(), 1);
    assert!(written[0].to_string_lossy().starts_with("XX.GOOD"));
}

/// Absurd flags and pipeline values are usage errors before anything is read or written
/// (`--jobs 100000` spent minutes starting threads, `--shard 0/100000000000` made `seisbatch
/// report` run out of memory), and a run that fails before reading anything leaves no trace.
#[test]
fn absurd_flags_fail_fast_and_leave_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let input = one_trace_input(tmp.path());
    let chain = plain_chain(tmp.path());
    let shift = tmp.path().join("shift.toml");
    std::fs::write(
        &shift,
        "[[step]]\nop = \"interpolate\"\nsampling_rate = 10\ntime_shift = 1e308\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    for (c, extra) in [
        (&chain, &["--jobs", "100000"][..]),
        (&chain, &["--shard", "0/100000000000"]),
        (&chain, &["--max-samples", "0"]),
        (&chain, &["--max-gap", "3"]),
        (&shift, &[]),
    ] {
        let mut cmd = run(c, &input, &out, extra);
        cmd.arg("--quiet");
        let o = output_within(cmd, 20);
        exit_in(&o, &[2]);
        assert!(!out.exists(), "{extra:?}: the folder was created");
    }
    // A run that finds nothing to read: exit 2, and the folder it would have made is gone.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), b"x").unwrap();
    let o = run(&chain, &empty, &out, &[]).output().unwrap();
    exit_in(&o, &[2]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no miniSEED input found") && err.contains("notes.txt"),
        "{err}"
    );
    assert!(!out.exists());
    // An existing empty output folder stays empty.
    std::fs::create_dir_all(&out).unwrap();
    exit_in(&run(&chain, &empty, &out, &[]).output().unwrap(), &[2]);
    assert!(tree(&out).is_empty(), "{:?}", tree(&out));
    // `seisbatch report` over a folder a hostile name claims is of 1e11 shards.
    let dir = tmp.path().join("shards");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("report.0-of-100000000000.json"), b"{}").unwrap();
    let mut c = bin();
    c.arg("report").arg(&dir);
    exit_in(&output_within(c, 20), &[2]);
}
