//! A pipeline with `rotate` steps: the per-trace steps on either side of each rotate run as
//! their own plans through ordinary executors (CPU or GPU, batched as any other run), and
//! each rotate works on the host between them, on a station's components together (ObsPy's
//! `Stream.rotate` grouping: the event folder, NET.STA.LOC and the channel code without its
//! component letter). The engine hands over a station's files in one call (`engine::work`).

use std::collections::HashMap;

use super::{Executor, Outcome, Sources};
use crate::error::TraceError;
use crate::inventory::ResponseSource;
use crate::ops::rotate::{self, Geometry, RotateArgs};
use crate::pipeline::Step;
use crate::trace::Trace;

/// The per-trace steps between two rotates (or the ends), and where they start in the
/// pipeline (for "step N" in reasons).
pub struct Segment<'a> {
    pub exec: Box<dyn Executor + Send + 'a>,
    pub first_step: usize,
}

/// The step ranges a pipeline splits into at its rotates, and the rotates with their step
/// index (each sits between the range before it and the one after).
pub fn split(steps: &[Step]) -> (Vec<std::ops::Range<usize>>, Vec<(usize, RotateArgs)>) {
    let (mut ranges, mut rotates, mut from) = (Vec::new(), Vec::new(), 0);
    for (i, s) in steps.iter().enumerate() {
        if let Step::Rotate(a) = s {
            ranges.push(from..i);
            rotates.push((i, a.clone()));
            from = i + 1;
        }
    }
    ranges.push(from..steps.len());
    (ranges, rotates)
}

/// The input folder and ObsPy's grouping key (`rotate::group_key`).
type GroupKey = (usize, (String, String, String, String));

/// A pipeline's per-trace segments, each planned on its own, and its rotates (no rotates:
/// one segment, the whole pipeline).
pub struct Segments {
    pub planned: Vec<(std::ops::Range<usize>, crate::plan::Planner)>,
    pub rotates: Vec<(usize, RotateArgs)>,
}

impl Segments {
    /// `holds`: the type the outputs are written in; the segments before the last hand their
    /// samples on in f64 (only NaN and Inf stop a trace there).
    pub fn of(steps: &[Step], holds: crate::trace::Holds) -> Segments {
        let (ranges, rotates) = split(steps);
        let last = ranges.len() - 1;
        let planned = ranges
            .into_iter()
            .enumerate()
            .map(|(k, r)| {
                let h = if k == last {
                    holds
                } else {
                    crate::trace::Holds::F64
                };
                let p = crate::plan::Planner::new(&steps[r.clone()]).holding(h);
                (r, p)
            })
            .collect();
        Segments { planned, rotates }
    }

    /// The planners of the segments that have steps, in order.
    pub fn planners(&self) -> impl Iterator<Item = &crate::plan::Planner> {
        self.planned
            .iter()
            .filter(|(r, _)| !r.is_empty())
            .map(|(_, p)| p)
    }

    /// The executor of a rotate pipeline: each segment through the executor `exec` makes for
    /// its planner.
    pub fn grouped<'e>(
        &'e self,
        mut exec: impl FnMut(&'e crate::plan::Planner) -> Box<dyn Executor + Send + 'e>,
    ) -> Grouped<'e> {
        Grouped {
            segments: self
                .planned
                .iter()
                .map(|(r, p)| {
                    (!r.is_empty()).then(|| Segment {
                        exec: exec(p),
                        first_step: r.start,
                    })
                })
                .collect(),
            rotates: self.rotates.clone(),
        }
    }
}

pub struct Grouped<'a> {
    /// One per range of `split` (an empty range runs nothing).
    pub segments: Vec<Option<Segment<'a>>>,
    pub rotates: Vec<(usize, RotateArgs)>,
}

/// A group's geometry from its traces' source: the back-azimuth from the event to the first
/// trace's station (ObsPy's `gps2dist_azimuth(evla, evlo, stla, stlo)[2]`), orientations
/// from each channel epoch.
struct Geo<'s> {
    source: &'s dyn ResponseSource,
    back_az: Result<f64, String>,
}

impl Geometry for Geo<'_> {
    fn back_azimuth(&self) -> Result<f64, String> {
        self.back_az.clone()
    }

    fn orientation(&self, tr: &Trace) -> Result<(f64, f64), String> {
        match self.source.coordinates(tr) {
            Some(c) => match (c.azimuth, c.dip) {
                (Some(a), Some(d)) => Ok((a, d)),
                _ => Err(format!(
                    "->ZNE: the channel epoch of {} has no Azimuth and Dip",
                    tr.id()
                )),
            },
            None => Err(format!(
                "->ZNE: no StationXML channel epoch for {} at {}",
                tr.id(),
                crate::time::iso(tr.start_ns)
            )),
        }
    }
}

