//! Crash safety (issue #5): a run killed with SIGKILL midway leaves only complete outputs and
//! a journal; a second run refuses the folder unless told --resume or --overwrite; --resume
//! finishes the job with outputs byte-identical to an uninterrupted run, no temporary files
//! left, and a complete report.

use std::time::Duration;

mod common;
use common::{
    exit_in as ok, lines, outputs as files, report, same_report, short_run as run, synth,
    wait_for_lines,
};

#[test]
fn killed_run_resumes_to_the_uninterrupted_result() {
    kill_and_resume(&[], 53); // one per good trace
}

/// The same with one miniSEED file per event: appended per input file, cut back to the
/// journal's length on resume.
#[test]
fn killed_per_event_run_resumes_to_the_uninterrupted_result() {
    kill_and_resume(&["--layout", "per-event"], 6);
}

fn kill_and_resume(layout: &[&str], files_out: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let input = synth(tmp.path(), 6, 3, 60, 0.1);
    let reference = tmp.path().join("reference");
    ok(&run(&input, &reference, layout).output().unwrap(), &[3]);
    let (want, _) = files(&reference);
    assert_eq!(want.len(), files_out);
    let total = report(&reference)["input_files"].as_u64().unwrap() as usize;
    assert_eq!(total, 54);

    // Kill it a few files in, while an output sits under its temporary name.
    let out = tmp.path().join("out");
    let mut child = run(&input, &out, layout)
        .env("SEISBATCH_TEST_WRITE_DELAY_MS", "30")
        .spawn()
        .unwrap();
    let journal = out.join(".seisbatch/journal.jsonl");
    wait_for_lines(&journal, 5);
    std::thread::sleep(Duration::from_millis(10));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let finished = lines(&journal);
    assert!(
        finished < total,
        "killed midway ({finished} of {total} finished)"
    );
    assert!(!out.join("report.json").exists());
    let (partial, temporaries) = files(&out);
    for (p, bytes) in &partial {
        // Per trace: every file in place is complete. Per event: a file holds the start of
        // the uninterrupted one (a torn tail at most, which --resume cuts).
        let full = &want[p];
        if layout.is_empty() {
            assert!(bytes == full, "{p:?}: every output in place is complete");
        } else {
            let n = bytes.len().min(full.len());
            assert!(
                full[..n] == bytes[..n],
                "{p:?}: not a prefix of the full event file"
            );
        }
    }
    let written: usize = partial.values().map(Vec::len).sum();
    assert!(written < want.values().map(Vec::len).sum::<usize>());
    eprintln!(
        "killed after {finished} files, {} temporaries left",
        temporaries.len()
    );

    // A plain second run refuses the folder, and says what to do.
    let o = run(&input, &out, layout).output().unwrap();
    ok(&o, &[2]);
    let msg = String::from_utf8_lossy(&o.stderr);
    assert!(
        msg.contains("--resume") && msg.contains("--overwrite"),
        "{msg}"
    );

    let resume: Vec<&str> = layout.iter().copied().chain(["--resume"]).collect();
    ok(&run(&input, &out, &resume).output().unwrap(), &[3]);
    let (got, temporaries) = files(&out);
    assert!(temporaries.is_empty(), "left behind: {temporaries:?}");
    assert_eq!(got.len(), want.len());
    assert!(got == want, "outputs differ from the uninterrupted run");
    let (a, b) = (report(&reference), report(&out));
    same_report(&a, &b);
    assert_eq!(a["warnings"], b["warnings"], "in the same order too");
    assert_eq!(lines(&journal), total);

    // --overwrite runs it all again over the folder.
    let overwrite: Vec<&str> = layout.iter().copied().chain(["--overwrite"]).collect();
    ok(&run(&input, &out, &overwrite).output().unwrap(), &[3]);
    assert!(files(&out).0 == want);
    assert_eq!(report(&out)["ok"], a["ok"]);
    assert_eq!(lines(&journal), total);
}

