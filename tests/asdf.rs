//! `--format asdf` (issue #5): one ASDF file per event with the structure pyasdf 0.8 reads
//! (`bench/check_layouts.py` reads it with pyasdf; this checks the file itself), the same
//! samples as the per-trace SAC output, and each station's StationXML. Without the `asdf`
//! feature the flag is a clear usage error.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::bin;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(input: &Path, output: &Path, extra: &[&str]) -> Output {
    bin()
        .arg("run")
        .arg(root().join("bench/short_chain.toml"))
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(output)
        .args(["--device", "cpu", "--quiet"])
        .args(extra)
        .output()
        .unwrap()
}

#[cfg(not(feature = "asdf"))]
#[test]
fn asdf_without_the_feature_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(
        &root().join("examples/data"),
        tmp.path(),
        &["--format", "asdf"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--features asdf"));
    // --help offers only what this build can do.
    let help = bin().args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("mseed") && !help.contains("asdf"), "{help}");
}

#[cfg(feature = "asdf")]
#[test]
fn asdf_files_hold_each_event_as_pyasdf_reads_it() {
    use hdf5_metno as h5;
    let tmp = tempfile::tempdir().unwrap();
    let input = common::synth(tmp.path(), 2, 3, 60, 0.1);
    let (sac, asdf) = (tmp.path().join("sac"), tmp.path().join("asdf"));
    assert_eq!(run(&input, &sac, &[]).status.code(), Some(3));
    assert_eq!(
        run(&input, &asdf, &["--format", "asdf"]).status.code(),
        Some(3)
    );
    let mut checked = 0;
    for ev in ["event_00001", "event_00002"] {
        let dir = asdf.join(ev);
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(names, vec![format!("{ev}.h5")], "only the ASDF file stays");
        let f = h5::File::open(dir.join(format!("{ev}.h5"))).unwrap();
        let attr = |n: &str| {
            f.attr(n)
                .unwrap()
                .read_scalar::<h5::types::FixedAscii<16>>()
                .unwrap()
                .to_string()
        };
        assert_eq!(attr("file_format"), "ASDF");
        assert_eq!(attr("file_format_version"), "1.0.3");
        for g in ["Waveforms", "AuxiliaryData", "Provenance"] {
            assert!(f.group(g).is_ok(), "{g}");
        }
        let waveforms = f.group("Waveforms").unwrap();
        for station in waveforms.member_names().unwrap() {
            let g = waveforms.group(&station).unwrap();
            let xml: Vec<u8> = g.dataset("StationXML").unwrap().read_raw().unwrap();
            let resp = std::fs::read(input.join(ev).join("resp").join(format!("{station}.xml")));
            assert_eq!(
                xml,
                resp.unwrap(),
                "{ev}/{station}: StationXML stored as is"
            );
            for name in g.member_names().unwrap() {
                if name == "StationXML" {
                    continue;
                }
                // NET.STA.LOC.CHA__2020-01-01T00:10:00__2020-01-01T00:10:59__processed
                let parts: Vec<&str> = name.split("__").collect();
                assert_eq!(parts.len(), 4, "{name}");
                assert_eq!(parts[3], "processed");
                let d = g.dataset(&name).unwrap();
                let data: Vec<f32> = d.read_raw().unwrap();
                let rate: f64 = d.attr("sampling_rate").unwrap().read_scalar().unwrap();
                let start: i64 = d.attr("starttime").unwrap().read_scalar().unwrap();
                assert!(rate > 0.0 && start > 0);
                // The SAC file of the same trace has the same samples.
                let prefix = format!("{}__", parts[0]);
                let matching: Vec<Vec<f32>> = std::fs::read_dir(sac.join(ev))
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .filter(|p| {
                        p.file_name()
                            .unwrap()
                            .to_string_lossy()
                            .starts_with(&prefix)
                    })
                    .map(|p| {
                        let b = std::fs::read(p).unwrap();
                        b[632..]
                            .chunks_exact(4)
                            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                            .collect()
                    })
                    .collect();
                assert!(
                    matching.contains(&data),
                    "{ev}/{name}: no SAC file with these samples"
                );
                checked += 1;
            }
        }
    }
    let ok = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(asdf.join("report.json")).unwrap(),
    )
    .unwrap()["ok"]
        .as_u64()
        .unwrap();
    assert_eq!(checked as u64, ok);
    assert!(checked >= 15);
}
