//! Parsing the pipeline file: ObsPy's keywords, defaults, case rules and refusals.

use super::*;

#[test]
fn forum_chain_parses_with_obspy_defaults() {
    let p = Pipeline::parse(
        r#"
[[step]]
op = "detrend"
type = "demean"
[[step]]
op = "taper"
max_percentage = 0.05
[[step]]
op = "remove_response"
output = "DISP"
pre_filt = [0.001, 0.005, 4.9, 5.0]
water_level = 0
zero_mean = false
taper = false
[[step]]
op = "interpolate"
sampling_rate = 10
method = "lanczos"
a = 25
npts = 12000
"#,
    )
    .unwrap();
    assert_eq!(p.steps.len(), 4);
    assert_eq!(
        p.steps[1],
        Step::Taper(ops::Taper {
            max_percentage: Some(0.05),
            kind: Window::Hann,
            max_length: None,
            side: Side::Both,
            args: Default::default(),
        })
    );
    match &p.steps[2] {
        Step::RemoveResponse(ops::RemoveResponse {
            water_level,
            taper_fraction,
            ..
        }) => {
            assert_eq!(*water_level, Some(0.0));
            assert_eq!(*taper_fraction, 0.05);
        }
        s => panic!("{s:?}"),
    }
    assert_eq!(p.warnings.len(), 1, "water_level = 0 warns");
}

fn err(text: &str) -> String {
    Pipeline::parse(text).unwrap_err().to_string()
}

