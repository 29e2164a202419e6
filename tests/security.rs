//! The output folder is a boundary (issue #12, items 1-4): no name derived from data, no link
//! and no layout of --input and --output makes seisbatch read or write where it must not.
//! Each test failed on the code before the fix (files landed in /tmp and beside OUTPUT, runs
//! hung on a FIFO, raw data was replaced, foreign temporaries were deleted).

use std::path::{Path, PathBuf};

mod common;
use common::{bin, exit_in, output_within, plain_chain, report, trace, tree, write_mseed};

/// Codes a hostile header can hold: path separators, `..`, an absolute path, a leading dot.
fn hostile_inputs(input: &Path) {
    let start = "2020-01-01T00:00:00";
    // miniSEED 3: FDSN:../../../../tmp/x_S_00_B_H_Z (written by our miniSEED 3 writer).
    write_mseed(
        &input.join("ev1/raw/a.mseed"),
        &[trace(
            ["../../../../tmp/x", "S", "00", "BHZ"],
            start,
            20.0,
            400,
        )],
    );
    // miniSEED 3: a network that is an absolute path.
    write_mseed(
        &input.join("ev1/raw/b.mseed"),
        &[trace(
            ["/tmp/seisbatch-abs", "S", "", "BHZ"],
            start,
            20.0,
            400,
        )],
    );
    // miniSEED 2: station "./../", location "..".
    write_mseed(
        &input.join("ev2/raw/c.mseed"),
        &[trace(["XX", "./../", "..", "BHZ"], start, 20.0, 400)],
    );
    // A name that would overwrite another event's output: "../ev2/XX".
    write_mseed(
        &input.join("ev1/raw/d.mseed"),
        &[trace(["../ev2/XX", "S", "", "BHZ"], start, 20.0, 400)],
    );
    // And a plain one beside them.
    write_mseed(
        &input.join("ev2/raw/e.mseed"),
        &[trace(["GR", "FUR", "", "HHZ"], start, 20.0, 400)],
    );
}

/// Every name derived from codes is escaped into one plain component under OUTPUT, on the
/// CPU and the GPU path, in every layout and format; nothing appears anywhere else.
#[test]
fn hostile_codes_never_leave_the_output_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    hostile_inputs(&input);
    let chain = plain_chain(tmp.path());
    let outside_before = tree(tmp.path());
    let abs_before = Path::new("/tmp/seisbatch-abs").exists() || Path::new("/tmp/x").exists();
    let mut devices = vec!["cpu"];
    if common::gpu_available() {
        devices.push("gpu");
    }
    let mut runs = 0;
    for device in devices {
        for extra in [&[][..], &["--format", "mseed"], &["--layout", "per-event"]] {
            runs += 1;
            let out = tmp.path().join(format!("out{runs}"));
            let o = common::run_cmd(&chain, &input, &out)
                .args(["--device", device, "--quiet"])
                .args(extra)
                .output()
                .unwrap();
            exit_in(&o, &[0]);
            let r = report(&out);
            assert_eq!(r["ok"], 5, "{device} {extra:?}");
            let files: Vec<PathBuf> = tree(&out)
                .into_iter()
                .filter(|p| {
                    !p.starts_with(".seisbatch")
                        && !p.starts_with("report.json")
                        && !p.starts_with("catalog.parquet")
                })
                .collect();
            let mut expect: Vec<PathBuf> = if extra.contains(&"per-event") {
                ["ev1", "ev1/ev1.mseed", "ev2", "ev2/ev2.mseed"]
                    .iter()
                    .map(PathBuf::from)
                    .collect()
            } else {
                let ext = if extra.is_empty() { "sac" } else { "mseed" };
                let span = "__20200101T000000Z__20200101T000019Z";
                let mut v = vec![PathBuf::from("ev1"), PathBuf::from("ev2")];
                for name in [
                    "ev1/%2E%2E%2F%2E%2E%2F%2E%2E%2F%2E%2E%2Ftmp%2Fx.S.00.BHZ",
                    "ev1/%2E%2E%2Fev2%2FXX.S..BHZ",
                    "ev1/%2Ftmp%2Fseisbatch-abs.S..BHZ",
                    "ev2/GR.FUR..HHZ",
                    "ev2/XX.%2E%2F%2E%2E%2F.%2E%2E.BHZ",
                ] {
                    v.push(PathBuf::from(format!("{name}{span}.{ext}")));
                }
                v
            };
            expect.sort();
            assert_eq!(files, expect, "{device} {extra:?}");
            // The escaping is reversible: the codes come back from the names.
            if !extra.contains(&"per-event") {
                let name = files[1].file_name().unwrap().to_str().unwrap();
                let net = name.split('.').next().unwrap();
                assert_eq!(
                    seisbatch::write::names::unescape(net).unwrap(),
                    b"../../../../tmp/x"
                );
            }
        }
    }
    // Nothing outside the output folders, in the sandbox or in /tmp.
    let outside_after: Vec<PathBuf> = tree(tmp.path())
        .into_iter()
        .filter(|p| !p.to_string_lossy().starts_with("out"))
        .collect();
    assert_eq!(outside_after, outside_before);
    if !abs_before {
        assert!(!Path::new("/tmp/seisbatch-abs").exists() && !Path::new("/tmp/x").exists());
    }
}

