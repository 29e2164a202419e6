//! Requests as windows: `--window START/END` (ISO times), `--segment LENGTH --step STEP
//! [--start T --end T]` (fixed windows), `--events FILE --window origin-S/origin+S` (one per
//! event). Each window has a label, its output folder (escaped: a label from an events file
//! never names a path outside OUTPUT).

use crate::events::Events;

/// One window: [start, end], both ends included as ObsPy's `trim` includes them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Window {
    pub label: String,
    pub start_ns: i64,
    pub end_ns: i64,
    /// The event's folder name, for an event window (its origin for `origin+S` trims).
    pub event: Option<String>,
}

/// What a run asks for, before the archive's extent is known.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Request {
    /// `--window START/END`, absolute.
    Fixed { start_ns: i64, end_ns: i64 },
    /// `--window origin-A/origin+B` with `--events`: seconds from each origin.
    AroundEvents { before_s: f64, after_s: f64 },
    /// `--segment LENGTH --step STEP [--start --end]` (seconds; None: the archive's extent).
    Segments {
        length_s: f64,
        step_s: f64,
        start_ns: Option<i64>,
        end_ns: Option<i64>,
    },
}

/// Most windows one run may ask for (a year of NoisePy's 30-minute windows every 450 s is
/// 70,080; a million is a year of 32-second ones). Each is ~100 bytes before any data is read.
pub const MAX_WINDOWS: usize = 1_000_000;

impl Request {
    /// `--window` text: `START/END` as ISO times, or `origin-S/origin+S`.
    pub fn parse_window(text: &str) -> Result<Request, String> {
        let (a, b) = text.split_once('/').ok_or_else(|| {
            format!("--window `{text}`: expected START/END (ISO times, or origin-S/origin+S with --events)")
        })?;
        let rel = |s: &str| -> Option<Result<f64, String>> {
            let rest = s.trim().strip_prefix("origin")?;
            let v = rest.trim().parse::<f64>().map_err(|_| {
                format!("--window `{text}`: `{s}` is not origin+S or origin-S (seconds)")
            });
            Some(v.and_then(|v| {
                if v.is_finite() && v.abs() <= 1e7 {
                    Ok(v)
                } else {
                    Err(format!(
                        "--window `{text}`: `{s}`: at most 1e7 s from the origin"
                    ))
                }
            }))
        };
        match (rel(a), rel(b)) {
            (Some(x), Some(y)) => {
                let (x, y) = (x?, y?);
                if x >= y {
                    return Err(format!(
                        "--window `{text}`: the end must come after the start"
                    ));
                }
                Ok(Request::AroundEvents {
                    before_s: x,
                    after_s: y,
                })
            }
            (None, None) => {
                let t = |s: &str| {
                    crate::limits::parse_time(s.trim())
                        .map_err(|e| format!("--window `{text}`: {e}"))
                };
                let (s, e) = (t(a)?, t(b)?);
                if s >= e {
                    return Err(format!(
                        "--window `{text}`: the end must come after the start"
                    ));
                }
                Ok(Request::Fixed {
                    start_ns: s,
                    end_ns: e,
                })
            }
            _ => Err(format!(
                "--window `{text}`: both ends absolute, or both relative to the origin"
            )),
        }
    }

    /// `--segment`, `--step`, `--start`, `--end`.
    pub fn segments(
        length_s: f64,
        step_s: Option<f64>,
        start: Option<&str>,
        end: Option<&str>,
    ) -> Result<Request, String> {
        let step_s = step_s.unwrap_or(length_s);
        for (v, what) in [(length_s, "--segment"), (step_s, "--step")] {
            if !(v.is_finite() && v > 0.0 && v <= 366.0 * 86400.0) {
                return Err(format!(
                    "{what} must be seconds > 0 and at most a year, got {v}"
                ));
            }
        }
        let t = |s: Option<&str>, what: &str| {
            s.map(|s| crate::limits::parse_time(s.trim()).map_err(|e| format!("{what}: {e}")))
                .transpose()
        };
        let (start_ns, end_ns) = (t(start, "--start")?, t(end, "--end")?);
        if let (Some(a), Some(b)) = (start_ns, end_ns) {
            if a >= b {
                return Err("--end must come after --start".into());
            }
        }
        Ok(Request::Segments {
            length_s,
            step_s,
            start_ns,
            end_ns,
        })
    }

    /// The windows, in time order; `extent` is the archive's first and last sample times
    /// (for segments without --start/--end). Too many windows is an error, not a loop.
    /// The first and last instant the windows can touch, when the request alone says
    /// (before any index): what an object-store listing may be narrowed to.
    pub fn span(&self, events: Option<&Events>) -> Option<(i64, i64)> {
        match *self {
            Request::Fixed { start_ns, end_ns } => Some((start_ns, end_ns)),
            Request::Segments {
                start_ns: Some(a),
                end_ns: Some(b),
                length_s,
                ..
            } => Some((a, crate::time::add_seconds(b, length_s))),
            Request::Segments { .. } => None,
            Request::AroundEvents { .. } => {
                let w = self.windows(events, None).ok()?;
                let a = w.iter().map(|w| w.start_ns).min()?;
                let b = w.iter().map(|w| w.end_ns).max()?;
                Some((a, b))
            }
        }
    }

