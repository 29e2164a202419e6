//! Faults (issue #6): permission denied on inputs, StationXML and outputs, and inputs that
//! vanish while the run goes. Each gives a clear reason in report.json, the journal lists only
//! what is final, and a later `--resume` completes the job to the outputs of an uninterrupted
//! run.
//!
//! Permissions are real, not injected: CI runs as root, whom they do not stop, so as root the
//! runs under test drop to `nobody` with util-linux's `setpriv` (the binary and its inputs are
//! copied where `nobody` can reach them). A disk that fills up is injected
//! (tests/resume.rs::full_disk_then_resume_completes_the_job).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{
    copy_dir, exit_in as ok, lines, outputs, report, same_report, short_run, short_run_with, synth,
    wait_for_lines,
};
use seisbatch::read::mseed::read_bytes;

fn root_user() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let uid = s.lines().find(|l| l.starts_with("Uid:"))?;
            Some(uid.split_whitespace().nth(2)? == "0") // effective uid
        })
        .unwrap_or(false)
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A folder every user can enter, holding copies of the binary and the pipeline: `tempdir()`
/// makes 0700 folders, and the checkout may sit under a private home.
struct Sandbox {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pipeline: PathBuf,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        chmod(dir.path(), 0o755);
        let bin = dir.path().join("seisbatch");
        std::fs::copy(env!("CARGO_BIN_EXE_seisbatch"), &bin).unwrap();
        chmod(&bin, 0o755);
        let pipeline = dir.path().join("short_chain.toml");
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/short_chain.toml"),
            &pipeline,
        )
        .unwrap();
        chmod(&pipeline, 0o644);
        Sandbox { dir, bin, pipeline }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `seisbatch run` over `input` into `output` as an unprivileged user (`nobody` when the
    /// tests run as root).
    fn run(&self, input: &Path, output: &Path, extra: &[&str]) -> Command {
        let c = if root_user() {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(&self.bin);
            c
        } else {
            Command::new(&self.bin)
        };
        short_run_with(c, &self.pipeline, input, output, extra)
    }

    /// The synthetic input (3 events x 2 stations x 3 channels), readable by everyone, and
    /// the outputs of an uninterrupted run over it (with `extra` flags). The file of
    /// event 2, station S0001, channel Z ends in 100 bytes of junk: one failure beside its
    /// trace.
    fn input_and_reference(&self, extra: &[&str]) -> (PathBuf, PathBuf) {
        let input = synth(self.path(), 3, 2, 60, 0.0);
        let damaged =
            input.join("event_00002/raw/SY.S0001..BHZ__20200102T001000Z__20200102T001059Z.mseed");
        let mut bytes = std::fs::read(&damaged).unwrap();
        bytes.extend([0x5a; 100]);
        std::fs::write(&damaged, bytes).unwrap();
        let reference = self.writable("reference");
        ok(&self.run(&input, &reference, extra).output().unwrap(), &[3]);
        (input, reference)
    }

    /// An output folder the unprivileged user may write.
    fn writable(&self, name: &str) -> PathBuf {
        let d = self.path().join(name);
        std::fs::create_dir(&d).unwrap();
        chmod(&d, 0o777);
        d
    }
}

fn setpriv_available() -> bool {
    if !root_user() {
        return true;
    }
    let found = Command::new("setpriv").arg("--version").output().is_ok();
    if !found && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true, running as root, but no setpriv (util-linux) to drop privileges");
    }
    if !found {
        eprintln!("skipping: running as root without setpriv");
    }
    found
}