/// Codes that no miniSEED can carry back (a station "A_B" cannot be part of an FDSN source
/// identifier) fail their trace with the reason when miniSEED is written; the run goes on.
/// (A name too long for a file system fails the same way: write::names' unit test.)
#[test]
fn codes_no_output_can_carry_fail_their_trace() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    write_mseed(
        &input.join("a.mseed"),
        &[
            trace(["XX", "A_B", "", "BHZ"], "2020-01-01T00:00:00", 20.0, 400),
            trace(["GR", "FUR", "", "HHZ"], "2020-01-01T00:00:00", 20.0, 400),
        ],
    );
    let out = tmp.path().join("out");
    let o = bin()
        .arg("run")
        .arg(plain_chain(tmp.path()))
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&out)
        .args(["--device", "cpu", "--quiet", "--format", "mseed"])
        .output()
        .unwrap();
    exit_in(&o, &[3]);
    let r = report(&out);
    assert_eq!(
        (r["ok"].as_u64(), r["failed"].as_u64()),
        (Some(1), Some(1)),
        "{r:#}"
    );
    let f = &r["failures"][0];
    assert_eq!(f["id"], "XX.A_B..BHZ");
    assert!(f["reason"].as_str().unwrap().contains("holds '_'"), "{f}");
}

/// FIFOs, links to devices, link loops and links to folders already in the walk are skipped
/// and named; each input is read once; nothing blocks or reads without end.
#[test]
fn special_files_and_link_loops_are_skipped_and_named() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    for (k, name) in ["ev1/raw/a.mseed", "ev1/raw/b.mseed", "ev2/raw/c.mseed"]
        .iter()
        .enumerate()
    {
        write_mseed(
            &input.join(name),
            &[trace(
                ["XX", &format!("S{k}"), "", "BHZ"],
                "2020-01-01T00:00:00",
                20.0,
                400,
            )],
        );
    }
    let fifo = std::ffi::CString::new(
        input
            .join("ev1/raw/fifo.mseed")
            .as_os_str()
            .as_encoded_bytes(),
    )
    .unwrap();
    // SAFETY: a NUL-terminated path; mkfifo creates a FIFO there.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    symlink("/dev/zero", input.join("ev1/raw/zero.mseed")).unwrap();
    symlink("../..", input.join("ev1/raw/up")).unwrap(); // a loop to the root
    symlink(".", input.join("ev2/dot")).unwrap();
    symlink(".", input.join("ev2/dot2")).unwrap();
    symlink(input.join("ev1"), input.join("copy_of_ev1")).unwrap();
    symlink(input.join("loop_a"), input.join("loop_b")).unwrap();
    symlink(input.join("loop_b"), input.join("loop_a")).unwrap();
    let out = tmp.path().join("out");
    let mut c = bin();
    c.arg("run")
        .arg(plain_chain(tmp.path()))
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&out)
        .args(["--device", "cpu"]);
    let o = output_within(c, 60);
    exit_in(&o, &[0]);
    let r = report(&out);
    assert_eq!(r["input_files"], 3);
    assert_eq!(r["ok"], 3);
    let skipped: Vec<String> = r["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let p = s["path"].as_str().unwrap();
            let rel = p.strip_prefix(input.to_str().unwrap()).unwrap_or(p);
            format!("{rel}: {}", s["reason"].as_str().unwrap())
        })
        .collect();
    let has = |name: &str, words: &str| {
        assert!(
            skipped
                .iter()
                .any(|s| s.starts_with(name) && s.contains(words)),
            "{name}: {words}\n{skipped:#?}"
        );
    };
    has("/ev1/raw/fifo.mseed", "FIFO");
    has("/ev1/raw/zero.mseed", "character device");
    has("/ev1/raw/up", "inside the input");
    has("/ev2/dot", "inside the input");
    has("/ev2/dot2", "inside the input");
    has("/copy_of_ev1", "inside the input");
    has("/loop_a", "broken or looping");
    has("/loop_b", "broken or looping");
    assert_eq!(r["skipped_count"], 8);
    // Every run says what it skipped.
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("8 path(s) under --input skipped"), "{err}");
}

