//! The catalog read back: as written, and refused when tampered with.
use super::*;

fn index(rel: &str, size: u64, run: Run) -> Index {
    Index {
        root: PathBuf::from("/archive"),
        files: vec![FileEntry {
            rel: PathBuf::from(rel),
            size,
            mtime_ns: 7,
            etag: None,
        }],
        channels: vec![("XX".into(), "S".into(), "".into(), "BHZ".into())],
        runs: vec![run],
        problems: Vec::new(),
    }
}

fn run() -> Run {
    Run {
        file: 0,
        channel: 0,
        rate: 100.0,
        start_ns: 1_600_000_000_000_000_000,
        npts: 1000,
        foff: 0,
        nbytes: 1024,
        records: 2,
        encoding: 11,
        marks: vec![(1_600_000_000_000_000_000, 0)],
    }
}

/// `index` written as a catalog and read back: the index, or why it was refused.
fn round_trip(index: &Index) -> Result<Index, String> {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("c.parquet");
    std::fs::write(&p, to_bytes(index, &|_| "mseed").unwrap()).unwrap();
    read(&p)
}

#[test]
fn a_catalog_reads_back_as_written() {
    let i = index("2020/XX/S/BHZ.D/XX.S..BHZ.D.2020.001", 4096, run());
    let back = round_trip(&i).unwrap();
    assert_eq!(back.runs, i.runs);
    assert_eq!(back.files, i.files);
    assert_eq!(back.channels, i.channels);
    assert_eq!(back.root, i.root);
}

#[test]
fn a_tampered_catalog_is_refused_naming_the_row() {
    let cases: Vec<(Index, &str)> = vec![
        (index("../../etc/passwd", 4096, run()), "not a plain path"),
        (index("/etc/passwd", 4096, run()), "not a plain path"),
        (index("a", 100, run()), "do not lie inside"),
        (index("a", 4096, Run { npts: 0, ..run() }), "npts 0"),
        (index("a", 4096, Run { rate: 0.0, ..run() }), "rate"),
        (
            index(
                "a",
                4096,
                Run {
                    records: 0,
                    ..run()
                },
            ),
            "0 records",
        ),
        (
            index(
                "a",
                4096,
                Run {
                    marks: vec![
                        (1_600_000_000_000_000_000, 0),
                        (1_600_000_000_000_000_000, 512),
                    ],
                    ..run()
                },
            ),
            "mark times",
        ),
        (
            index(
                "a",
                4096,
                Run {
                    records: 200,
                    marks: vec![
                        (1_600_000_000_000_000_000, 0),
                        (1_500_000_000_000_000_000, 512),
                    ],
                    ..run()
                },
            ),
            "out of order",
        ),
        (
            index(
                "a",
                4096,
                Run {
                    marks: vec![(5, 0)],
                    ..run()
                },
            ),
            "first mark",
        ),
        (
            index(
                "a",
                4096,
                Run {
                    start_ns: i64::MAX - 10,
                    marks: vec![(i64::MAX - 10, 0)],
                    ..run()
                },
            ),
            "time",
        ),
    ];
    for (i, says) in cases {
        let e = round_trip(&i).unwrap_err();
        assert!(e.contains("row 0") && e.contains(says), "{says}: {e}");
    }
}

#[test]
fn paths_from_a_catalog_stay_inside_the_root() {
    assert!(safe_rel("2020/GR/FUR/HHZ.D/GR.FUR..HHZ.D.2020.001").is_ok());
    for bad in ["", "/etc/passwd", "../x", "a/../../b", "./a"] {
        assert!(safe_rel(bad).is_err(), "{bad}");
    }
}