/// Failed traces and file problems (unreadable files and folders, damaged records) as
/// (file, reason).
fn failures(r: &serde_json::Value) -> Vec<(String, String)> {
    r["failures"]
        .as_array()
        .unwrap()
        .iter()
        .chain(r["file_problems"].as_array().unwrap())
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Each output file's traces, decoded and sorted by id and start: the same traces in the same
/// files whatever order they were appended in (SAC files give one trace each).
fn traces(dir: &Path) -> BTreeMap<PathBuf, Vec<(String, i64, Vec<u64>)>> {
    outputs(dir)
        .0
        .into_iter()
        .map(|(p, bytes)| {
            let mut v: Vec<_> = if p.extension().is_some_and(|e| e == "mseed") {
                read_bytes(&bytes)
                    .traces
                    .into_iter()
                    .map(|t| {
                        (
                            t.id(),
                            t.start_ns,
                            t.data.iter().map(|x| x.to_bits()).collect(),
                        )
                    })
                    .collect()
            } else {
                vec![(String::new(), 0, bytes.iter().map(|&b| b as u64).collect())]
            };
            v.sort();
            (p, v)
        })
        .collect()
}

#[test]
fn unreadable_inputs_are_reported_and_resume_reads_them() {
    unreadable_inputs(&[]);
}

/// Per event, the traces of a file whose StationXML could not be read are not appended
/// either: the --resume that redoes the file must not append them twice.
#[test]
fn unreadable_inputs_per_event_are_reported_and_resume_reads_them() {
    unreadable_inputs(&["--layout", "per-event"]);
}

fn unreadable_inputs(layout: &[&str]) {
    if !setpriv_available() {
        return;
    }
    let sb = Sandbox::new();
    let (input, reference) = sb.input_and_reference(layout);
    // An input file, a StationXML file and a whole raw folder the user may not read.
    let file =
        input.join("event_00001/raw/SY.S0001..BHN__20200101T001000Z__20200101T001059Z.mseed");
    let xml = input.join("event_00002/resp/SY.S0002.xml");
    let folder = input.join("event_00003/raw");
    for p in [&file, &xml] {
        chmod(p, 0o000);
    }
    chmod(&folder, 0o000);

    let out = sb.writable("out");
    let o = sb.run(&input, &out, layout).output().unwrap();
    ok(&o, &[3]);
    let r = report(&out);
    let f = failures(&r);
    let denied = |path: &Path, what: &str| {
        f.iter().any(|(file, reason)| {
            file == &path.display().to_string()
                && reason.contains(what)
                && reason.contains("Permission denied")
        })
    };
    assert!(denied(&file, "cannot read file"), "{f:#?}");
    assert!(denied(&folder, "cannot list folder"), "{f:#?}");
    // The three traces of station S0002 in event 2 found no readable StationXML.
    let no_xml = f
        .iter()
        .filter(|(file, reason)| {
            file.contains("event_00002/raw/SY.S0002")
                && reason.contains(&format!("unreadable {}", xml.display()))
        })
        .count();
    assert_eq!(no_xml, 3, "{f:#?}");
    assert!(f
        .iter()
        .any(|(_, reason)| reason.contains("No miniSEED data detected")));
    // Event 1: 5 traces; event 2: station S0001's 3 (the file with a damaged record keeps its
    // good trace, in both layouts: its damage has nothing to do with StationXML).
    assert_eq!(f.len(), 6, "{f:#?}");
    assert_eq!(r["ok"], 8);
    assert_eq!(
        r["failed"], 3,
        "the three S0002 traces; the rest are file problems"
    );
    // Journaled: the 8 files without a trace failure; not the unreadable file, nor the 3
    // whose traces failed in an event whose StationXML could not all be read (nor the 6 in
    // the unreadable folder, never listed).
    assert_eq!(lines(&out.join(".seisbatch/journal.jsonl")), 8);

    // Permissions fixed, --resume completes the job.
    for p in [&file, &xml] {
        chmod(p, 0o644);
    }
    chmod(&folder, 0o755);
    let resume = [layout, &["--resume"]].concat();
    ok(&sb.run(&input, &out, &resume).output().unwrap(), &[3]);
    // Per event, the retried files' traces come after the others in their event's file.
    assert!(
        traces(&out) == traces(&reference),
        "outputs as an uninterrupted run's"
    );
    assert!(outputs(&out).1.is_empty(), "no temporaries");
    same_report(&report(&reference), &report(&out));
}

#[test]
fn unwritable_outputs_fail_clearly_and_resume_writes_them() {
    if !setpriv_available() {
        return;
    }
    let sb = Sandbox::new();
    let (input, reference) = sb.input_and_reference(&[]);

    // The output folder itself is not writable: refused before anything is read.
    let out = sb.path().join("locked");
    std::fs::create_dir(&out).unwrap();
    chmod(&out, 0o555);
    let o = sb.run(&input, &out, &[]).output().unwrap();
    ok(&o, &[1]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cannot write to the output folder") && err.contains("Permission denied"),
        "{err}"
    );
    assert!(
        std::fs::read_dir(&out).unwrap().next().is_none(),
        "nothing written"
    );
    chmod(&out, 0o777);
    ok(&sb.run(&input, &out, &["--resume"]).output().unwrap(), &[3]);
    assert!(outputs(&out).0 == outputs(&reference).0);

    // One event's output folder is not writable: its traces fail with the reason and are
    // not journaled; the other events are written; --resume writes the rest once fixed.
    let out = sb.writable("partial");
    let event = out.join("event_00002");
    std::fs::create_dir(&event).unwrap();
    chmod(&event, 0o555);
    let o = sb.run(&input, &out, &["--resume"]).output().unwrap();
    ok(&o, &[3]);
    let r = report(&out);
    let f: Vec<_> = failures(&r)
        .into_iter()
        .filter(|(_, reason)| !reason.contains("No miniSEED data detected"))
        .collect();
    assert_eq!(f.len(), 6, "{f:#?}");
    assert!(
        f.iter().all(|(file, reason)| file.contains("event_00002")
            && reason.contains("Permission denied")
            && reason.contains("not journaled: --resume writes it again")),
        "{f:#?}"
    );
    assert_eq!(lines(&out.join(".seisbatch/journal.jsonl")), 12);
    chmod(&event, 0o777);
    ok(&sb.run(&input, &out, &["--resume"]).output().unwrap(), &[3]);
    assert!(outputs(&out).0 == outputs(&reference).0);
    assert!(outputs(&out).1.is_empty(), "no temporaries");
    same_report(&report(&reference), &report(&out));
}

#[test]
fn inputs_vanishing_mid_run_are_reported_and_resume_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let pristine = synth(tmp.path(), 2, 4, 60, 0.0);
    let run = short_run;
    let reference = tmp.path().join("reference");
    ok(&run(&pristine, &reference, &[]).output().unwrap(), &[0]);

    let input = tmp.path().join("input");
    copy_dir(&pristine, &input);
    let out = tmp.path().join("out");
    // Each input read 150 ms late: the run is still in event 1 (12 files) when, right after
    // the first files are journaled (a batch of 6 with one worker), the last file of event 1
    // and the whole of event 2 go.
    let mut child = run(&input, &out, &[])
        .env("SEISBATCH_TEST_READ_DELAY_MS", "150")
        .spawn()
        .unwrap();
    let journal = out.join(".seisbatch/journal.jsonl");
    wait_for_lines(&journal, 1);
    let mut raw: Vec<PathBuf> = std::fs::read_dir(input.join("event_00001/raw"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    raw.sort();
    let last = raw.pop().unwrap();
    std::fs::remove_file(&last).unwrap();
    std::fs::remove_dir_all(input.join("event_00002")).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3));
    let f = failures(&report(&out));
    assert!(
        f.iter()
            .any(|(file, reason)| file == &last.display().to_string()
                && reason.contains("cannot read file")
                && reason.contains("No such file")),
        "{f:#?}"
    );
    assert!(
        f.iter()
            .any(|(file, reason)| file.ends_with("event_00002")
                && reason.contains("cannot list folder")),
        "{f:#?}"
    );
    assert_eq!(f.len(), 2, "{f:#?}");
    assert_eq!(lines(&journal), 11, "event 1 but its vanished file");

    // The data is back (a re-download, a remounted disk): --resume completes the job.
    copy_dir(&pristine, &input);
    ok(&run(&input, &out, &["--resume"]).output().unwrap(), &[0]);
    assert!(outputs(&out).0 == outputs(&reference).0);
    same_report(&report(&reference), &report(&out));
}