/// An input file that is a FIFO or a device given directly, or one that grows past the size
/// limit, is refused, never read without end.
#[test]
fn a_special_file_given_as_input_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut c = bin();
    c.arg("run")
        .arg(plain_chain(tmp.path()))
        .args(["--input", "/dev/zero", "--output"])
        .arg(&out)
        .args(["--device", "cpu", "--quiet"]);
    let o = output_within(c, 30);
    exit_in(&o, &[2]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("character device"));
    assert!(!out.exists(), "nothing written");
}

/// Links planted inside OUTPUT are never followed: not an event file's, not a folder's, not a
/// per-trace name's; and a fresh run never replaces a file it did not write.
#[test]
fn links_planted_in_the_output_folder_are_not_followed() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    write_mseed(
        &input.join("ev1/raw/a.mseed"),
        &[trace(
            ["GR", "FUR", "", "HHZ"],
            "2020-01-01T00:00:00",
            20.0,
            400,
        )],
    );
    write_mseed(
        &input.join("ev2/raw/a.mseed"),
        &[trace(
            ["GR", "FUR", "", "HHZ"],
            "2020-01-01T00:00:00",
            20.0,
            400,
        )],
    );
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let victim_dir = tmp.path().join("victim_dir");
    std::fs::create_dir(&victim_dir).unwrap();
    let chain = plain_chain(tmp.path());
    let run = |out: &Path, extra: &[&str]| {
        common::run_cmd(&chain, &input, out)
            .args(["--device", "cpu", "--quiet"])
            .args(extra)
            .output()
            .unwrap()
    };
    // Per event: OUTPUT/ev1/ev1.mseed is a link to a file outside, OUTPUT/ev2 a link to a
    // folder outside.
    for extra in [&[][..], &["--overwrite"]] {
        let out = tmp.path().join(format!("pe{}", extra.len()));
        std::fs::create_dir_all(out.join("ev1")).unwrap();
        symlink(&victim, out.join("ev1/ev1.mseed")).unwrap();
        symlink(&victim_dir, out.join("ev2")).unwrap();
        let o = run(&out, &[&["--layout", "per-event"], extra].concat());
        exit_in(&o, &[3]);
        let r = report(&out);
        assert_eq!(r["failed"], 2, "{}", r["failures"]);
        let reasons = r["failures"].to_string();
        assert!(reasons.contains("symbolic link"), "{reasons}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(tree(&victim_dir).is_empty());
    }
    // Per trace: the output name is a link (a rename replaces the link, never writes through
    // it); a fresh run does not replace a file it did not write, --overwrite does.
    let name = "GR.FUR..HHZ__20200101T000000Z__20200101T000019Z.sac";
    let out = tmp.path().join("pt");
    std::fs::create_dir_all(out.join("ev1")).unwrap();
    std::fs::create_dir_all(out.join("ev2")).unwrap();
    symlink(&victim, out.join("ev1").join(name)).unwrap();
    std::fs::write(out.join("ev2").join(name), b"user's file").unwrap();
    let o = run(&out, &[]);
    exit_in(&o, &[3]);
    assert_eq!(report(&out)["failed"], 2);
    assert!(report(&out)["failures"]
        .to_string()
        .contains("was not written by this run"));
    assert_eq!(
        std::fs::read(out.join("ev2").join(name)).unwrap(),
        b"user's file"
    );
    let o = run(&out, &["--overwrite"]);
    exit_in(&o, &[0]);
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(!std::fs::symlink_metadata(out.join("ev1").join(name))
        .unwrap()
        .file_type()
        .is_symlink());
    // .seisbatch itself planted as a link: refused before anything is written.
    let out = tmp.path().join("state_link");
    std::fs::create_dir_all(&out).unwrap();
    symlink(&victim_dir, out.join(".seisbatch")).unwrap();
    let o = run(&out, &[]);
    exit_in(&o, &[1]);
    assert!(tree(&victim_dir).is_empty());
}

