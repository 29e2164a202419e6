//! State files cannot lie (issue #23, item 5): what the journal claims is checked against the
//! output folder before `--resume` trusts it, every state file is read as a regular file
//! with a size bound, `seisbatch report` adds counts with checks, and a hard-linked copy of
//! OUTPUT (`cp -al out snapshot`) is never modified by a later run in OUTPUT.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::*;

/// Every file under `dir`, state and reports included, with its bytes.
fn everything(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .map(|p| {
            let b = std::fs::read(dir.join(&p)).unwrap();
            (p, b)
        })
        .collect()
}

/// `cp -al from to`: the tree again, every file a hard link.
fn link_copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            link_copy(&p, &to.join(e.file_name()));
        } else {
            std::fs::hard_link(&p, to.join(e.file_name())).unwrap();
        }
    }
}

fn journal(out: &Path) -> PathBuf {
    out.join(".seisbatch/journal.jsonl")
}

/// Keeps the first `n` lines of the journal: a run killed after `n` inputs (its later
/// outputs, or appends, are on disk but not journaled).
fn cut_journal(out: &Path, n: usize) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(journal(out)).unwrap();
    let lines: Vec<&str> = text.lines().take(n).collect();
    std::fs::write(journal(out), lines.join("\n") + "\n").unwrap();
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn resume(data: &Path, out: &Path, layout: &[&str]) -> std::process::Output {
    let o = short_run(data, out, &[layout, &["--resume"]].concat())
        .output()
        .unwrap();
    exit_in(&o, &[0]);
    o
}

fn warnings(out: &Path) -> Vec<String> {
    report(out)["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn resume_checks_per_event_files_against_the_journal() {
    let tmp = tempfile::tempdir().unwrap();
    let data = synth(tmp.path(), 2, 2, 30, 0.0);
    let per_event = ["--layout", "per-event"];
    let reference = tmp.path().join("reference");
    exit_in(
        &short_run(&data, &reference, &per_event).output().unwrap(),
        &[0],
    );
    let want = outputs(&reference).0;
    let finished = everything(&reference);

    // Killed after 4 of 12 inputs, then the first event's file deleted: it was recreated as
    // the journal's length of zero bytes followed by the new traces.
    let out = tmp.path().join("deleted");
    copy_dir(&reference, &out);
    let kept = cut_journal(&out, 4);
    let event = kept[0]["appended"][0].as_str().unwrap().to_string();
    std::fs::remove_file(out.join(&event)).unwrap();
    resume(&data, &out, &per_event);
    assert!(
        outputs(&out).0 == want,
        "the deleted event file was not rebuilt whole"
    );
    assert!(
        warnings(&out)
            .iter()
            .any(|w| w.contains(&event) && w.contains("is missing")),
        "{:?}",
        warnings(&out)
    );
    assert_eq!(report(&out)["ok"], report(&reference)["ok"]);

    // A journal line claiming 10^12 bytes: the file was grown to a terabyte (sparse) and
    // appended to. Now the claim is not trusted and nothing is written past the file's end.
    let out = tmp.path().join("huge");
    copy_dir(&reference, &out);
    let mut lines: Vec<serde_json::Value> = cut_journal(&out, 4);
    lines[3]["appended"][1] = serde_json::json!(1_000_000_000_000u64);
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(journal(&out), text).unwrap();
    resume(&data, &out, &per_event);
    assert!(outputs(&out).0 == want);
    for p in files_under(&out) {
        assert!(
            std::fs::metadata(out.join(&p)).unwrap().len() < 1 << 30,
            "{}",
            p.display()
        );
    }

    // A checksum that does not match (the file was changed after the journal recorded it).
    let out = tmp.path().join("changed");
    copy_dir(&reference, &out);
    cut_journal(&out, 4);
    let path = out.join(&event);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100] ^= 0xFF;
    std::fs::write(&path, bytes).unwrap();
    resume(&data, &out, &per_event);
    assert!(outputs(&out).0 == want);

    // Killed mid-way with nothing else wrong: the usual resume, bytes as uninterrupted.
    let out = tmp.path().join("killed");
    copy_dir(&reference, &out);
    cut_journal(&out, 5);
    resume(&data, &out, &per_event);
    assert!(outputs(&out).0 == want);
    assert!(finished.len() > want.len());
}

