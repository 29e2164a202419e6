//! Every trace exactly once (issue #12, items 5-11): one run at a time per output folder,
//! resumes that match inputs however their paths are spelled and refuse another product,
//! output names that depend on neither finish order nor what is on disk, no two ids merged
//! in miniSEED output, and one bad record costing one record. Each test failed before the fix.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{
    bin, exit_in, lines, outputs, plain_chain, report, same_report, short_run, short_run_with,
    synth, trace, tree, wait_for_lines, write_mseed,
};

/// `seisbatch run` of the plain chain (no responses needed), CPU, quiet, one job.
fn plain(chain: &Path, input: &Path, output: &Path, extra: &[&str]) -> Command {
    short_run_with(bin(), chain, input, output, extra)
}

/// Two runs into one folder at once: the second is refused with the holder named, plain or
/// --resume, whatever it is; the first finishes as if alone. A killed run's lock is no lock.
#[test]
fn one_run_at_a_time_per_output_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let input = synth(tmp.path(), 2, 3, 60, 0.0);
    let reference = tmp.path().join("reference");
    exit_in(&short_run(&input, &reference, &[]).output().unwrap(), &[0]);
    let out = tmp.path().join("out");
    let first = short_run(&input, &out, &[])
        .env("SEISBATCH_TEST_WRITE_DELAY_MS", "100")
        .spawn()
        .unwrap();
    let journal = out.join(".seisbatch/journal.jsonl");
    wait_for_lines(&journal, 1);
    for extra in [
        &[][..],
        &["--resume"],
        &["--overwrite"],
        &["--shard", "0/2"],
    ] {
        let o = short_run(&input, &out, extra).output().unwrap();
        exit_in(&o, &[2]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("another seisbatch run (pid") && err.contains("is writing to this folder"),
            "{extra:?}: {err}"
        );
    }
    exit_in(&first.wait_with_output().unwrap(), &[0]);
    assert!(outputs(&out).0 == outputs(&reference).0);
    same_report(&report(&reference), &report(&out));
    assert_eq!(lines(&journal), 18, "every input once");

    // Killed with SIGKILL: the kernel drops its lock, and --resume finishes the job.
    let out2 = tmp.path().join("out2");
    let mut killed = short_run(&input, &out2, &[])
        .env("SEISBATCH_TEST_WRITE_DELAY_MS", "100")
        .spawn()
        .unwrap();
    wait_for_lines(&out2.join(".seisbatch/journal.jsonl"), 1);
    killed.kill().unwrap();
    killed.wait().unwrap();
    let lock = std::fs::read_to_string(out2.join(".seisbatch/lock")).unwrap();
    assert!(lock.contains("pid ") && lock.contains(" on "), "{lock}");
    exit_in(
        &short_run(&input, &out2, &["--resume"]).output().unwrap(),
        &[0],
    );
    assert!(outputs(&out2).0 == outputs(&reference).0);
    same_report(&report(&reference), &report(&out2));
}

