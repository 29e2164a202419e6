//! Same input, same bytes (issue #23, item 1): outputs never depend on `--jobs`, on thread
//! scheduling or on the order the inputs come in. The data set mixes what broke it: several
//! events, channels sharing one response at different lengths and rates (so each worker
//! meets a different sequence of FFT lengths), through the velocity chain the review used.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;

/// detrend linear, taper 5 % hann, remove_response VEL with pre_filt and water_level 60,
/// band-pass 0.02-1 Hz zero-phase, resample to 5 Hz.
const VELOCITY: &str = r#"
[[step]]
op = "detrend"
type = "linear"
[[step]]
op = "taper"
max_percentage = 0.05
type = "hann"
[[step]]
op = "remove_response"
output = "VEL"
pre_filt = [0.005, 0.01, 4.0, 5.0]
water_level = 60
[[step]]
op = "filter"
type = "bandpass"
freqmin = 0.02
freqmax = 1.0
zerophase = true
[[step]]
op = "resample"
sampling_rate = 5.0
"#;

/// Trace lengths (seconds) and rates of the data set's parts: at 100 Hz, 36,000 to 36,039
/// samples, whose FFT plans changed with the lengths a worker had planned before (36,007
/// samples planned after 36,039 took another base, so different last bits).
const PARTS: [(f64, &str); 6] = [
    (360.0, "100,20"),
    (360.27, "100,40"),
    (360.39, "100,20"),
    (360.07, "100,40"),
    (360.31, "100,200"),
    (180.5, "40,100"),
];

/// The mixed data set: per part, two events of two stations (three channels each, one
/// response per station), event folders named `{prefix}{part}_{event}` in `input`.
fn data_set(tmp: &Path, input: &Path, name_of: impl Fn(usize) -> String) {
    for (i, (seconds, rates)) in PARTS.iter().enumerate() {
        let part = tmp.join(format!("part{i}"));
        if !part.exists() {
            let o = bin()
                .args(["synth", "--events", "2", "--stations", "2"])
                .args(["--duration", &seconds.to_string(), "--rates", rates])
                .args(["--seed", &(i + 1).to_string()])
                .arg("--output")
                .arg(&part)
                .output()
                .unwrap();
            exit_in(&o, &[0]);
        }
        for e in std::fs::read_dir(&part).unwrap().flatten() {
            let to = input.join(format!(
                "{}_{}",
                name_of(i),
                e.file_name().to_string_lossy()
            ));
            copy_dir(&e.path(), &to);
        }
    }
}

fn run(chain: &Path, input: &Path, out: &Path, extra: &[&str]) {
    let o = run_cmd(chain, input, out)
        .args(["--format", "mseed", "--quiet"])
        .args(extra)
        .output()
        .unwrap();
    exit_in(&o, &[0]);
}

/// Outputs keyed by (input part, rest of the path), the part's folder prefix mapped back.
fn by_part(out: &Path, part_of: impl Fn(&str) -> usize) -> BTreeMap<(usize, PathBuf), Vec<u8>> {
    outputs(out)
        .0
        .into_iter()
        .map(|(p, bytes)| {
            let top = p.components().next().unwrap().as_os_str().to_string_lossy();
            let (prefix, event) = top.split_once('_').unwrap();
            let rest: PathBuf = Path::new(event).join(p.components().skip(1).collect::<PathBuf>());
            ((part_of(prefix), rest), bytes)
        })
        .collect()
}

fn first_difference(
    a: &BTreeMap<(usize, PathBuf), Vec<u8>>,
    b: &BTreeMap<(usize, PathBuf), Vec<u8>>,
) -> Option<String> {
    if a.keys().ne(b.keys()) {
        return Some("different output files".into());
    }
    let differ: Vec<String> = a
        .iter()
        .filter(|(k, v)| b[*k] != **v)
        .map(|(k, _)| format!("part {} {}", k.0, k.1.display()))
        .collect();
    (!differ.is_empty()).then(|| format!("{} file(s) differ: {differ:?}", differ.len()))
}

#[test]
fn the_same_bytes_for_any_jobs_schedule_and_input_order() {
    let tmp = tempfile::tempdir().unwrap();
    let chain = tmp.path().join("velocity.toml");
    std::fs::write(&chain, VELOCITY).unwrap();
    // In order: part 0's events first. Shuffled: the parts' folders named so that the walk
    // (which goes in path order) meets them in another order: 3, 5, 1, 0, 4, 2.
    let order = tmp.path().join("in_order");
    data_set(tmp.path(), &order, |i| format!("p{i}"));
    const SHUFFLE: [usize; 6] = [3, 5, 1, 0, 4, 2];
    let shuffled = tmp.path().join("shuffled");
    data_set(tmp.path(), &shuffled, |i| {
        let at = SHUFFLE.iter().position(|&p| p == i).unwrap();
        format!("s{at}")
    });
    let plain = |prefix: &str| prefix[1..].parse::<usize>().unwrap();
    let unshuffle = |prefix: &str| SHUFFLE[prefix[1..].parse::<usize>().unwrap()];

    let reference = tmp.path().join("jobs1");
    run(
        &chain,
        &order,
        &reference,
        &["--device", "cpu", "--jobs", "1"],
    );
    let want = by_part(&reference, plain);
    assert_eq!(want.len(), PARTS.len() * 2 * 2 * 3, "every trace written");
    let runs: [(&str, &Path, &[&str]); 5] = [
        ("--jobs 2", &order, &["--jobs", "2"]),
        ("--jobs 2 again", &order, &["--jobs", "2"]),
        ("--jobs 8", &order, &["--jobs", "8"]),
        ("shuffled, --jobs 1", &shuffled, &["--jobs", "1"]),
        ("shuffled, --jobs 3", &shuffled, &["--jobs", "3"]),
    ];
    for (i, (what, input, extra)) in runs.iter().enumerate() {
        let out = tmp.path().join(format!("run{i}"));
        run(
            &chain,
            input,
            &out,
            &[&["--device", "cpu"][..], extra].concat(),
        );
        let got = if *input == shuffled.as_path() {
            by_part(&out, unshuffle)
        } else {
            by_part(&out, plain)
        };
        if let Some(d) = first_difference(&want, &got) {
            panic!("{what}: {d}");
        }
    }

    // The GPU path: the same adapter and batch size give the same bytes, however many
    // readers feed it and in whatever order the inputs come.
    if gpu().is_some() {
        let device = ["--device", "gpu", "--gpu-memory", "512"];
        let first = tmp.path().join("gpu1");
        run(
            &chain,
            &order,
            &first,
            &[&device[..], &["--jobs", "1"]].concat(),
        );
        let want = by_part(&first, plain);
        let out = tmp.path().join("gpu2");
        run(
            &chain,
            &shuffled,
            &out,
            &[&device[..], &["--jobs", "3"]].concat(),
        );
        if let Some(d) = first_difference(&want, &by_part(&out, unshuffle)) {
            panic!("GPU path, shuffled, --jobs 3: {d}");
        }
    }
}