#[test]
fn resume_checks_per_trace_outputs_against_the_journal() {
    let tmp = tempfile::tempdir().unwrap();
    let data = synth(tmp.path(), 2, 2, 30, 0.0);
    let reference = tmp.path().join("reference");
    exit_in(&short_run(&data, &reference, &[]).output().unwrap(), &[0]);
    let want = outputs(&reference).0;
    let out = tmp.path().join("out");
    copy_dir(&reference, &out);
    let names: Vec<&PathBuf> = want.keys().collect();
    std::fs::remove_file(out.join(names[0])).unwrap();
    std::fs::write(out.join(names[5]), b"short").unwrap();
    resume(&data, &out, &[]);
    assert!(
        outputs(&out).0 == want,
        "the missing and changed outputs were not redone"
    );
    let w = warnings(&out);
    assert!(w.iter().any(|w| w.contains("is missing")), "{w:?}");
    assert!(
        w.iter()
            .any(|w| w.contains("has 5 bytes, the journal says")),
        "{w:?}"
    );
    assert_eq!(report(&out)["ok"], report(&reference)["ok"]);
    assert_eq!(report(&out)["outputs"], report(&reference)["outputs"]);
}

#[test]
fn a_hard_linked_snapshot_is_never_modified() {
    let tmp = tempfile::tempdir().unwrap();
    let data = synth(tmp.path(), 2, 2, 30, 0.0);
    for layout in [&["--layout", "per-event"][..], &[]] {
        let name = if layout.is_empty() { "trace" } else { "event" };
        let reference = tmp.path().join(format!("reference_{name}"));
        exit_in(
            &short_run(&data, &reference, layout).output().unwrap(),
            &[0],
        );
        let want = outputs(&reference).0;
        for flag in ["--resume", "--overwrite"] {
            let out = tmp.path().join(format!("out_{name}{flag}"));
            copy_dir(&reference, &out);
            cut_journal(&out, 5);
            let snapshot = tmp.path().join(format!("snapshot_{name}{flag}"));
            link_copy(&out, &snapshot);
            let before = everything(&snapshot);
            let o = short_run(&data, &out, &[layout, &[flag]].concat())
                .output()
                .unwrap();
            exit_in(&o, &[0]);
            assert!(outputs(&out).0 == want, "{name} {flag}: outputs");
            assert!(
                everything(&snapshot) == before,
                "{name} {flag}: the snapshot changed"
            );
            // Every file the run changed is now a file of its own.
            for p in [journal(&out), out.join(".seisbatch/lock")] {
                assert_eq!(std::fs::metadata(&p).unwrap().nlink(), 1, "{}", p.display());
            }
        }
    }
}

#[test]
fn state_files_are_read_only_as_bounded_regular_files() {
    let tmp = tempfile::tempdir().unwrap();
    let input = one_trace_input(tmp.path());
    let chain = plain_chain(tmp.path());
    let run = |out: &Path, extra: &[&str]| short_run_with(bin(), &chain, &input, out, extra);
    let reference = tmp.path().join("reference");
    exit_in(&run(&reference, &[]).output().unwrap(), &[0]);
    let mkfifo = |p: &Path| {
        let _ = std::fs::remove_file(p);
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path, valid for the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    };
    let link_zero = |p: &Path| {
        let _ = std::fs::remove_file(p);
        std::os::unix::fs::symlink("/dev/zero", p).unwrap();
    };
    let sparse = |p: &Path| {
        let f = std::fs::File::create(p).unwrap();
        f.set_len(5 << 30).unwrap();
    };
    type Make<'a> = &'a dyn Fn(&Path);
    let cases: [(&str, Make, &str); 7] = [
        ("journal.jsonl", &mkfifo, "not a regular file"),
        ("journal.jsonl", &link_zero, "symbolic link"),
        ("journal.jsonl", &sparse, "more than the"),
        ("run.json", &mkfifo, "not a regular file"),
        ("run.json", &link_zero, "symbolic link"),
        ("lock", &mkfifo, "not a regular file"),
        ("lock", &link_zero, "symbolic link"),
    ];
    for (file, make, why) in cases {
        let out = tmp.path().join("out");
        let _ = std::fs::remove_dir_all(&out);
        copy_dir(&reference, &out);
        make(&out.join(".seisbatch").join(file));
        let o = output_within(run(&out, &["--resume"]), 60);
        exit_in(&o, &[1, 2]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(file) && err.contains(why), "{file}: {err}");
    }
}

#[test]
fn shard_reports_are_merged_with_checked_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let report = |ok: u64| {
        serde_json::json!({"ok": ok, "failures": [], "file_problems": [], "warnings": ["w"]})
            .to_string()
    };
    std::fs::write(dir.join("report.0-of-2.json"), report(u64::MAX)).unwrap();
    std::fs::write(dir.join("report.1-of-2.json"), report(1)).unwrap();
    let merge = || {
        let mut c = bin();
        c.arg("report").arg(dir);
        let o = output_within(c, 60);
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let err = merge();
    assert!(
        err.contains("`ok` add up to more than a count can hold"),
        "{err}"
    );
    // A shard report replaced by a FIFO: refused at once (it hung).
    std::fs::remove_file(dir.join("report.1-of-2.json")).unwrap();
    let c = std::ffi::CString::new(dir.join("report.1-of-2.json").to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path, valid for the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let err = merge();
    assert!(err.contains("not a regular file"), "{err}");
}