/// Kills a run of `extra` from `cwd` with relative paths once `n` inputs are journaled.
fn killed_run(cwd: &Path, input: &str, out: &str, extra: &[&str], n: usize) {
    let mut c = short_run(Path::new(input), Path::new(out), extra);
    let mut child = c
        .current_dir(cwd)
        .env("SEISBATCH_TEST_WRITE_DELAY_MS", "60")
        .spawn()
        .unwrap();
    wait_for_lines(&cwd.join(out).join(".seisbatch/journal.jsonl"), n);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A resume matches inputs by their path relative to the input root, whatever spelling of
/// --input and --output it is given (it counted inputs twice, appended event files twice, or
/// cut an event file to nothing); another input root is refused.
#[test]
fn resume_matches_inputs_however_the_paths_are_spelled() {
    let tmp = tempfile::tempdir().unwrap();
    synth(tmp.path(), 3, 3, 60, 0.1);
    let abs_input = tmp.path().join("data");
    for layout in [&[][..], &["--layout", "per-event"]] {
        let name = if layout.is_empty() { "pt" } else { "pe" };
        let reference = tmp.path().join(format!("{name}_ref"));
        exit_in(
            &short_run(&abs_input, &reference, layout).output().unwrap(),
            &[3],
        );
        let out = format!("{name}_out");
        killed_run(tmp.path(), "data", &out, layout, 4);
        // Resume with other spellings: ./data/ and ./OUT/, then absolute paths.
        let resume: Vec<&str> = layout.iter().copied().chain(["--resume"]).collect();
        let o = short_run(
            Path::new("./data/"),
            &PathBuf::from(format!("./{out}/")),
            &resume,
        )
        .current_dir(tmp.path())
        .output()
        .unwrap();
        exit_in(&o, &[3]);
        let abs_out = tmp.path().join(&out);
        let o = short_run(&abs_input, &abs_out, &resume).output().unwrap();
        exit_in(&o, &[3]);
        let (a, b) = (report(&reference), report(&abs_out));
        assert_eq!(a["ok"], b["ok"], "{name}: every trace once");
        assert_eq!(a["input_files"], b["input_files"], "{name}");
        same_report(&a, &b);
        if layout.is_empty() {
            assert!(
                outputs(&abs_out).0 == outputs(&reference).0,
                "{name}: bytes"
            );
        } else {
            // Walk-order commits: the event files are byte for byte the uninterrupted run's.
            assert!(
                outputs(&abs_out).0 == outputs(&reference).0,
                "{name}: event files"
            );
        }
        assert_eq!(
            lines(&abs_out.join(".seisbatch/journal.jsonl")),
            27,
            "{name}"
        );
    }
    // Another input root (a copy of the data) is another run.
    let copy = tmp.path().join("data2");
    common::copy_dir(&abs_input, &copy);
    let o = short_run(&copy, &tmp.path().join("pt_out"), &["--resume"])
        .output()
        .unwrap();
    exit_in(&o, &[2]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--input (resolved)"));
}

/// Two inputs whose names differ only in bytes that are not UTF-8 were one journal entry
/// (both `a\u{fffd}.mseed`), so one was never processed on --resume.
#[test]
fn non_utf8_names_are_different_inputs() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    for (k, b) in [b"a\xfe.mseed", b"a\xff.mseed"].iter().enumerate() {
        let p = input.join(std::ffi::OsStr::from_bytes(&b[..]));
        write_mseed(
            &p,
            &[trace(
                ["XX", &format!("S{k}"), "", "BHZ"],
                "2020-01-01T00:00:00",
                20.0,
                400,
            )],
        );
    }
    let chain = plain_chain(tmp.path());
    let out = tmp.path().join("out");
    // The second output fails (a full disk): only the first input is journaled.
    let o = plain(&chain, &input, &out, &[])
        .env("SEISBATCH_TEST_FAIL_WRITES_AFTER", "1")
        .output()
        .unwrap();
    exit_in(&o, &[3]);
    assert_eq!(lines(&out.join(".seisbatch/journal.jsonl")), 1);
    exit_in(
        &plain(&chain, &input, &out, &["--resume"]).output().unwrap(),
        &[0],
    );
    let r = report(&out);
    assert_eq!(
        (r["ok"].as_u64(), r["input_files"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(
        tree(&out)
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "sac"))
            .count(),
        2
    );
}

/// A resume with another pipeline, format, layout or gap policy is refused, naming the
/// difference, and changes nothing (it mixed 264 SAC files of one chain with 336 miniSEED
/// files of another under one report).
#[test]
fn resume_refuses_another_product() {
    let tmp = tempfile::tempdir().unwrap();
    let input = synth(tmp.path(), 2, 2, 60, 0.0);
    let out = tmp.path().join("out");
    let o = short_run(&input, &out, &[])
        .env("SEISBATCH_TEST_FAIL_WRITES_AFTER", "3")
        .output()
        .unwrap();
    exit_in(&o, &[3]);
    let before = outputs(&out).0;
    let other_chain = plain_chain(tmp.path());
    let cases: Vec<(Command, &str)> = vec![
        (
            plain(&other_chain, &input, &out, &["--resume"]),
            "the pipeline",
        ),
        (
            short_run(&input, &out, &["--resume", "--format", "mseed"]),
            "--format",
        ),
        (
            short_run(&input, &out, &["--resume", "--layout", "per-event"]),
            "--layout",
        ),
        (
            short_run(&input, &out, &["--resume", "--gaps", "zeros"]),
            "--gaps",
        ),
        (
            short_run(&input, &out, &["--resume", "--max-samples", "1000000"]),
            "--max-samples",
        ),
    ];
    for (mut c, what) in cases {
        let o = c.output().unwrap();
        exit_in(&o, &[2]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("holds a different run") && err.contains(what),
            "{what}: {err}"
        );
        assert!(outputs(&out).0 == before, "{what}: nothing changed");
    }
    exit_in(
        &short_run(&input, &out, &["--resume"]).output().unwrap(),
        &[0],
    );
}

/// Two inputs with the same channel and span get X and X_2 in walk order; after an
/// interruption the redone input still gets X_2 (it took X and overwrote the journaled one).
/// Names and bytes are the same with one worker or many, per trace and per event.
#[test]
fn collision_names_depend_on_neither_disk_nor_finish_order() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    let t = |scale: f64| {
        let mut t = trace(["XX", "S", "", "BHZ"], "2020-01-01T00:00:00", 20.0, 400);
        t.data.iter_mut().for_each(|v| *v *= scale);
        t
    };
    write_mseed(&input.join("ev/raw/a.mseed"), &[t(1.0)]);
    write_mseed(&input.join("ev/raw/b.mseed"), &[t(2.0)]);
    let chain = plain_chain(tmp.path());
    let reference = tmp.path().join("reference");
    exit_in(
        &plain(&chain, &input, &reference, &[]).output().unwrap(),
        &[0],
    );
    let want = outputs(&reference).0;
    let names: Vec<String> = want.keys().map(|p| p.display().to_string()).collect();
    assert_eq!(
        names,
        vec![
            "ev/XX.S..BHZ__20200101T000000Z__20200101T000019Z.sac",
            "ev/XX.S..BHZ__20200101T000000Z__20200101T000019Z_2.sac"
        ]
    );
    let out = tmp.path().join("out");
    let o = plain(&chain, &input, &out, &[])
        .env("SEISBATCH_TEST_FAIL_WRITES_AFTER", "1")
        .output()
        .unwrap();
    exit_in(&o, &[3]);
    exit_in(
        &plain(&chain, &input, &out, &["--resume"]).output().unwrap(),
        &[0],
    );
    assert!(
        outputs(&out).0 == want,
        "the redone input took the journaled name"
    );

    // Many workers, many duplicates: the same files as one worker, per trace and per event.
    let data = synth(tmp.path(), 4, 6, 60, 0.0);
    for e in 1..=4 {
        let raw = data.join(format!("event_{e:05}/raw"));
        for f in std::fs::read_dir(&raw).unwrap().flatten().take(5) {
            let p = f.path();
            let copy = p.with_file_name(format!("zz_{}", p.file_name().unwrap().to_string_lossy()));
            std::fs::copy(&p, copy).unwrap();
        }
    }
    for layout in [&[][..], &["--layout", "per-event"]] {
        let one = tmp.path().join(format!("one{}", layout.len()));
        let many = tmp.path().join(format!("many{}", layout.len()));
        exit_in(&short_run(&data, &one, layout).output().unwrap(), &[0]);
        let mut c = bin();
        c.arg("run")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/short_chain.toml"))
            .arg("--input")
            .arg(&data)
            .arg("--output")
            .arg(&many)
            .args(["--device", "cpu", "--quiet", "--jobs", "8"])
            .args(layout);
        exit_in(&c.output().unwrap(), &[0]);
        let (a, b) = (outputs(&one).0, outputs(&many).0);
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        assert!(a == b, "{layout:?}: bytes differ with 8 workers");
        if layout.is_empty() {
            assert!(
                a.keys()
                    .filter(|p| p.to_string_lossy().ends_with("_2.sac"))
                    .count()
                    == 20
            );
        }
    }
}

/// A file of one record repeated 400 times: 400 traces named X, X_2 ... X_400 (each name
/// was searched from _2 upward: 49 s for 10 MB).
#[test]
fn a_repeated_record_gives_numbered_names() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = seisbatch::write::mseed::encode(&trace(
        ["XX", "S", "", "BHZ"],
        "2020-01-01T00:00:00",
        20.0,
        400,
    ));
    let input = tmp.path().join("rep.mseed");
    std::fs::write(&input, rec.repeat(400)).unwrap();
    let out = tmp.path().join("out");
    exit_in(
        &plain(&plain_chain(tmp.path()), &input, &out, &[])
            .output()
            .unwrap(),
        &[0],
    );
    let files = outputs(&out).0;
    assert_eq!(files.len(), 400);
    assert!(files
        .keys()
        .any(|p| p.to_string_lossy().ends_with("Z_400.sac")));
}