/// `--layout per-event` holds the same samples as the per-trace SAC files: each event file
/// decodes to exactly the traces of its event folder.
#[test]
fn per_event_files_hold_the_per_trace_samples() {
    let tmp = tempfile::tempdir().unwrap();
    let input = synth(tmp.path(), 3, 2, 60, 0.1);
    let (sac, events) = (tmp.path().join("sac"), tmp.path().join("events"));
    ok(&run(&input, &sac, &[]).output().unwrap(), &[3]);
    ok(
        &run(&input, &events, &["--layout", "per-event"])
            .output()
            .unwrap(),
        &[3],
    );
    assert_eq!(report(&sac)["ok"], report(&events)["ok"]);
    let mut traces = 0;
    for ev in ["event_00001", "event_00002", "event_00003"] {
        let bytes = std::fs::read(events.join(ev).join(format!("{ev}.mseed"))).unwrap();
        let d = seisbatch::read::mseed::read_bytes(&bytes);
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        let sac_files = std::fs::read_dir(sac.join(ev)).unwrap().count();
        assert_eq!(d.traces.len(), sac_files, "{ev}");
        for t in &d.traces {
            let name = seisbatch::write::names::file_name(t, "sac").unwrap();
            let b = std::fs::read(sac.join(ev).join(&name)).unwrap();
            let want: Vec<f64> = b[632..]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
                .collect();
            assert!(t.data == want, "{ev}/{name}: samples differ");
            traces += 1;
        }
    }
    assert_eq!(traces as u64, report(&sac)["ok"].as_u64().unwrap());
    // SAC cannot hold an event: asking for it is a usage error.
    let mut o = run(
        &input,
        &tmp.path().join("x"),
        &["--layout", "per-event", "--format", "sac"],
    );
    ok(&o.output().unwrap(), &[2]);
}

/// A full disk (injected: every output write fails after the first 10) fails those traces
/// with the reason, does not journal their files, and a --resume once there is room writes
/// them: the outputs and report then equal an uninterrupted run's.
#[test]
fn full_disk_then_resume_completes_the_job() {
    let tmp = tempfile::tempdir().unwrap();
    let input = synth(tmp.path(), 3, 3, 60, 0.1);
    let reference = tmp.path().join("reference");
    ok(&run(&input, &reference, &[]).output().unwrap(), &[3]);
    let out = tmp.path().join("out");
    let o = run(&input, &out, &[])
        .env("SEISBATCH_TEST_FAIL_WRITES_AFTER", "10")
        .output()
        .unwrap();
    ok(&o, &[3]);
    let r = report(&out);
    let full = r["failures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["reason"]
                .as_str()
                .unwrap()
                .contains("No space left on device")
        })
        .count();
    assert!(full > 0);
    assert_eq!(r["ok"], 10);
    let journaled = lines(&out.join(".seisbatch/journal.jsonl"));
    assert!(
        journaled < 27,
        "files with unwritten outputs are not journaled"
    );
    ok(&run(&input, &out, &["--resume"]).output().unwrap(), &[3]);
    assert!(files(&out).0 == files(&reference).0);
    same_report(&report(&reference), &report(&out));
}

/// Durability in batches with one worker too (issue #25): a `--jobs 1` run made each input's
/// outputs durable alone (a syncfs per file, 8x the write floor of a small-file run), since
/// nothing else was ever in flight when it finished. Now batches of 6 inputs (half the 12 in
/// flight), every output in exactly one batch, and the result unchanged.
#[test]
fn one_worker_makes_outputs_durable_in_batches() {
    let tmp = tempfile::tempdir().unwrap();
    let input = synth(tmp.path(), 2, 3, 60, 0.0);
    let log = tmp.path().join("syncs");
    let out = tmp.path().join("out");
    ok(
        &run(&input, &out, &[])
            .env("SEISBATCH_TEST_SYNC_LOG", &log)
            .output()
            .unwrap(),
        &[0],
    );
    let sizes: Vec<usize> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    let (n, _) = files(&out);
    assert!(n.len() >= 18, "{}", n.len());
    // Inputs of one trace each: 6 inputs are 6 outputs a batch. Three more syncs of one file
    // each are the run's own state (its start, the outputs' catalog and its report), not
    // outputs.
    let batches: Vec<usize> = sizes.iter().copied().filter(|&s| s > 1).collect();
    assert_eq!(batches.iter().sum::<usize>(), n.len(), "{sizes:?}");
    assert!(batches.iter().all(|&s| s == 6), "{sizes:?}");
    assert!(sizes.len() <= batches.len() + 3, "{sizes:?}");
    // The same outputs as several workers give.
    let par = tmp.path().join("par");
    let chain = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/short_chain.toml");
    let mut two = common::run_cmd(&chain, &input, &par);
    two.args(["--device", "cpu", "--quiet", "--jobs", "2"]);
    ok(&two.output().unwrap(), &[0]);
    assert!(files(&par).0 == files(&out).0);
    same_report(&report(&par), &report(&out));
}
