//! `--format asdf` (issue #5): one ASDF file per event with the structure pyasdf 0.8 reads
//! (`bench/check_layouts.py` reads it with pyasdf; this checks the file itself), the same
//! samples as the per-trace SAC output, and each station's StationXML. Every build has it
//! (HDF5 compiled in, issue #29).

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

/// `correlate` with `asdf = true`: two three-component stations, B 0.1 degree east of A,
/// two chunks of an hour at 10 Hz.
fn noise_archive(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    const N: usize = 72_000;
    let root = dir.join("arch");
    let mut channels = String::new();
    for (k, comp) in ["E", "N", "Z"].iter().enumerate() {
        let src = common::noise(200 + k as u64, N + 100);
        for (sta, lag, seed) in [("A", 0usize, 1u64), ("B", 32, 2)] {
            let o = common::noise(300 + 10 * seed + k as u64, N);
            let codes = ["XX", sta, "", &format!("HH{comp}")];
            let mut tr = common::trace(codes, "2020-01-01T00:00:00", 10.0, N);
            tr.data = (0..N)
                .map(|i| 1000.0 * (src[i + 50 - lag] + 0.3 * o[i]))
                .collect();
            common::write_mseed(&root.join(format!("XX.{sta}.HH{comp}.2020.001")), &[tr]);
        }
        let (az, dip) = [(90, 0), (0, 0), (0, -90)][k];
        channels.push_str(&format!(r#"<Channel code="HH{comp}" locationCode="" startDate="2000-01-01T00:00:00"><Latitude>LAT</Latitude><Longitude>LON</Longitude><Elevation>0</Elevation><Depth>0</Depth><Azimuth>{az}</Azimuth><Dip>{dip}</Dip><SampleRate>10</SampleRate></Channel>"#));
    }
    let station = |code: &str, lon: f64| {
        format!(
            r#"<Station code="{code}" startDate="2000-01-01T00:00:00"><Latitude>0</Latitude><Longitude>{lon}</Longitude><Elevation>0</Elevation>{}</Station>"#,
            channels
                .replace("LAT", "0")
                .replace("LON", &lon.to_string())
        )
    };
    let inv = dir.join("inv.xml");
    std::fs::write(
        &inv,
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><FDSNStationXML xmlns="http://www.fdsn.org/xml/station/1" schemaVersion="1.1"><Source>test</Source><Created>2020-01-01T00:00:00</Created><Network code="XX">{}{}</Network></FDSNStationXML>"#,
            station("A", 0.0),
            station("B", 0.1)
        ),
    )
    .unwrap();
    let cfg = dir.join("noise.toml");
    std::fs::write(
        &cfg,
        "cc_len = 600.0\nstep = 300.0\nfreqmin = 0.1\nfreqmax = 2.0\nmaxlag = 20.0\n\
         time_norm = \"one_bit\"\ninc_hours = 1.0\ncomponents = [\"all\"]\nrotation = true\n\
         asdf = true\n",
    )
    .unwrap();
    (root, inv, cfg)
}

fn correlate(cfg: &Path, input: &Path, inv: &Path, out: &Path) -> Output {
    bin()
        .arg("correlate")
        .arg(cfg)
        .arg("--input")
        .arg(input)
        .arg("--inventory")
        .arg(inv)
        .arg("--output")
        .arg(out)
        .args(["--quiet", "--device", "cpu"])
        .output()
        .unwrap()
}

/// NoisePy's layout (noisepy-seis-io's ASDFCCStore / ASDFStackStore): a CCF file per chunk
/// named by its time span, `SRC_REC/CHA_CHA` rows equal to the chunk's SAC files with
/// NoisePy's cc_parameters; a STACK file per pair with `Allstack_linear/<comp>` for the nine
/// ENZ stacks and the rotated ones, equal to the SAC stacks.
#[test]
fn correlate_writes_noisepys_asdf_layout() {
    use hdf5_metno as h5;
    let tmp = tempfile::tempdir().unwrap();
    let (arch, inv, cfg) = noise_archive(tmp.path());
    let out = tmp.path().join("out");
    let o = correlate(&cfg, &arch, &inv, &out);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let sac = |p: PathBuf| -> Vec<f32> {
        let b = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        b[632..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    };
    let text = |d: &h5::Dataset, n: &str| -> String {
        d.attr(n)
            .unwrap()
            .read_scalar::<h5::types::VarLenUnicode>()
            .unwrap()
            .to_string()
    };
    let num = |d: &h5::Dataset, n: &str| -> f64 { d.attr(n).unwrap().read_scalar().unwrap() };
    let int = |d: &h5::Dataset, n: &str| -> i64 { d.attr(n).unwrap().read_scalar().unwrap() };
    let f32a = |d: &h5::Dataset, n: &str| -> f32 { d.attr(n).unwrap().read_scalar().unwrap() };
    let comps = ["EE", "EN", "EZ", "NE", "NN", "NZ", "ZE", "ZN", "ZZ"];
    for hour in [0, 1] {
        let name = format!("2020_01_01_0{hour}_00_00T2020_01_01_0{}_00_00.h5", hour + 1);
        let f = h5::File::open(out.join("asdf/CCF").join(&name)).unwrap();
        let aux = f.group("AuxiliaryData").unwrap();
        assert_eq!(aux.member_names().unwrap(), ["XX.A_XX.B"]);
        let pair = aux.group("XX.A_XX.B").unwrap();
        let mut paths = pair.member_names().unwrap();
        paths.sort();
        assert_eq!(paths.len(), 9);
        for c in comps {
            let p = format!("HH{}_HH{}", &c[..1], &c[1..]);
            let d = pair.dataset(&p).unwrap();
            let dir = out.join(format!(
                "20200101T0{hour}0000Z__20200101T0{}0000Z",
                hour + 1
            ));
            let want = sac(dir.join(format!("XX.A._XX.B./{c}.sac")));
            assert_eq!(d.read_raw::<f32>().unwrap(), want, "{name} {p}");
            assert_eq!(text(&d, "comp"), c);
            assert_eq!(text(&d, "cc_method"), "xcorr");
            assert_eq!(num(&d, "dt"), 0.1);
            assert_eq!(int(&d, "maxlag"), 20);
            // NoisePy's floor((3600 - 600) / 300) windows in an hour, none of Gaussian
            // noise dropped.
            assert_eq!(int(&d, "ngood"), 10);
            assert_eq!(num(&d, "time"), 1_577_836_800.0 + 3600.0 * hour as f64);
            assert!(!d.attr("substack").unwrap().read_scalar::<bool>().unwrap());
            // 0.1 degree of the equator on WGS84, due east.
            assert!(
                (f32a(&d, "dist") - 11.132).abs() < 0.01,
                "{}",
                f32a(&d, "dist")
            );
            assert!((f32a(&d, "azi") - 90.0).abs() < 1e-3);
            assert!((f32a(&d, "baz") - 270.0).abs() < 1e-3);
            assert_eq!(f32a(&d, "lonR"), 0.1);
        }
    }
    let f = h5::File::open(out.join("asdf/STACK/XX.A/XX.A_XX.B.h5")).unwrap();
    let g = f.group("AuxiliaryData/Allstack_linear").unwrap();
    let mut names = g.member_names().unwrap();
    names.sort();
    let rtz = ["RR", "RT", "RZ", "TR", "TT", "TZ", "ZR", "ZT"];
    let mut want: Vec<String> = comps.iter().chain(&rtz).map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(
        names, want,
        "nine ENZ stacks and the rotated ones (ZZ once)"
    );
    for c in comps {
        let d = g.dataset(c).unwrap();
        assert_eq!(
            d.read_raw::<f32>().unwrap(),
            sac(out.join(format!("stack/XX.A._XX.B./{c}.sac"))),
            "{c}"
        );
        assert_eq!(int(&d, "ngood"), 2, "two chunk rows stacked");
        assert_eq!(text(&d, "station_source"), "A");
        assert_eq!(text(&d, "station_receiver"), "B");
    }
    for c in rtz {
        assert_eq!(
            g.dataset(c).unwrap().read_raw::<f32>().unwrap(),
            sac(out.join(format!("stack_rtz/XX.A._XX.B./{c}.sac"))),
            "{c}"
        );
    }
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("correlate.json")).unwrap()).unwrap();
    assert_eq!(s["stacks"]["asdf_files"], 1, "{s}");
    assert_eq!(s["asdf_ccf_files"], 2, "{s}");
}