    pub fn windows(
        &self,
        events: Option<&Events>,
        extent: Option<(i64, i64)>,
    ) -> Result<Vec<Window>, String> {
        match *self {
            Request::Fixed { start_ns, end_ns } => Ok(vec![Window {
                label: label(start_ns, end_ns),
                start_ns,
                end_ns,
                event: None,
            }]),
            Request::AroundEvents { before_s, after_s } => {
                let events = events.ok_or(
                    "--window origin-S/origin+S needs --events FILE (the origins)".to_string(),
                )?;
                if events.len() > MAX_WINDOWS {
                    return Err(format!(
                        "--events names {} events, more than the {MAX_WINDOWS} windows a run may ask for",
                        events.len()
                    ));
                }
                let mut out: Vec<Window> = Vec::with_capacity(events.len());
                for (name, e) in events.iter() {
                    // The label is the output folder: never empty, never `.` or `..`
                    // (escaping keeps only [A-Za-z0-9-]).
                    if name.is_empty() {
                        return Err("--events: an event without a folder name cannot name its window's folder".into());
                    }
                    out.push(Window {
                        label: crate::escape::escape(name),
                        start_ns: crate::time::add_seconds(e.time_ns, before_s),
                        end_ns: crate::time::add_seconds(e.time_ns, after_s),
                        event: Some(name.clone()),
                    });
                }
                out.sort_by(|a, b| (a.start_ns, &a.label).cmp(&(b.start_ns, &b.label)));
                Ok(out)
            }
            Request::Segments {
                length_s,
                step_s,
                start_ns,
                end_ns,
            } => {
                // Without --start: from the first data's UTC midnight (days and hours line
                // up with the calendar, as NoisePy's and ObsPy's day windows do).
                let first = start_ns.or(extent.map(|(a, _)| a.div_euclid(DAY_NS) * DAY_NS));
                let last = end_ns.or(extent.map(|(_, b)| b));
                let (Some(first), Some(last)) = (first, last) else {
                    return Ok(Vec::new());
                };
                let n = ((last - first) as f64 / (step_s * 1e9)).ceil().max(0.0);
                if n > MAX_WINDOWS as f64 {
                    return Err(format!(
                        "--segment {length_s} --step {step_s} gives {n} windows, more than {MAX_WINDOWS}; narrow --start/--end"
                    ));
                }
                let mut out = Vec::new();
                for i in 0..n as usize {
                    let s = crate::time::add_seconds(first, i as f64 * step_s);
                    if s >= last {
                        break;
                    }
                    let e = crate::time::add_seconds(s, length_s);
                    out.push(Window {
                        label: label(s, e),
                        start_ns: s,
                        end_ns: e,
                        event: None,
                    });
                }
                Ok(out)
            }
        }
    }
}

const DAY_NS: i64 = 86_400_000_000_000;

/// `START__END` as MassDownloader writes times (`20200101T234000Z`), ns digits added when
/// the window does not start or end on a whole second.
pub fn label(start_ns: i64, end_ns: i64) -> String {
    let t = |ns: i64| {
        let frac = ns.rem_euclid(1_000_000_000);
        let s = crate::time::compact(ns);
        if frac == 0 {
            s
        } else {
            format!("{}.{frac:09}Z", s.trim_end_matches('Z'))
        }
    };
    format!("{}__{}", t(start_ns), t(end_ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_from_text() {
        let w = Request::parse_window("2020-01-01T23:40:00/2020-01-02T00:40:00").unwrap();
        let ws = w.windows(None, None).unwrap();
        assert_eq!(ws[0].label, "20200101T234000Z__20200102T004000Z");
        assert_eq!(ws[0].end_ns - ws[0].start_ns, 3_600_000_000_000);
        let e = Request::parse_window("origin-60/origin+900").unwrap();
        assert_eq!(
            e,
            Request::AroundEvents {
                before_s: -60.0,
                after_s: 900.0
            }
        );
        assert!(e.windows(None, None).unwrap_err().contains("--events"));
        for bad in [
            "2020-01-01",
            "2020-01-02/2020-01-01",
            "origin+5/origin-5",
            "origin-1/2020-01-01",
            "origin+x/origin+2",
            "origin-1e300/origin+1",
        ] {
            assert!(Request::parse_window(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn segments_cover_the_extent_from_midnight() {
        let r = Request::segments(3600.0, Some(1800.0), None, None).unwrap();
        let day = 18262 * DAY_NS; // 2020-01-01
        let ws = r
            .windows(
                None,
                Some((day + 600_000_000_000, day + 3 * 3_600_000_000_000)),
            )
            .unwrap();
        assert_eq!(ws.len(), 6, "{ws:?}");
        assert_eq!(ws[0].start_ns, day);
        assert_eq!(ws[1].start_ns, day + 1_800_000_000_000);
        assert_eq!(
            ws[5].end_ns,
            day + 3 * 3_600_000_000_000 + 1_800_000_000_000
        );
        assert!(Request::segments(0.0, None, None, None).is_err());
        assert!(Request::segments(f64::NAN, None, None, None).is_err());
        let many = Request::segments(0.001, None, Some("2000-01-01"), Some("2020-01-01")).unwrap();
        assert!(many.windows(None, None).unwrap_err().contains("more than"));
    }
}
