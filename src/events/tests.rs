//! Event metadata from CSV and from QuakeML as ObsPy writes it (tests/fixtures/events,
//! made by tests/fixtures/make_events.py).

use super::*;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events")
        .join(name)
}

#[test]
fn quakeml_catalogs_name_folders_by_their_public_id() {
    let ev = Events::read(&fixture("catalog.xml")).unwrap();
    assert_eq!(ev.len(), 2);
    let a = ev.get("event_2014-01-01").unwrap();
    assert_eq!(a.time_ns, 1_388_534_460_500_000_000);
    assert_eq!((a.latitude, a.longitude, a.depth_km), (35.5, 139.25, 40.0));
    // The preferred origin, not the first.
    let b = ev.get("us2014abcd").unwrap();
    assert_eq!(b.time_ns, 1_391_248_802_250_000_000);
    assert_eq!(
        (b.latitude, b.longitude, b.depth_km),
        (-20.5, -70.125, 15.5)
    );
    // An event folder's event.xml holds one event; a catalog is refused there.
    assert_eq!(event_xml(&fixture("one_event.xml")).unwrap(), *a);
    let e = event_xml(&fixture("catalog.xml")).unwrap_err();
    assert!(e.contains("2 events"), "{e}");
}

#[test]
fn csv_has_a_header_and_checked_values() {
    let ev = csv("folder, time ,latitude,longitude,depth_km,magnitude\n\
         event_a,2014-01-01T00:01:00.5Z,35.5,139.25,40,6.1\n\
         \n\
         event_b,2014-02-01T10:00:02.25,-20.5,-70.125,15.5,5.0\n")
    .unwrap();
    assert_eq!(
        ev.get("event_a").unwrap().time_ns,
        1_388_534_460_500_000_000
    );
    assert_eq!(ev.get("event_b").unwrap().depth_km, 15.5);
    // Columns in any order.
    let ev =
        csv("depth_km,longitude,latitude,time,folder\n10,1,2,2014-01-01T00:00:00Z,x\n").unwrap();
    assert_eq!(ev.get("x").unwrap().latitude, 2.0);
    for (text, why) in [
        ("", "empty"),
        ("folder,time,latitude,longitude\n", "depth_km"),
        (
            "folder,time,latitude,longitude,depth_km\nx,yesterday,1,2,3\n",
            "line 2: origin time",
        ),
        (
            "folder,time,latitude,longitude,depth_km\nx,2014-01-01,91,2,3\n",
            "latitude 91",
        ),
        (
            "folder,time,latitude,longitude,depth_km\nx,2014-01-01,1,NaN,3\n",
            "longitude",
        ),
        (
            "folder,time,latitude,longitude,depth_km\nx,2014-01-01,1,2\n",
            "4 columns",
        ),
        (
            "folder,time,latitude,longitude,depth_km\nx,2014-01-01,1,2,1e9\n",
            "depth",
        ),
        (
            "folder,time,latitude,longitude,depth_km\nx,2014-01-01,1,2,3\nx,2014-01-02,1,2,3\n",
            "two events",
        ),
        (
            "folder,time,latitude,longitude,depth_km\nx,3000-01-01,1,2,3\n",
            "years",
        ),
    ] {
        let e = csv(text).unwrap_err();
        assert!(e.contains(why), "{text:?}: {e}");
    }
}

#[test]
fn quakeml_without_what_an_origin_needs_is_refused() {
    let doc = |origin: &str| {
        format!(
            "<q:quakeml xmlns:q=\"x\"><eventParameters><event publicID=\"smi:a/b/ev1\">\
             {origin}</event></eventParameters></q:quakeml>"
        )
    };
    assert!(quakeml(&doc("")).unwrap_err().contains("no origin"));
    let e = quakeml(&doc(
        "<origin publicID=\"o\"><time><value>2014-01-01T00:00:00Z</value></time>\
         <latitude><value>1</value></latitude></origin>",
    ))
    .unwrap_err();
    assert!(e.contains("longitude"), "{e}");
    // Depth is optional (0 km), in metres when given.
    let ok = quakeml(&doc(
        "<origin publicID=\"o\"><time><value>2014-01-01T00:00:00Z</value></time>\
         <latitude><value>1</value></latitude><longitude><value>2</value></longitude></origin>",
    ))
    .unwrap();
    assert_eq!(ok[0].0.as_deref(), Some("ev1"));
    assert_eq!(ok[0].1.depth_km, 0.0);
}

/// Origin times that are not times were rolled over silently (24:02 into the next day, :60
/// into the next minute, 31 November into December); each is refused naming the line and the
/// field, in CSV and QuakeML alike (issue #23).
#[test]
fn origin_times_with_impossible_calendar_fields_are_refused() {
    for (time, why) in [
        ("2013-12-31T24:02:00Z", "hour 24"),
        ("2014-01-01T00:01:60Z", "second 60"),
        ("2014-11-31", "2014-11 has 30 days"),
        ("2015-02-29T00:00:00", "2015-02 has 28 days"),
    ] {
        let e = csv(&format!(
            "folder,time,latitude,longitude,depth_km\nx,{time},1,2,3\n"
        ))
        .unwrap_err();
        assert!(
            e.starts_with("line 2: origin time") && e.contains(why),
            "{e}"
        );
        let q = format!(
            "<q:quakeml xmlns=\"http://quakeml.org/xmlns/bed/1.2\"><eventParameters>\
             <event publicID=\"smi:local/event/x\"><origin publicID=\"o\">\
             <time><value>{time}</value></time><latitude><value>1</value></latitude>\
             <longitude><value>2</value></longitude></origin></event>\
             </eventParameters></q:quakeml>"
        );
        let e = quakeml(&q).unwrap_err();
        assert!(e.contains(why), "{e}");
    }
}

/// A CSV saved by a spreadsheet: a UTF-8 byte-order mark, CRLF line ends, quoted fields (a
/// quoted comma, a doubled quote). Refused before with "the header has no `folder` column".
#[test]
fn spreadsheet_csv_is_read() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("events.csv");
    std::fs::write(
        &p,
        "\u{feff}\"folder\",\"time\",\"latitude\",\"longitude\",\"depth_km\",\"region\"\r\n\
         event_a,2014-01-01T00:01:00.5Z,35.5,139.25,40,\"Honshu, Japan\"\r\n\
         \"event \"\"b\"\"\", \"2014-02-01T10:00:02.25\" ,-20.5,-70.125,15.5,Chile\r\n",
    )
    .unwrap();
    let ev = Events::read(&p).unwrap();
    assert_eq!(ev.len(), 2);
    assert_eq!(
        ev.get("event_a").unwrap().time_ns,
        1_388_534_460_500_000_000
    );
    assert_eq!(ev.get("event \"b\"").unwrap().depth_km, 15.5);
    for (text, why) in [
        (
            "folder,time,latitude,longitude,depth_km\n\"x,2014-01-01,1,2,3\n",
            "not closed",
        ),
        (
            "folder,time,latitude,longitude,depth_km\n\"x\"y,2014-01-01,1,2,3\n",
            "after a quoted",
        ),
    ] {
        let e = csv(text).unwrap_err();
        assert!(e.starts_with("line 2: ") && e.contains(why), "{e}");
    }
    // A FIFO or a folder is not an events file (a FIFO's read would block).
    let e = Events::read(d.path()).unwrap_err();
    assert!(e.contains("not a regular file"), "{e}");
}
