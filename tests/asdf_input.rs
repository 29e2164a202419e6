//! ASDF as input (issue #29): files written by pyasdf 0.8.2 (tests/fixtures/make_asdf.py) read
//! one station at a time, with the StationXML and the QuakeML event they hold. The bundled
//! example event as ASDF gives the bytes the same event as a MassDownloader tree gives with
//! its event named by --events (whose outputs ObsPy's numbers are tested elsewhere), on both
//! paths.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{bin, exit_in, fixture, outputs, report};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(pipeline: &Path, input: &Path, output: &Path, extra: &[&str]) -> Output {
    bin()
        .arg("run")
        .arg(pipeline)
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(output)
        .arg("--quiet")
        .args(extra)
        .output()
        .unwrap()
}

/// demean, taper, remove_response to displacement, and a trim around the event's origin:
/// the inventory and the event must both come from the ASDF file.
fn chain(dir: &Path) -> PathBuf {
    let p = dir.join("chain.toml");
    std::fs::write(
        &p,
        "[[step]]\nop = \"detrend\"\ntype = \"demean\"\n\
         [[step]]\nop = \"taper\"\nmax_percentage = 0.05\ntype = \"hann\"\n\
         [[step]]\nop = \"remove_response\"\noutput = \"DISP\"\npre_filt = [0.01, 0.02, 20.0, 40.0]\n\
         [[step]]\nop = \"trim\"\nstarttime = \"origin-30\"\nendtime = \"origin+600\"\n",
    )
    .unwrap();
    p
}

fn asdf(name: &str) -> PathBuf {
    fixture(&format!("asdf/{name}"))
}

/// Outputs (not the journal or report) by path: the folder layouts and bytes must agree.
fn written(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let (o, tmp) = outputs(dir);
    assert!(tmp.is_empty(), "{tmp:?}");
    o.into_iter()
        .filter(|(p, _)| !p.starts_with(".seisbatch") && p != Path::new("report.json"))
        .collect()
}

#[test]
fn asdf_input_gives_what_the_same_event_tree_gives() {
    let tmp = tempfile::tempdir().unwrap();
    let chain = chain(tmp.path());
    let events = fixture("events/one_event.xml");
    for device in ["cpu", "gpu"] {
        let tree = tmp.path().join(format!("tree_{device}"));
        let o = run(
            &chain,
            &root().join("examples/data"),
            &tree,
            &["--device", device, "--events", events.to_str().unwrap()],
        );
        if device == "gpu" && o.status.code() != Some(0) && !common::gpu_available() {
            continue;
        }
        exit_in(&o, &[0]);
        let from_asdf = tmp.path().join(format!("asdf_{device}"));
        let o = run(
            &chain,
            &asdf("event_2014-01-01.h5"),
            &from_asdf,
            &["--device", device, "--tag", "raw_recording"],
        );
        exit_in(&o, &[0]);
        let (a, b) = (written(&tree), written(&from_asdf));
        assert_eq!(a.len(), 3, "{:?}", a.keys());
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            b.keys().collect::<Vec<_>>(),
            "the same names in the same folder (event_2014-01-01/)"
        );
        for (k, v) in &a {
            assert!(v == &b[k], "{device}: {} differs", k.display());
        }
        let r = report(&from_asdf);
        assert_eq!(r["ok"], 3, "{r}");
        // Resumed: the station is journaled as FILE/STATION, nothing is redone.
        let o = run(
            &chain,
            &asdf("event_2014-01-01.h5"),
            &from_asdf,
            &["--device", device, "--tag", "raw_recording", "--resume"],
        );
        exit_in(&o, &[0]);
        assert_eq!(written(&from_asdf), b);
        assert_eq!(report(&from_asdf)["ok"], 3);
    }
}