/// The back-azimuth of a group from its event and its first trace's station, or why not.
pub fn back_azimuth(source: &dyn ResponseSource, tr: &Trace) -> Result<f64, String> {
    let ev = source
        .event()
        .map_err(|why| format!("no back_azimuth given and no event to compute it: {why}"))?;
    let c = source.coordinates(tr).ok_or_else(|| {
        format!(
            "no back_azimuth given and no station coordinates for {} at {} to compute it",
            tr.id(),
            crate::time::iso(tr.start_ns)
        )
    })?;
    ev.back_azimuth_at(c.latitude, c.longitude).ok_or_else(|| {
        format!(
            "no back-azimuth from the event ({}, {}) to {} ({}, {}): a coordinate out of range",
            ev.latitude,
            ev.longitude,
            tr.id(),
            c.latitude,
            c.longitude
        )
    })
}

fn renumber(e: TraceError, first_step: usize) -> TraceError {
    match e {
        TraceError::Op { step, op, message } => TraceError::Op {
            step: step + first_step,
            op,
            message,
        },
        e => e,
    }
}

impl Executor for Grouped<'_> {
    fn process(&mut self, traces: Vec<Trace>, sources: &Sources) -> Vec<Outcome> {
        let n = traces.len();
        let mut done: Vec<Option<Outcome>> = (0..n).map(|_| None).collect();
        // (input index, trace, warnings so far)
        let mut live: Vec<(usize, Trace, Vec<String>)> = traces
            .into_iter()
            .enumerate()
            .map(|(i, t)| (i, t, Vec::new()))
            .collect();
        for (k, seg) in self.segments.iter_mut().enumerate() {
            if let Some(seg) = seg {
                let (mut idx, mut ts, mut ws) = (Vec::new(), Vec::new(), Vec::new());
                for (i, t, w) in live {
                    idx.push(i);
                    ts.push(t);
                    ws.push(w);
                }
                let srcs: Vec<&dyn ResponseSource> = idx.iter().map(|&i| sources[i]).collect();
                let outs = seg.exec.process(ts, &srcs);
                live = Vec::with_capacity(idx.len());
                for ((i, mut w), o) in idx.into_iter().zip(ws).zip(outs) {
                    match o {
                        Ok((t, more)) => {
                            w.extend(more);
                            live.push((i, t, w));
                        }
                        Err(e) => done[i] = Some(Err(renumber(e, seg.first_step))),
                    }
                }
            }
            let Some((at, args)) = self.rotates.get(k) else {
                continue;
            };
            // Groups in input order, per source folder (never across event folders).
            let mut groups: HashMap<GroupKey, Vec<usize>> = HashMap::new();
            let mut order = Vec::new();
            for (j, (i, t, _)) in live.iter().enumerate() {
                let folder = sources[*i].folder();
                let key = (folder, rotate::group_key(t));
                groups
                    .entry(key.clone())
                    .or_insert_with(|| {
                        order.push(key);
                        Vec::new()
                    })
                    .push(j);
            }
            let mut failed = vec![None; live.len()];
            for key in order {
                let members = &groups[&key];
                let first = live[members[0]].0;
                let geo = Geo {
                    source: sources[first],
                    back_az: match args.back_azimuth {
                        Some(b) => Ok(b),
                        None if args.method.needs_back_azimuth() => {
                            back_azimuth(sources[first], &live[members[0]].1)
                        }
                        None => Err(String::new()),
                    },
                };
                // Members are in increasing order: one pass picks them out (a `contains` per
                // trace made this quadratic in a call's traces).
                let mut wanted = members.iter().peekable();
                let mut refs: Vec<&mut Trace> = Vec::with_capacity(members.len());
                for (j, (_, t, _)) in live.iter_mut().enumerate() {
                    if wanted.peek() == Some(&&j) {
                        wanted.next();
                        refs.push(t);
                    }
                }
                let why = rotate::rotate_station(args, &mut refs, &geo);
                for (&j, w) in members.iter().zip(why) {
                    if w.is_some() {
                        failed[j] = w;
                    }
                }
            }
            let mut kept = Vec::with_capacity(live.len());
            for ((i, t, w), f) in live.into_iter().zip(failed) {
                match f {
                    Some(message) => {
                        done[i] = Some(Err(TraceError::Op {
                            step: at + 1,
                            op: "rotate".into(),
                            message,
                        }))
                    }
                    None => kept.push((i, t, w)),
                }
            }
            live = kept;
        }
        for (i, t, w) in live {
            done[i] = Some(Ok((t, w)));
        }
        done.into_iter()
            .map(|o| o.unwrap_or_else(|| Err(TraceError::Write("internal: no outcome".into()))))
            .collect()
    }
}
