//! `cut` against ObsPy 1.5.1's Trace.trim on 4,314 cases (tests/fixtures/make_trim.py):
//! absolute and relative bounds at sample ties, just inside and outside, far away, with and
//! without pad and nearest_sample, on empty, one-sample and longer traces at rates whose
//! period is not a whole number of ns.

use super::*;

fn bound(v: &serde_json::Value) -> Option<Bound> {
    if v.is_null() {
        return None;
    }
    if let Some(t) = v.get("at") {
        return Some(Bound::At(t.as_i64().unwrap()));
    }
    if let Some(x) = v.get("after_start") {
        return Some(Bound::AfterStart(x.as_f64().unwrap()));
    }
    Some(Bound::BeforeEnd(v["before_end"].as_f64().unwrap()))
}

#[test]
fn cuts_equal_obspys_trim() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/trim/cases.json"
    );
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(cases.len() > 4000);
    let mut wrong = Vec::new();
    for c in &cases {
        let args = TrimArgs {
            starttime: bound(&c["starttime"]),
            endtime: bound(&c["endtime"]),
            pad: c["pad"].as_bool().unwrap(),
            nearest_sample: c["nearest_sample"].as_bool().unwrap(),
            fill_value: Some(-1.0),
        };
        let npts = c["npts"].as_u64().unwrap() as usize;
        let got = cut(
            npts,
            c["start_ns"].as_i64().unwrap(),
            c["rate"].as_f64().unwrap(),
            &args,
            Err("no event"),
        );
        let ok = match (&got, c.get("error")) {
            (Err(e), Some(want)) => e == want.as_str().unwrap(),
            (Ok(g), None) => {
                let w = &c["want"];
                let n = |k: &str| w[k].as_u64().unwrap() as usize;
                // Without kept samples the fixture cannot tell fills before from after.
                let same_fills = if g.keep == 0 {
                    g.npts() == n("pad_before") + n("pad_after")
                } else {
                    (g.pad_before, g.pad_after) == (n("pad_before"), n("pad_after"))
                };
                g.start_ns == w["start_ns"].as_i64().unwrap()
                    && g.keep == n("keep")
                    && same_fills
                    && (g.keep == 0 || g.skip == n("skip"))
            }
            _ => false,
        };
        if !ok {
            wrong.push(format!("{c}\n  got {got:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases differ, e.g.\n{}",
        wrong.len(),
        cases.len(),
        wrong[..wrong.len().min(3)].join("\n")
    );
}

#[test]
fn a_cut_fills_and_keeps_in_order() {
    let c = Cut {
        pad_before: 2,
        skip: 1,
        keep: 3,
        pad_after: 1,
        start_ns: 0,
    };
    assert_eq!(
        c.apply(&[0.0, 1.0, 2.0, 3.0, 4.0], 9.0),
        [9.0, 9.0, 1.0, 2.0, 3.0, 9.0]
    );
}

#[test]
fn origin_bounds_are_absolute_times_from_the_event() {
    let origin = 1_388_534_460_500_000_000; // 2014-01-01T00:01:00.5
    let args = |s: Bound, e: Bound| TrimArgs {
        starttime: Some(s),
        endtime: Some(e),
        pad: false,
        nearest_sample: true,
        fill_value: None,
    };
    let start = 1_388_534_400_005_000_000;
    let by_origin = cut(
        120_000,
        start,
        100.0,
        &args(Bound::AfterOrigin(-30.0), Bound::AfterOrigin(600.25)),
        Ok(origin),
    )
    .unwrap();
    let absolute = cut(
        120_000,
        start,
        100.0,
        &args(
            Bound::At(origin - 30_000_000_000),
            Bound::At(origin + 600_250_000_000),
        ),
        Err("unused"),
    )
    .unwrap();
    assert_eq!(by_origin, absolute);
    assert_eq!(by_origin.start_ns, 1_388_534_430_505_000_000);
    let e = cut(
        100,
        start,
        1.0,
        &args(Bound::AfterOrigin(1.0), Bound::BeforeEnd(1.0)),
        Err("folder `x` has no event.xml"),
    )
    .unwrap_err();
    assert!(e.contains("folder `x` has no event.xml"), "{e}");
    let e = cut(
        100,
        start,
        1.0,
        &args(Bound::AfterOrigin(50.0), Bound::AfterOrigin(10.0)),
        Ok(origin),
    )
    .unwrap_err();
    assert_eq!(e, "startime is larger than endtime");
}

/// A pad past `--max-samples` names the bound and the flag (it said ObsPy's "Time offset
/// between starttime and trace.starttime too large", which says neither; issue #23).
#[test]
fn a_pad_past_the_limit_names_it_and_the_flag() {
    let args = |start: f64, end: f64| TrimArgs {
        starttime: Some(Bound::AfterStart(start)),
        endtime: Some(Bound::BeforeEnd(end)),
        pad: true,
        nearest_sample: true,
        fill_value: Some(0.0),
    };
    crate::limits::with_max_samples(100_000, || {
        for a in [args(-1e6, 0.0), args(0.0, -1e6)] {
            let e = cut(400, 0, 20.0, &a, Err("no event")).unwrap_err();
            assert!(
                e.starts_with("padding would hold 20000000 samples, more than the limit of 100000 (--max-samples)"),
                "{e}"
            );
            assert!(e.contains("raise --max-samples"), "{e}");
        }
        assert!(cut(400, 0, 20.0, &args(-10.0, 10.0), Err("no event")).is_ok());
    });
}