#[test]
fn errors_name_step_and_key() {
    let e = err("[[step]]\nop = \"detrend\"\n[[step]]\nop = \"tapr\"\n");
    assert!(
        e.contains("step 2") && e.contains("tapr") && e.contains("`op`"),
        "{e}"
    );
    let e = err("[[step]]\nop = \"taper\"\nmax_percentage = \"five\"\n");
    assert!(
        e.contains("step 1") && e.contains("max_percentage") && e.contains("number"),
        "{e}"
    );
    let e = err("[[step]]\nop = \"remove_response\"\nwater_lvl = 10\n");
    assert!(e.contains("water_lvl") && e.contains("unknown key"), "{e}");
    let e = err("[[step]]\nop = \"filter\"\ntype = \"bandpass\"\nfreqmin = 2\nfreqmax = 1\n");
    assert!(e.contains("freqmax"), "{e}");
    let e = err("[[step]]\nop = \"interpolate\"\nsampling_rate = 10\nmethod = \"lanczos\"\n");
    assert!(e.contains("`a`"), "{e}");
    let e = err("[[step]]\nop = \"decimate\"\nfactor = 20\n");
    assert!(e.contains("factor"), "{e}");
    let e = err("[[step]]\nop = \"integrate\"\nmethod = \"simpson\"\n");
    assert!(e.contains("method") && e.contains("cumtrapz"), "{e}");
    let e = err("[[step]]\nop = \"integrate\"\nmethod = \"spline\"\nk = 6\n");
    assert!(
        e.contains("`k`") || e.contains("k:") || e.contains("1 to 5"),
        "{e}"
    );
    let e = err("[[step]]\nop = \"integrate\"\nk = 3\n");
    assert!(e.contains("k") && e.contains("unknown key"), "{e}");
    let e = err("[[step]]\nop = \"differentiate\"\nmethod = \"fd\"\n");
    assert!(e.contains("gradient"), "{e}");
    let e = err("[[step]]\nop = \"normalize\"\nnorm = \"max\"\n");
    assert!(e.contains("norm"), "{e}");
    let e = err("[[step]]\nop = \"select\"\nchannel = \"HHZ\"\ncomponent = \"n\"\n");
    assert!(e.contains("mutually exclusive"), "{e}");
    let e = err("[[step]]\nop = \"select\"\ninventory = \"x.xml\"\n");
    assert!(e.contains("unknown key"), "{e}");
    let e = err("[[step]]\nop = \"decimate\"\nfactor = 2\n[[step]]\nop = \"select\"\nnpts = 100\n");
    assert!(
        e.contains("step 2") && e.contains("step 1 (decimate)"),
        "{e}"
    );
    let p = Pipeline::parse(
        "[[step]]\nop = \"select\"\nsampling_rate = 100\nnpts = 12\n[[step]]\nop = \"detrend\"\n",
    )
    .unwrap();
    let Step::Select(s) = &p.steps[0] else {
        panic!("a select step")
    };
    assert_eq!((s.sampling_rate, s.npts), (Some(100.0), Some(12)));
    let p = Pipeline::parse("[[step]]\nop = \"select\"\nstation = \"fu?\"\n").unwrap();
    let Step::Select(s) = &p.steps[0] else {
        panic!("a select step")
    };
    assert_eq!(s.station.as_deref(), Some("FU?"), "upper-cased, as ObsPy");
    for (bad, why) in [
        ("starttime = \"origin*60\"", "origin+S"),
        ("starttime = \"start*3\"", "start+S"),
        ("endtime = \"end-1e400\"", "start+S"),
        ("endtime = \"2014-13-01T00:00:00\"", "ISO 8601"),
        ("pad = true", "fill_value"),
    ] {
        let e = err(&format!("[[step]]\nop = \"trim\"\n{bad}\n"));
        assert!(e.contains(why), "{bad}: {e}");
    }
    let p = Pipeline::parse(
        "[[step]]\nop = \"trim\"\nstarttime = \"start-2.5\"\nendtime = \"end-1\"\n\
         [[step]]\nop = \"trim\"\nstarttime = \"2014-01-01T00:00:10Z\"\nendtime = \"end+3\"\n\
         pad = true\nfill_value = 0\nnearest_sample = false\n\
         [[step]]\nop = \"trim\"\nstarttime = \"origin-30\"\nendtime = \"origin+ 900.5\"\n",
    )
    .unwrap();
    use crate::ops::trim::{Bound, TrimArgs};
    assert_eq!(
        p.steps[0],
        Step::Trim(TrimArgs {
            starttime: Some(Bound::AfterStart(-2.5)),
            endtime: Some(Bound::BeforeEnd(1.0)),
            pad: false,
            nearest_sample: true,
            fill_value: None,
        })
    );
    assert_eq!(
        p.steps[1],
        Step::Trim(TrimArgs {
            starttime: Some(Bound::At(1_388_534_410_000_000_000)),
            endtime: Some(Bound::BeforeEnd(-3.0)),
            pad: true,
            nearest_sample: false,
            fill_value: Some(0.0),
        })
    );
    let Step::Trim(t) = &p.steps[2] else {
        panic!("a trim step")
    };
    assert_eq!(
        (t.starttime, t.endtime),
        (
            Some(Bound::AfterOrigin(-30.0)),
            Some(Bound::AfterOrigin(900.5))
        )
    );
    // ObsPy's names, its defaults, its case rules and its warnings.
    let p = Pipeline::parse(
        "[[step]]\nop = \"integrate\"\nmethod = \"CUMTRAPZ\"\n[[step]]\nop = \"differentiate\"\n\
         [[step]]\nop = \"normalize\"\nnorm = -3\n[[step]]\nop = \"normalize\"\nnorm = 0\n",
    )
    .unwrap();
    assert_eq!(
        p.steps[0],
        Step::Integrate(ops::Integrate {
            method: "cumtrapz".into(),
            k: None,
        })
    );
    assert_eq!(
        p.steps[1],
        Step::Differentiate(ops::Differentiate {
            method: "gradient".into()
        })
    );
    assert_eq!(
        p.steps[2],
        Step::Normalize(ops::Normalize { norm: Some(-3.0) })
    );
    assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
    assert!(p.warnings[0].contains("step 3") && p.warnings[0].contains("negative"));
    assert!(p.warnings[1].contains("step 4") && p.warnings[1].contains("zero"));
    assert!(err("").contains("no [[step]]"));
}

fn water_level(text: &str) -> Option<f64> {
    match &Pipeline::parse(text).unwrap().steps[0] {
        Step::RemoveResponse(ops::RemoveResponse { water_level, .. }) => *water_level,
        s => panic!("{s:?}"),
    }
}

/// A literal port of `tr.remove_response(inv)` must get ObsPy's default water level.
#[test]
fn omitted_water_level_is_obspys_60_and_false_is_none() {
    let rr = "[[step]]\nop = \"remove_response\"\n";
    assert_eq!(water_level(rr), Some(60.0));
    assert_eq!(water_level(&format!("{rr}water_level = false\n")), None);
    assert_eq!(water_level(&format!("{rr}water_level = 30\n")), Some(30.0));
    let e = err(&format!("{rr}water_level = true\n"));
    assert!(e.contains("water_level") && e.contains("false"), "{e}");
    let e = err(&format!("{rr}water_level = \"none\"\n"));
    assert!(e.contains("water_level"), "{e}");
}

