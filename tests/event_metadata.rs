//! Event metadata as users have it (issue #23, item 6): times that are not times refused
//! naming the line and the field, a spreadsheet's CSV read, an unreadable event.xml said, and
//! a bad events file found before the output folder is touched (a finished run's report and
//! journal included).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn window(input: &Path, out: &Path, events: &Path, extra: &[&str]) -> std::process::Output {
    run_cmd(&example().join("event_window.toml"), input, out)
        .arg("--events")
        .arg(events)
        .args(["--device", "cpu", "--quiet"])
        .args(extra)
        .output()
        .unwrap()
}

/// Every file under `dir` (state and reports included) with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(dir.join(&p)).unwrap();
            (p, bytes)
        })
        .collect()
}

#[test]
fn a_bad_events_file_leaves_the_output_folder_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let input = example().join("data");
    let bad = tmp.path().join("bad.csv");
    std::fs::write(
        &bad,
        "folder,time,latitude,longitude,depth_km\nevent_2014-01-01,2013-12-31T24:02:00Z,35.5,139.25,40\n",
    )
    .unwrap();
    // A fresh run: nothing created.
    let out = tmp.path().join("fresh");
    let o = window(&input, &out, &bad, &[]);
    exit_in(&o, &[2]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("line 2: origin time") && err.contains("hour 24 is outside 0-23"),
        "{err}"
    );
    assert!(!out.exists(), "a refused run created {}", out.display());

    // A finished run: --overwrite or --resume with the bad file changes nothing in it.
    let done = tmp.path().join("done");
    exit_in(
        &window(&input, &done, &example().join("events.csv"), &[]),
        &[0],
    );
    let before = snapshot(&done);
    assert!(before.keys().any(|p| p.ends_with("report.json")));
    assert!(before.keys().any(|p| p.ends_with("journal.jsonl")));
    for flag in ["--overwrite", "--resume"] {
        let o = window(&input, &done, &bad, &[flag]);
        exit_in(&o, &[2]);
        assert!(
            snapshot(&done) == before,
            "{flag}: the output folder changed"
        );
    }
}

#[test]
fn spreadsheet_csv_gives_the_same_outputs_as_a_plain_one() {
    let tmp = tempfile::tempdir().unwrap();
    let input = example().join("data");
    let plain = tmp.path().join("plain");
    exit_in(
        &window(&input, &plain, &example().join("events.csv"), &[]),
        &[0],
    );
    let sheet = tmp.path().join("sheet.csv");
    std::fs::write(
        &sheet,
        "\u{feff}folder,time,latitude,longitude,depth_km,magnitude,region\r\n\
         \"event_2014-01-01\",2014-01-01T00:02:00Z,35.5,139.25,40,6.1,\"Honshu, Japan\"\r\n",
    )
    .unwrap();
    let out = tmp.path().join("sheet");
    exit_in(&window(&input, &out, &sheet, &[]), &[0]);
    assert!(outputs(&out).0 == outputs(&plain).0);
}

/// An event.xml that cannot be read was ignored without a word (the SAC files then lacked
/// evla/evlo/o): now a warning names the file and the reason, and --events is used instead
/// when it names the folder.
#[test]
fn an_unreadable_event_xml_is_said() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("data");
    copy_dir(&example().join("data"), &input);
    let xml = input.join("event_2014-01-01/event.xml");
    std::fs::write(&xml, "<q:quakeml><eventParameters><event publicID=\"x\">").unwrap();
    let out = tmp.path().join("out");
    let o = run_cmd(&example().join("event_window.toml"), &input, &out)
        .args(["--device", "cpu", "--quiet"])
        .output()
        .unwrap();
    exit_in(&o, &[3]);
    let r = report(&out);
    let warned: Vec<&str> = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w.as_str())
        .filter(|w| w.starts_with("event.xml not used: ") && w.contains("event.xml"))
        .collect();
    assert_eq!(warned.len(), 1, "{:?}", r["warnings"]);
    assert!(
        warned[0].ends_with("the folder's traces have no event"),
        "{}",
        warned[0]
    );
    assert_eq!(r["ok"], 0);
    // With --events naming the folder, its origin is used and said so.
    let out = tmp.path().join("with_events");
    exit_in(
        &window(&input, &out, &example().join("events.csv"), &[]),
        &[0],
    );
    let r = report(&out);
    assert!(
        r["warnings"].as_array().unwrap().iter().any(|w| w
            .as_str()
            .unwrap()
            .ends_with("the folder's event comes from --events")),
        "{:?}",
        r["warnings"]
    );
    assert_eq!(r["ok"], 3);
    // An event.xml that is not a regular file (a folder here; a FIFO would block a read) is
    // said too, not skipped as if absent.
    std::fs::remove_file(&xml).unwrap();
    std::fs::create_dir(&xml).unwrap();
    let out = tmp.path().join("folder_xml");
    exit_in(
        &window(&input, &out, &example().join("events.csv"), &[]),
        &[0],
    );
    let r = report(&out);
    assert!(
        r["warnings"].as_array().unwrap().iter().any(|w| {
            let w = w.as_str().unwrap();
            w.starts_with("event.xml not used: ") && w.contains("not a regular file")
        }),
        "{:?}",
        r["warnings"]
    );
}

/// A trim bound or an interpolate start that is not a time is a configuration error naming
/// the field (it was rolled over into the next day).
#[test]
fn pipeline_times_with_impossible_calendar_fields_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let input = one_trace_input(tmp.path());
    for (step, why) in [
        (
            "[[step]]\nop = \"trim\"\nstarttime = \"2020-01-01T24:00:00Z\"\n",
            "hour 24 is outside 0-23",
        ),
        (
            "[[step]]\nop = \"trim\"\nendtime = \"2020-02-30\"\n",
            "2020-02 has 29 days",
        ),
        (
            "[[step]]\nop = \"interpolate\"\nsampling_rate = 10.0\nstarttime = \"2020-01-01T00:00:60\"\n",
            "second 60 is outside 0-59",
        ),
    ] {
        let p = tmp.path().join("p.toml");
        std::fs::write(&p, step).unwrap();
        let out = tmp.path().join("out");
        let o = run_cmd(&p, &input, &out).args(["--quiet"]).output().unwrap();
        exit_in(&o, &[2]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(why), "{step}: {err}");
        assert!(!out.exists());
    }
}
