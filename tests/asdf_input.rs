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

/// One ASDF file sharded by station: two shards into one OUTPUT write the files one run
/// writes (per trace), or each its own ASDF file of its stations (`X.K-of-N.h5`), together
/// every station once with the one run's samples.
#[test]
fn shards_split_one_asdf_file_by_station() {
    use seisbatch::read::asdf;
    let tmp = tempfile::tempdir().unwrap();
    let demean = tmp.path().join("demean.toml");
    std::fs::write(&demean, "[[step]]\nop = \"detrend\"\ntype = \"demean\"\n").unwrap();
    let two = asdf("two_events.h5");
    let one = tmp.path().join("one");
    exit_in(&run(&demean, &two, &one, &["--format", "sac"]), &[0]);
    let sharded = tmp.path().join("sharded");
    let mut ok = Vec::new();
    for k in 0..2 {
        let shard = format!("{k}/2");
        let o = run(
            &demean,
            &two,
            &sharded,
            &["--format", "sac", "--shard", &shard],
        );
        exit_in(&o, &[0]);
        let r: serde_json::Value = serde_json::from_slice(
            &std::fs::read(sharded.join(format!("report.{k}-of-2.json"))).unwrap(),
        )
        .unwrap();
        ok.push(r["ok"].as_u64().unwrap());
    }
    assert!(ok.iter().all(|&n| n > 0), "a station each: {ok:?}");
    let strip = |m: std::collections::BTreeMap<PathBuf, Vec<u8>>| {
        m.into_iter()
            .filter(|(p, _)| !p.to_string_lossy().starts_with("report."))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert_eq!(strip(written(&one)), strip(written(&sharded)));

    // ASDF out: each shard's own file, its stations only.
    let out = tmp.path().join("asdf");
    for k in 0..2 {
        let shard = format!("{k}/2");
        exit_in(
            &run(
                &demean,
                &two,
                &out,
                &["--shard", &shard, "--format", "asdf"],
            ),
            &[0],
        );
    }
    let whole = tmp.path().join("asdf_one");
    exit_in(&run(&demean, &two, &whole, &["--format", "asdf"]), &[0]);
    let all = asdf::stations(&whole.join("two_events/two_events.h5")).unwrap();
    assert_eq!(all, ["GR.FUR", "GR.WET"]);
    let mut seen = Vec::new();
    for k in 0..2 {
        let f = out.join(format!("two_events/two_events.{k}-of-2.h5"));
        let stations = asdf::stations(&f).unwrap();
        assert_eq!(stations.len(), 1, "{f:?}: {stations:?}");
        for s in stations {
            let a = asdf::read_station(&f, &s, &[]).unwrap().traces;
            let b = asdf::read_station(&whole.join("two_events/two_events.h5"), &s, &[])
                .unwrap()
                .traces;
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(&b) {
                assert_eq!((x.start_ns, &x.data), (y.start_ns, &y.data), "{s}");
            }
            let whole_xml = asdf::station_xml(&whole.join("two_events/two_events.h5"), &s);
            assert_eq!(
                asdf::station_xml(&f, &s).unwrap(),
                whole_xml.unwrap(),
                "{s}"
            );
            seen.push(s);
        }
    }
    seen.sort();
    assert_eq!(seen, all, "every station once");
}

/// One ASDF file's stations are split among the shards, a station each; stations whose
/// names differ only in case go together; a folder the file shares with a folder of
/// miniSEED (`X/` beside `X.h5`) stays whole.
#[test]
fn an_asdf_files_stations_are_split_but_case_twins_and_shared_folders_are_not() {
    let d = tempfile::tempdir().unwrap();
    let trace = |net: &str, sta: &str| seisbatch::trace::Trace {
        network: net.into(),
        station: sta.into(),
        location: String::new(),
        channel: "HHZ".into(),
        start_ns: 0,
        sampling_rate: 1.0,
        data: vec![1.0; 10],
    };
    let meta = seisbatch::write::asdf::Meta {
        tag: "raw",
        stationxml: &|_, _| None,
        quakeml: None,
        event_id: &|_, _| None,
        provenance: None,
    };
    let codes = [("AB", "CD"), ("GR", "FUR"), ("GR", "WET"), ("ab", "CD")];
    let traces: Vec<_> = codes.iter().map(|(n, s)| trace(n, s)).collect();
    seisbatch::write::asdf::write(&d.path().join("p.h5"), &traces, &meta).unwrap();
    use seisbatch::read::walk::Exclude;
    use seisbatch::shard::{totals, Shard, Sharded};
    let share = |root: &Path, n: usize| -> Vec<Vec<String>> {
        let t = totals(root, &Exclude::default()).unwrap().0;
        (0..n)
            .map(|k| {
                Sharded::new(root, Shard { index: k, count: n }, t, &Exclude::default())
                    .unwrap()
                    .flatten()
                    .map(|f| f.asdf.as_deref().unwrap_or("file").to_string())
                    .collect()
            })
            .collect()
    };
    let got = share(d.path(), 2);
    assert_eq!(
        got,
        [vec!["AB.CD", "GR.FUR", "ab.CD"], vec!["GR.WET"]],
        "a station each, by bytes; ab.CD with AB.CD"
    );
    let four = share(d.path(), 4);
    assert_eq!(four.iter().map(Vec::len).sum::<usize>(), 4);
    assert!(
        four.iter().filter(|s| !s.is_empty()).count() >= 3,
        "{four:?}"
    );
    // The same file beside a folder of its name: one output folder, one shard.
    std::fs::create_dir(d.path().join("p")).unwrap();
    let mseed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/data/event_2014-01-01/raw/GR.FUR..HHZ__20140101T000000Z__20140101T002000Z.mseed"
    );
    std::fs::copy(mseed, d.path().join("p/x.mseed")).unwrap();
    let got = share(d.path(), 2);
    assert!(got.iter().any(|s| s.len() == 5), "{got:?}");
}