/// ObsPy lower-cases these strings, so "Bandpass" is a bandpass there and here; scipy's
/// window names (resample) are case-sensitive there and here.
#[test]
fn strings_follow_obspys_case_rules() {
    let p = Pipeline::parse(
        "[[step]]\nop = \"filter\"\ntype = \"Bandpass\"\nfreqmin = 1\nfreqmax = 2\n\
         [[step]]\nop = \"taper\"\nmax_percentage = 0.1\ntype = \"HANN\"\nside = \"Left\"\n\
         [[step]]\nop = \"interpolate\"\nsampling_rate = 1\nmethod = \"Lanczos\"\na = 2\nwindow = \"Lanczos\"\n\
         [[step]]\nop = \"detrend\"\ntype = \"Linear\"\n\
         [[step]]\nop = \"remove_response\"\noutput = \"disp\"\n",
    )
    .unwrap();
    assert!(matches!(
        p.steps[0],
        Step::Filter(ops::Filter {
            kind: FilterType::Bandpass,
            ..
        })
    ));
    assert!(matches!(
        p.steps[1],
        Step::Taper(ops::Taper {
            side: Side::Left,
            ..
        })
    ));
    assert!(matches!(
        p.steps[2],
        Step::Interpolate(ops::Interpolate {
            method: InterpMethod::Lanczos,
            ..
        })
    ));
    assert!(matches!(
        p.steps[3],
        Step::Detrend(ops::Detrend {
            kind: DetrendType::Linear
        })
    ));
    assert!(matches!(
        p.steps[4],
        Step::RemoveResponse(ops::RemoveResponse {
            output: Output::Disp,
            ..
        })
    ));
    let e = err("[[step]]\nop = \"resample\"\nsampling_rate = 5\nwindow = \"Hann\"\n");
    assert!(e.contains("window"), "{e}");
}

/// Rates, start times and shifts that times in nanoseconds cannot carry are refused
/// before any data is read.
#[test]
fn unrepresentable_rates_and_times_are_configuration_errors() {
    for (text, key) in [
        ("op = \"resample\"\nsampling_rate = 1e300", "sampling_rate"),
        ("op = \"interpolate\"\nsampling_rate = 2e9", "sampling_rate"),
        (
            "op = \"interpolate\"\nsampling_rate = 1\ntime_shift = 1e308",
            "time_shift",
        ),
        (
            "op = \"interpolate\"\nsampling_rate = 1\nstarttime = \"2300-01-01T00:00:00\"",
            "starttime",
        ),
    ] {
        let e = err(&format!("[[step]]\n{text}\n"));
        assert!(e.contains(key), "{text}: {e}");
    }
}

/// Issue #24's operations: ObsPy's keywords, its defaults (none for the fits' orders),
/// and its refusals, before any data.
#[test]
fn detrend_fits_and_the_chebyshev_lowpass_take_obspys_keywords() {
    let p = Pipeline::parse(
        "[[step]]\nop = \"detrend\"\ntype = \"Polynomial\"\norder = 3\n\
         [[step]]\nop = \"detrend\"\ntype = \"spline\"\norder = 2\ndspline = 1000\n\
         [[step]]\nop = \"filter\"\ntype = \"lowpass_cheby_2\"\nfreq = 2\n\
         [[step]]\nop = \"filter\"\ntype = \"LOWPASS_CHEBY_2\"\nfreq = 2\nmaxorder = 8\n\
         ba = false\nfreq_passband = false\n",
    )
    .unwrap();
    assert_eq!(
        p.steps[0],
        Step::Detrend(ops::Detrend {
            kind: DetrendType::Polynomial { order: 3 }
        })
    );
    assert_eq!(
        p.steps[1],
        Step::Detrend(ops::Detrend {
            kind: DetrendType::Spline {
                order: 2,
                dspline: 1000
            }
        })
    );
    let Step::Filter(f) = &p.steps[2] else {
        panic!("{:?}", p.steps[2])
    };
    assert_eq!(
        (f.kind, f.freq, f.corners),
        (FilterType::LowpassCheby2, Some(2.0), 12)
    );
    let Step::Filter(f) = &p.steps[3] else {
        panic!("{:?}", p.steps[3])
    };
    assert_eq!(f.corners, 8, "maxorder");
    // Serialised with ObsPy's keywords.
    let j = serde_json::to_value(&p.steps[1]).unwrap();
    assert_eq!(
        j,
        serde_json::json!({"op": "detrend", "type": "spline", "order": 2, "dspline": 1000})
    );
    let j = serde_json::to_value(&p.steps[2]).unwrap();
    assert_eq!(j["type"], "lowpass_cheby_2");
    for (keys, needles) in [
        ("type = \"polynomial\"\n", &["order", "required"][..]),
        ("type = \"polynomial\"\norder = 31\n", &["order", "30"][..]),
        (
            "type = \"spline\"\norder = 6\ndspline = 10\n",
            &["order", "1 to 5"][..],
        ),
        (
            "type = \"spline\"\norder = 2\n",
            &["dspline", "required"][..],
        ),
        (
            "type = \"spline\"\norder = 2\ndspline = 0\n",
            &["dspline", ">= 1"][..],
        ),
        (
            "type = \"linear\"\norder = 2\n",
            &["order", "unknown key"][..],
        ),
    ] {
        let e = err(&format!("[[step]]\nop = \"detrend\"\n{keys}"));
        for n in needles {
            assert!(e.contains(n), "{keys}: `{n}` not in {e}");
        }
    }
    for (keys, needles) in [
        ("freq = 2\ncorners = 4\n", &["corners", "unknown key"][..]),
        (
            "freq = 2\nzerophase = true\n",
            &["zerophase", "unknown key"][..],
        ),
        ("freq = 2\nba = true\n", &["ba", "only false"][..]),
        (
            "freq = 2\nfreq_passband = true\n",
            &["freq_passband", "only false"][..],
        ),
        ("freq = 2\nmaxorder = 0\n", &["maxorder", "1..=32"][..]),
        ("maxorder = 4\n", &["freq", "required"][..]),
    ] {
        let e = err(&format!(
            "[[step]]\nop = \"filter\"\ntype = \"lowpass_cheby_2\"\n{keys}"
        ));
        for n in needles {
            assert!(e.contains(n), "{keys}: `{n}` not in {e}");
        }
    }
    // Butterworth filters do not take maxorder.
    let e = err("[[step]]\nop = \"filter\"\ntype = \"lowpass\"\nfreq = 2\nmaxorder = 4\n");
    assert!(e.contains("maxorder") && e.contains("unknown key"), "{e}");
}