/// OUTPUT equal to INPUT, holding it, or a link to it is refused (raw data was replaced by
/// processed data with --overwrite); OUTPUT inside INPUT is left out of the walk (a rerun read
/// its own outputs and deconvolved them twice).
#[test]
fn output_and_input_must_not_overlap() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    let name = "GR.FUR..HHZ__20200101T000000Z__20200101T000019Z.mseed";
    write_mseed(
        &input.join("ev1/raw").join(name),
        &[trace(
            ["GR", "FUR", "", "HHZ"],
            "2020-01-01T00:00:00",
            20.0,
            400,
        )],
    );
    let raw = std::fs::read(input.join("ev1/raw").join(name)).unwrap();
    let chain = plain_chain(tmp.path());
    let run = |inp: &Path, out: &Path, extra: &[&str]| {
        common::run_cmd(&chain, inp, out)
            .args(["--device", "cpu", "--quiet", "--format", "mseed"])
            .args(extra)
            .output()
            .unwrap()
    };
    std::os::unix::fs::symlink(&input, tmp.path().join("link")).unwrap();
    for (inp, out, words) in [
        (input.clone(), input.clone(), "input folder"),
        (input.clone(), input.join("ev1/.."), "input folder"),
        (input.clone(), tmp.path().join("link"), "input folder"),
        (
            input.join("ev1/raw"),
            input.join("ev1"),
            "lies inside --output",
        ),
        (
            input.join("ev1/raw").join(name),
            input.join("ev1/raw"),
            "input folder",
        ),
    ] {
        for extra in [&[][..], &["--overwrite"]] {
            let o = run(&inp, &out, extra);
            exit_in(&o, &[2]);
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains(words), "{inp:?} -> {out:?}: {err}");
            assert_eq!(
                std::fs::read(input.join("ev1/raw").join(name)).unwrap(),
                raw
            );
        }
    }
    // A link in INPUT to an OUTPUT outside it: the output folder is never walked.
    let apart = tmp.path().join("apart");
    exit_in(&run(&input, &apart, &[]), &[0]);
    std::os::unix::fs::symlink(&apart, input.join("to_output")).unwrap();
    exit_in(&run(&input, &apart, &["--overwrite"]), &[0]);
    let r = report(&apart);
    assert_eq!(r["input_files"], 1, "outputs read back through a link");
    assert!(r["skipped"].to_string().contains("the output folder"));
    std::fs::remove_file(input.join("to_output")).unwrap();
    // OUTPUT inside INPUT: allowed, and its files are never read back as inputs.
    let inner = input.join("processed");
    exit_in(&run(&input, &inner, &[]), &[0]);
    let o = run(&input, &inner, &["--overwrite"]);
    exit_in(&o, &[0]);
    let r = report(&inner);
    assert_eq!(r["input_files"], 1, "its own outputs are not inputs");
    assert!(r["warnings"]
        .to_string()
        .contains("left out of the input walk"));
    assert_eq!(
        tree(&inner)
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "mseed"))
            .count(),
        1
    );
}

/// --overwrite and --resume remove only this tool's own temporaries, never a user's.
#[test]
fn only_own_temporaries_are_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    write_mseed(
        &input.join("a.mseed"),
        &[trace(
            ["GR", "FUR", "", "HHZ"],
            "2020-01-01T00:00:00",
            20.0,
            400,
        )],
    );
    let chain = plain_chain(tmp.path());
    let out = tmp.path().join("out");
    let run = |extra: &[&str]| {
        common::run_cmd(&chain, &input, &out)
            .args(["--device", "cpu", "--quiet"])
            .args(extra)
            .output()
            .unwrap()
    };
    exit_in(&run(&[]), &[0]);
    let theirs = [".notes.txt.tmp", ".x.sac.1234.tmp", "sub/.draft.tmp"];
    std::fs::create_dir_all(out.join("sub")).unwrap();
    for t in theirs {
        std::fs::write(out.join(t), b"user").unwrap();
    }
    let ours = out.join(".y.sac.run.99999.seisbatch.tmp");
    for extra in ["--overwrite", "--resume"] {
        std::fs::write(&ours, b"dead run").unwrap();
        exit_in(&run(&[extra]), &[0]);
        for t in theirs {
            assert_eq!(std::fs::read(out.join(t)).unwrap(), b"user", "{extra}: {t}");
        }
        assert!(!ours.exists(), "{extra}: a dead run's temporary stays");
    }
}