/// miniSEED output never cuts codes: LONGSTA1 and LONGSTA2 were both written as
/// XX.LONGS.00.BHZ; codes miniSEED 2 cannot hold are written as miniSEED 3.
#[test]
fn long_codes_stay_apart_in_miniseed_output() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    write_mseed(
        &input.join("ev/raw/a.mseed"),
        &[
            trace(
                ["XX", "LONGSTA1", "00", "BHZ"],
                "2020-01-01T00:00:00",
                20.0,
                400,
            ),
            trace(
                ["XX", "LONGSTA2", "00", "BHZ"],
                "2020-01-01T00:00:00",
                20.0,
                400,
            ),
        ],
    );
    let chain = plain_chain(tmp.path());
    for layout in [&["--format", "mseed"][..], &["--layout", "per-event"]] {
        let out = tmp.path().join(format!("out{}", layout[1]));
        exit_in(&plain(&chain, &input, &out, layout).output().unwrap(), &[0]);
        let mut ids: Vec<String> = outputs(&out)
            .0
            .values()
            .flat_map(|b| seisbatch::read::mseed::read_bytes(b).traces)
            .map(|t| t.id())
            .collect();
        ids.sort();
        assert_eq!(
            ids,
            vec!["XX.LONGSTA1.00.BHZ", "XX.LONGSTA2.00.BHZ"],
            "{layout:?}"
        );
    }
}

