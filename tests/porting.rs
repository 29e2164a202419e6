//! Traps for a user porting an ObsPy script (issue #12, items 16-19): inputs ObsPy reads that
//! were silently ignored, quiet fallbacks and limits, folder and flag rules that surprised.
//! (The water_level default is checked against ObsPy's numbers in tests/golden.rs; counting
//! traces as traces in tests/synth.rs and tests/cli.rs.)

use std::path::{Path, PathBuf};

mod common;
use common::{exit_in, one_trace_input, outputs, plain_chain, report, trace, tree, write_mseed};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(chain: &Path, input: &Path, output: &Path, extra: &[&str]) -> std::process::Output {
    common::run_cmd(chain, input, output)
        .args(extra)
        .output()
        .unwrap()
}

/// An SDS archive (files without an extension), an obspyDMT tree (raw/NET.STA.LOC.CHA with
/// resp/STXML.NET.STA.LOC.CHA) and a folder of SAC files gave "0 traces ok, 0 failed ... from 0
/// input files" with exit 0. miniSEED is recognised by content; what is not is named.
#[test]
fn inputs_are_recognised_by_content_and_the_rest_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let chain = plain_chain(tmp.path());
    // SDS: NET/STA/CHA.D/NET.STA.LOC.CHA.D.YEAR.DAY
    let sds = tmp.path().join("sds");
    write_mseed(
        &sds.join("XX/S/BHZ.D/XX.S..BHZ.D.2020.001"),
        &[trace(
            ["XX", "S", "", "BHZ"],
            "2020-01-01T00:00:00",
            20.0,
            400,
        )],
    );
    let out = tmp.path().join("out_sds");
    let o = run(&chain, &sds, &out, &["--device", "cpu", "--quiet"]);
    exit_in(&o, &[0]);
    assert_eq!(report(&out)["ok"], 1);
    assert!(out
        .join("XX/S/BHZ.D/XX.S..BHZ__20200101T000000Z__20200101T000019Z.sac")
        .exists());

    // obspyDMT: the bundled event renamed as obspyDMT stores it; the same outputs.
    let example = root().join("examples/data/event_2014-01-01");
    let dmt = tmp.path().join("dmt/event_2014-01-01");
    std::fs::create_dir_all(dmt.join("raw")).unwrap();
    std::fs::create_dir_all(dmt.join("resp")).unwrap();
    for c in ["HHE", "HHN", "HHZ"] {
        std::fs::copy(
            example.join(format!(
                "raw/GR.FUR..{c}__20140101T000000Z__20140101T002000Z.mseed"
            )),
            dmt.join(format!("raw/GR.FUR..{c}")),
        )
        .unwrap();
        std::fs::copy(
            example.join("resp/GR.FUR.xml"),
            dmt.join(format!("resp/STXML.GR.FUR..{c}")),
        )
        .unwrap();
    }
    let forum = root().join("examples/forum_chain.toml");
    let (a, b) = (tmp.path().join("out_dmt"), tmp.path().join("out_md"));
    exit_in(
        &run(
            &forum,
            &tmp.path().join("dmt"),
            &a,
            &["--device", "cpu", "--quiet"],
        ),
        &[0],
    );
    exit_in(
        &run(
            &forum,
            &root().join("examples/data"),
            &b,
            &["--device", "cpu", "--quiet"],
        ),
        &[0],
    );
    assert_eq!(report(&a)["ok"], 3);
    assert!(
        outputs(&a).0 == outputs(&b).0,
        "the same SAC files as the MassDownloader tree"
    );
    assert_eq!(
        report(&a)["skipped_count"],
        0,
        "StationXML in resp/ is not 'skipped'"
    );

    // A folder of SAC files: a usage error that says why.
    let sac = tmp.path().join("sac");
    std::fs::create_dir_all(&sac).unwrap();
    for f in outputs(&b).0.keys() {
        std::fs::copy(b.join(f), sac.join(f.file_name().unwrap())).unwrap();
    }
    let out = tmp.path().join("out_sac");
    let o = run(&chain, &sac, &out, &["--device", "cpu"]);
    exit_in(&o, &[2]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no miniSEED input found") && err.contains("3 x SAC, not miniSEED"),
        "{err}"
    );
    assert!(!out.exists());
}