/// Every window ObsPy's taper names; the parameterised ones need scipy's parameter (no
/// default there), under scipy's name, and only theirs.
#[test]
fn taper_windows_take_scipys_parameters() {
    let p = Pipeline::parse(
        "[[step]]\nop = \"taper\"\nmax_percentage = 0.1\ntype = \"kaiser\"\nbeta = 14\n\
         [[step]]\nop = \"taper\"\nmax_percentage = 0.1\ntype = \"dpss\"\nNW = 2.5\n\
         [[step]]\nop = \"taper\"\nmax_percentage = 0.1\ntype = \"chebwin\"\nat = 30\n",
    )
    .unwrap();
    let Step::Taper(t) = &p.steps[0] else {
        panic!()
    };
    assert_eq!((t.kind, t.args.beta), (Window::Kaiser, Some(14.0)));
    let j = serde_json::to_value(&p.steps[1]).unwrap();
    assert_eq!(
        (j["type"].clone(), j["NW"].clone()),
        ("dpss".into(), 2.5.into())
    );
    assert!(p.warnings[0].contains("45dB"), "{:?}", p.warnings);
    for (keys, needles) in [
        ("type = \"kaiser\"\n", &["beta", "required"][..]),
        (
            "type = \"general_gaussian\"\np = 1.5\n",
            &["sig", "required"][..],
        ),
        ("type = \"gaussian\"\nstd = 0\n", &["std", "> 0"][..]),
        ("type = \"dpss\"\nNW = 0\n", &["NW", "positive"][..]),
        ("type = \"hann\"\nbeta = 3\n", &["beta", "unknown key"][..]),
        ("type = \"dpss\"\nnw = 3\n", &["NW", "required"][..]),
        ("type = \"slepian\"\n", &["unknown window", "dpss"][..]),
    ] {
        let e = err(&format!(
            "[[step]]\nop = \"taper\"\nmax_percentage = 0.1\n{keys}"
        ));
        for n in needles {
            assert!(e.contains(n), "{keys}: `{n}` not in {e}");
        }
    }
    // resample's get_window takes a bare name only for windows without parameters.
    assert!(Pipeline::parse(
        "[[step]]\nop = \"resample\"\nsampling_rate = 5\nwindow = \"parzen\"\n"
    )
    .is_ok());
    let e = err("[[step]]\nop = \"resample\"\nsampling_rate = 5\nwindow = \"kaiser\"\n");
    assert!(e.contains("window"), "{e}");
}