/// One record with a bogus length in a file of 23 cost the rest of the file (1 of 23 read).
#[test]
fn one_bogus_record_length_costs_one_record() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = seisbatch::write::mseed::encode(&trace(
        ["XX", "S", "", "BHZ"],
        "2020-01-01T00:00:00",
        20.0,
        23 * 1008,
    ));
    assert_eq!(bytes.len(), 23 * 4096);
    bytes[5 * 4096 + 54] = 21; // record 5 claims 2 MiB
    let input = tmp.path().join("bogus.mseed");
    std::fs::write(&input, &bytes).unwrap();
    let out = tmp.path().join("out");
    exit_in(
        &plain(&plain_chain(tmp.path()), &input, &out, &[])
            .output()
            .unwrap(),
        &[3],
    );
    let r = report(&out);
    assert_eq!(r["ok"], 2, "the records before and after");
    assert_eq!(r["input_samples"], 22 * 1008);
    assert_eq!(
        r["file_problems"][0]["bytes"],
        serde_json::json!([5 * 4096, 6 * 4096])
    );
    assert_eq!(r["failed"], 0);
}

/// A GPU run with --jobs 1 and two device loops ends: the second loop holding a call while
/// the first has finished the stream (`SEISBATCH_TEST_EXTRA_LOOP_DELAY_MS` makes that state
/// certain) once left the one pool worker blocked in the stream's scope and the second loop
/// waiting for it forever. Every trace comes out.
#[test]
fn a_gpu_run_with_one_job_and_two_device_loops_ends() {
    if common::gpu().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let input = synth(tmp.path(), 4, 2, 60, 0.0);
    let chain = plain_chain(tmp.path());
    let out = tmp.path().join("out");
    let mut child = bin()
        .args(["run"])
        .arg(&chain)
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&out)
        .args([
            "--device",
            "gpu",
            "--jobs",
            "1",
            "--gpu-memory",
            "1024",
            "--quiet",
        ])
        .env("SEISBATCH_TEST_READ_DELAY_MS", "100")
        .env("SEISBATCH_TEST_EXTRA_LOOP_DELAY_MS", "2000")
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > std::time::Duration::from_secs(120) {
            let _ = child.kill();
            panic!("the run hung (no exit in 120 s)");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
    let r = report(&out);
    assert_eq!(
        (r["ok"].as_u64(), r["failed"].as_u64()),
        (Some(4 * 2 * 3), Some(0)),
        "{r}"
    );
}