/// `--device gpu` without an adapter ran on the CPU with exit 0; `--device auto` never said
/// why it chose the CPU.
#[test]
fn device_choices_are_said() {
    let tmp = tempfile::tempdir().unwrap();
    let input = one_trace_input(tmp.path());
    let chain = plain_chain(tmp.path());
    // A backend seisbatch is not built with: wgpu finds no adapter at all.
    let no_gpu = |device: &str, out: &Path| {
        common::run_cmd(&chain, &input, out)
            .args(["--device", device])
            .env("WGPU_BACKEND", "gl")
            .output()
            .unwrap()
    };
    let out = tmp.path().join("gpu");
    let o = no_gpu("gpu", &out);
    exit_in(&o, &[2]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--device gpu: no GPU adapter"));
    assert!(!out.exists(), "nothing written");
    let out = tmp.path().join("auto");
    let o = no_gpu("auto", &out);
    exit_in(&o, &[0]);
    let r = report(&out);
    assert_eq!(r["device"], "cpu");
    let why = r["device_reason"].as_str().unwrap();
    assert!(why.contains("--device auto found no hardware GPU"), "{why}");
    assert!(String::from_utf8_lossy(&o.stderr).contains(why));
}

/// A non-empty output folder holding only a user's notes.txt was refused with "a run already
/// ran here"; it is not a run's folder, and the notes stay.
#[test]
fn a_folder_with_only_user_files_is_not_a_used_one() {
    let tmp = tempfile::tempdir().unwrap();
    let input = one_trace_input(tmp.path());
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), b"my notes").unwrap();
    let chain = plain_chain(tmp.path());
    exit_in(
        &run(&chain, &input, &out, &["--device", "cpu", "--quiet"]),
        &[0],
    );
    assert_eq!(std::fs::read(out.join("notes.txt")).unwrap(), b"my notes");
    // Now it is a run's folder: a second plain run is refused and says what to do.
    let o = run(&chain, &input, &out, &["--device", "cpu", "--quiet"]);
    exit_in(&o, &[2]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"));
}

/// `--gaps zeros` with the default `--max-gap` of 1 s filled nothing in a 3 s gap without a
/// word; `--max-gap` without a filling policy was ignored silently.
#[test]
fn gap_filling_says_what_it_did_not_fill() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    write_mseed(
        &input.join("a.mseed"),
        &[
            trace(["XX", "S", "", "BHZ"], "2020-01-01T00:00:00", 20.0, 400),
            trace(["XX", "S", "", "BHZ"], "2020-01-01T00:00:23", 20.0, 400),
        ],
    );
    let chain = plain_chain(tmp.path());
    let out = tmp.path().join("out");
    exit_in(
        &run(
            &chain,
            &input,
            &out,
            &["--device", "cpu", "--quiet", "--gaps", "zeros"],
        ),
        &[0],
    );
    let r = report(&out);
    assert_eq!(r["ok"], 2);
    assert!(
        r["warnings"]
            .to_string()
            .contains("XX.S..BHZ: 1 gap(s) not filled (longest 3 s), the trace split there; 1 longer than --max-gap 1 s"),
        "{}",
        r["warnings"]
    );
    let o = run(&chain, &input, &tmp.path().join("x"), &["--max-gap", "5"]);
    exit_in(&o, &[2]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--max-gap applies to --gaps zeros"));
}

/// The project's documents stand on their own: nothing points outside the repository (the
/// README sent readers to a spec that a clone does not have), and every docs/ file named
/// exists.
#[test]
fn documents_reference_only_the_repository() {
    let mut docs = vec![root().join("README.md")];
    // The documents: docs/*.md (docs/images holds the README's pictures).
    for e in std::fs::read_dir(root().join("docs")).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "md") {
            docs.push(e.path());
        }
    }
    for d in &docs {
        let text = std::fs::read_to_string(d).unwrap();
        assert!(
            !text.contains("../shared"),
            "{} points outside the repository",
            d.display()
        );
        for (i, _) in text.match_indices("docs/") {
            let name: String = text[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "/._-".contains(*c))
                .collect();
            let name = name.trim_end_matches('.');
            if name.ends_with(".md") {
                assert!(
                    root().join(name).exists(),
                    "{}: {name} is missing",
                    d.display()
                );
            }
        }
    }
    // Code comments cite NUMERICS sections that exist.
    let numerics = std::fs::read_to_string(root().join("docs/NUMERICS.md")).unwrap();
    let mut cited = Vec::new();
    for dir in ["src", "shaders", "tests"] {
        for f in tree(&root().join(dir)) {
            let Ok(text) = std::fs::read_to_string(root().join(dir).join(&f)) else {
                continue;
            };
            for (i, _) in text.match_indices("NUMERICS §") {
                let sec: String = text[i + "NUMERICS §".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.')
                    .collect();
                if !sec.is_empty() {
                    cited.push(sec.trim_end_matches('.').to_string());
                }
            }
        }
    }
    assert!(cited.len() > 40, "{} citations", cited.len());
    for s in cited {
        assert!(
            numerics.contains(&format!("## {s} ")) || numerics.contains(&format!("# {s}. ")),
            "NUMERICS §{s} does not exist"
        );
    }
}