/// simulate: ObsPy's keywords and defaults, PAZ tables checked before any data.
#[test]
fn simulate_takes_obspys_keywords_and_checks_its_paz_tables() {
    let sts2 = "{ poles = [[-0.037004, 0.037016], [-0.037004, -0.037016], -251.33], \
                zeros = [[0, 0], [0, 0]], gain = 60077000.0, sensitivity = 2516778400.0 }";
    let p = Pipeline::parse(&format!(
        "[[step]]\nop = \"simulate\"\npaz_remove = {sts2}\n"
    ))
    .unwrap();
    let Step::Simulate(s) = &p.steps[0] else {
        panic!("{:?}", p.steps[0])
    };
    let paz = s.paz_remove.as_ref().unwrap();
    assert_eq!(
        paz.poles[2],
        [-251.33, 0.0],
        "a real root as a plain number"
    );
    assert_eq!(
        (
            s.water_level,
            s.zero_mean,
            s.taper,
            s.taper_fraction,
            s.pitsasim,
            s.sacsim,
            s.shsim
        ),
        (600.0, true, true, 0.05, true, false, false),
        "ObsPy's defaults"
    );
    assert!(s.remove_sensitivity && s.simulate_sensitivity && !s.nfft_pow2);
    for (keys, needles) in [
        ("", &["Neither inverse nor forward"][..]),
        ("paz_remove = \"self\"\n", &["paz_remove", "self"][..]),
        (
            "paz_remove = { poles = [], zeros = [], gain = 1.0 }\n",
            &["sensitivity", "required"][..],
        ),
        (
            "paz_remove = { poles = [], zeros = [], gain = 1.0 }\nremove_sensitivity = false\n",
            &[][..],
        ),
        ("paz_simulate = { poles = [], gain = 1.0, sensitivity = 1 }\n", &["zeros"][..]),
        (
            "paz_simulate = { poles = [], zeros = [], sensitivity = 1 }\n",
            &["gain", "Missing key"][..],
        ),
        (
            "paz_simulate = { poles = [[1, 2, 3]], zeros = [], gain = 1, sensitivity = 1 }\n",
            &["poles"][..],
        ),
        (
            "paz_simulate = { poles = [], zeros = [], gain = 1, sensitivity = -2 }\n",
            &["sensitivity", "> 0"][..],
        ),
        (
            "paz_simulate = { poles = [], zeros = [], gain = 1, sensitivity = 1, A0 = 3 }\n",
            &["A0"][..],
        ),
        (
            "paz_simulate = { poles = [], zeros = [], gain = 1, sensitivity = 1 }\npre_filt = [4, 3, 2, 1]\n",
            &["pre_filt"][..],
        ),
        (
            "paz_simulate = { poles = [], zeros = [], gain = 1, sensitivity = 1 }\nseedresp = \"x\"\n",
            &["seedresp"][..],
        ),
    ] {
        let r = Pipeline::parse(&format!("[[step]]\nop = \"simulate\"\n{keys}"));
        if needles.is_empty() {
            assert!(r.is_ok(), "{keys}: {r:?}");
            continue;
        }
        let e = r.unwrap_err().to_string();
        for n in needles {
            assert!(e.contains(n), "{keys}: `{n}` not in {e}");
        }
    }
}

#[test]
fn merge_comes_first_and_split_follows_it() {
    let merge = "[[step]]\nop = \"merge\"\n";
    let split = "[[step]]\nop = \"split\"\n";
    let demean = "[[step]]\nop = \"detrend\"\ntype = \"demean\"\n";
    let select = "[[step]]\nop = \"select\"\nchannel = \"HH?\"\n";
    // merge + split, after a select: fine.
    let p = Pipeline::parse(&format!("{select}{merge}{split}{demean}")).unwrap();
    assert_eq!(p.merge().unwrap().method, 0);
    assert!(Pipeline::parse(&format!("{merge}fill_value = \"interpolate\"\n{demean}")).is_ok());
    assert!(Pipeline::parse(&format!("{merge}method = -1\n{demean}")).is_ok());
    for (text, says) in [
        (
            format!("{demean}{merge}{split}"),
            "merge after step 1 (detrend)",
        ),
        (format!("{split}{demean}"), "split cuts the masked gaps"),
        (format!("{merge}{demean}"), "without a fill_value"),
        (format!("{merge}method = 2\n{split}"), "expected -1, 0 or 1"),
        (
            format!("{merge}fill_value = \"mean\"\n"),
            "\"interpolate\" or \"latest\"",
        ),
        (
            format!("{merge}method = -1\nfill_value = 0\n"),
            "takes no fill_value",
        ),
        (
            format!("{merge}method = 1\ninterpolation_samples = -2\n{split}"),
            "expected -1 or",
        ),
    ] {
        let e = err(&text);
        assert!(e.contains(says), "{text}: {e}");
    }
}