#[test]
fn every_tag_is_read_unless_tag_says_which() {
    let tmp = tempfile::tempdir().unwrap();
    let demean = tmp.path().join("demean.toml");
    std::fs::write(&demean, "[[step]]\nop = \"detrend\"\ntype = \"demean\"\n").unwrap();
    let out = tmp.path().join("all");
    exit_in(
        &run(
            &demean,
            &asdf("event_2014-01-01.h5"),
            &out,
            &["--device", "cpu"],
        ),
        &[0],
    );
    let names: Vec<String> = written(&out)
        .keys()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    // The `synthetic` minute is its own trace.
    assert!(
        names
            .iter()
            .any(|n| n == "GR.FUR..HHZ__20140101T000000Z__20140101T000059Z.sac"),
        "{names:?}"
    );
    let out = tmp.path().join("syn");
    exit_in(
        &run(
            &demean,
            &asdf("event_2014-01-01.h5"),
            &out,
            &["--device", "cpu", "--tag", "synthetic"],
        ),
        &[0],
    );
    assert_eq!(written(&out).len(), 1);
    // A tag pyasdf could not have written is a usage error.
    let o = run(
        &demean,
        &asdf("event_2014-01-01.h5"),
        &tmp.path().join("bad"),
        &["--tag", "Raw Recording"],
    );
    exit_in(&o, &[2]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--tag"));
}

/// SAC's event words (evla, word 35) from the event each station's waveforms name: GR.FUR
/// names the catalog's second event, GR.WET names none in a file of two (so has none).
#[test]
fn each_station_takes_the_event_its_waveforms_name() {
    let tmp = tempfile::tempdir().unwrap();
    let demean = tmp.path().join("demean.toml");
    std::fs::write(&demean, "[[step]]\nop = \"detrend\"\ntype = \"demean\"\n").unwrap();
    let out = tmp.path().join("out");
    exit_in(
        &run(&demean, &asdf("two_events.h5"), &out, &["--device", "cpu"]),
        &[0],
    );
    let files = written(&out);
    assert_eq!(files.len(), 2, "{:?}", files.keys());
    for (p, b) in &files {
        let evla = f32::from_le_bytes(b[35 * 4..36 * 4].try_into().unwrap());
        let sta = p.file_name().unwrap().to_string_lossy();
        let want = if sta.starts_with("GR.FUR.") {
            -20.5
        } else {
            -12345.0
        };
        assert_eq!(evla, want, "{sta}");
        // float64 in the file, int32 in the tree: the same counts either way.
        assert_eq!(b.len(), 632 + 4 * 12000);
    }
}

/// A damaged ASDF file (cut after 4 KiB) beside a good one: named in the report's skipped
/// list, the good one processed; a file that is HDF5 but not ASDF is named too.
#[test]
fn damaged_asdf_files_are_named_not_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::copy(asdf("two_events.h5"), input.join("good.h5")).unwrap();
    let bytes = std::fs::read(asdf("event_2014-01-01.h5")).unwrap();
    std::fs::write(input.join("cut.h5"), &bytes[..4096]).unwrap();
    let demean = tmp.path().join("demean.toml");
    std::fs::write(&demean, "[[step]]\nop = \"detrend\"\ntype = \"demean\"\n").unwrap();
    let out = tmp.path().join("out");
    let o = run(&demean, &input, &out, &["--device", "cpu"]);
    exit_in(&o, &[0]);
    assert_eq!(written(&out).len(), 2);
    let r = report(&out);
    let skipped = r["skipped"].to_string();
    assert!(
        skipped.contains("cut.h5") && skipped.contains("ASDF"),
        "{skipped}"
    );
}

/// Two event folders (the example event and a copy with another event.xml) in one data set:
/// the same station's waveforms of both events in one group (the second's names get `_1`),
/// both events in the catalog, each waveform associated with its own. Then a third event is
/// added by `--resume`: the data set keeps what it held and gains the new event.
#[test]
fn layout_dataset_gathers_every_event_and_resume_adds_to_it() {
    use seisbatch::read::asdf;
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    let example = root().join("examples/data/event_2014-01-01");
    let event = |name: &str, origin: &str| {
        let dir = input.join(name);
        common::copy_dir(&example, &dir);
        let xml = std::fs::read_to_string(fixture("events/one_event.xml"))
            .unwrap()
            .replace("event_2014-01-01", name)
            .replace("2014-01-01T00:01:00.500000Z", origin);
        std::fs::write(dir.join("event.xml"), xml).unwrap();
    };
    event("ev_a", "2014-01-01T00:01:00.500000Z");
    event("ev_b", "2014-01-01T00:02:00.000000Z");
    let demean = tmp.path().join("demean.toml");
    std::fs::write(&demean, "[[step]]\nop = \"detrend\"\ntype = \"demean\"\n").unwrap();
    let out = tmp.path().join("out");
    let o = run(
        &demean,
        &input,
        &out,
        &["--device", "cpu", "--layout", "dataset"],
    );
    exit_in(&o, &[0]);
    let ds = out.join("dataset.h5");
    let check = |events: usize| {
        assert_eq!(asdf::stations(&ds).unwrap(), vec!["GR.FUR".to_string()]);
        let s = asdf::read_station(&ds, "GR.FUR", &[]).unwrap();
        assert_eq!(s.traces.len(), 3 * events);
        let mut ids: Vec<String> = s.event_ids.iter().map(|v| v[0].clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), events, "{ids:?}");
        let q = asdf::quakeml(&ds, 1 << 20).unwrap().unwrap();
        let q = String::from_utf8(q).unwrap();
        let found = seisbatch::events::quakeml_ids(&q).unwrap();
        assert_eq!(found.len(), events, "{q}");
        for id in &ids {
            assert!(
                found.iter().any(|(p, _)| p.as_deref() == Some(id.as_str())),
                "{id}"
            );
        }
        assert!(asdf::station_xml(&ds, "GR.FUR").unwrap().is_some());
    };
    check(2);
    let names: Vec<String> = written(&out)
        .keys()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(names, vec!["dataset.h5"], "the event miniSEED is gone");
    assert!(!out.join("ev_a").exists(), "and its emptied folder");
    event("ev_c", "2014-01-01T00:03:00.000000Z");
    let o = run(
        &demean,
        &input,
        &out,
        &["--device", "cpu", "--layout", "dataset", "--resume"],
    );
    exit_in(&o, &[0]);
    check(3);
    // SAC holds one trace per file: not a data set.
    let o = run(
        &demean,
        &input,
        &tmp.path().join("sac"),
        &["--layout", "dataset", "--format", "sac"],
    );
    exit_in(&o, &[2]);
}
