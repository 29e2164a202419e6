//! `seisbatch qc`: index (or read the catalog of) an archive or a run's output folder, compute
//! every channel's metrics and PPSD, draw the pictures, and write the report folder:
//! report.html (self-contained), metrics.csv / metrics.json, availability*.png|svg,
//! failures.png|svg, ppsd/NET.STA.LOC.CHA.png|svg|json. Files are written atomically, never
//! through a link, and only into a folder that is new, empty or an earlier report's.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::channel::ChannelQc;
use super::html;
use super::plot::{self, availability::Row, Picture};
use crate::archive::index::Index;
use crate::inventory::{Inventories, XmlCache};

/// Marks a folder as a report's (a later `qc` may write into it again).
pub const MARKER: &str = ".seisbatch-qc";
/// Channels per availability picture.
const ROWS_PER_PICTURE: usize = 40;
/// Availability pictures at most (the rest of the channels are in the metrics files).
const MAX_AVAILABILITY_PICTURES: usize = 25;
/// PPSD pictures written at most, and shown inline in the page at most (each ~100 kB).
const MAX_PPSD_PICTURES: usize = 2000;
const MAX_PPSD_INLINE: usize = 100;
/// Reasons listed, and examples per reason.
const MAX_REASONS: usize = 30;
const EXAMPLES: usize = 5;

#[derive(Debug, Clone, Default)]
pub struct Config {
    /// An archive folder, or a run's output folder (its report.json is read for failures).
    pub input: PathBuf,
    pub output: PathBuf,
    pub inventory: Vec<PathBuf>,
    /// Use this catalog (seisbatch index) instead of reading the headers again.
    pub catalog: Option<PathBuf>,
    /// [start, end) ns; None: all.
    pub span: (Option<i64>, Option<i64>),
    /// A run's report.json (default: INPUT/report.json when there is one).
    pub run_report: Option<PathBuf>,
    /// The run's output folder: a few outputs drawn beside their raw data (`run --qc`).
    pub outputs: Option<PathBuf>,
}

/// What `run` wrote.
#[derive(Debug)]
pub struct Summary {
    pub channels: usize,
    pub channel_days: usize,
    pub dead_days: usize,
    pub without_ppsd: usize,
    pub problems: u64,
    pub html: PathBuf,
}

pub fn run(cfg: &Config) -> Result<Summary, String> {
    let out = prepare(&cfg.output)?;
    let index = match &cfg.catalog {
        Some(c) => crate::archive::catalog::read(c)?,
        None => {
            let (files, _) = crate::archive::files(&cfg.input, &Default::default())
                .map_err(|e| format!("{}: {e}", cfg.input.display()))?;
            Index::build(&cfg.input, &files, &|_, _, _| None)
        }
    };
    // A correlation run's output: its moveout (and no miniSEED, perhaps).
    let moveout = super::moveout::find(&cfg.input);
    let run_report = cfg.run_report.clone().or_else(|| {
        let p = cfg.input.join("report.json");
        p.is_file().then_some(p)
    });
    // A run's SAC output has no miniSEED to index: its report still shows the failures.
    if index.channels.is_empty() && moveout.is_none() && run_report.is_none() {
        return Err(format!(
            "{}: no miniSEED data, no correlation stacks and no run report found",
            cfg.input.display()
        ));
    }
    let cache = XmlCache::default();
    let invs: Vec<_> = cfg.inventory.iter().map(|p| cache.inventory(p)).collect();
    let inv = Inventories {
        layers: invs.iter().map(|i| &**i).collect(),
    };
    let channels = super::analyse(&index, cfg.span, &inv, false);
    let mut reasons = reasons(&index, &channels, run_report.as_deref())?;
    if let Some(m) = &moveout {
        if !m.problems.is_empty() {
            let examples = m.problems.iter().take(EXAMPLES).cloned().collect();
            reasons.push((
                "a correlation stack could not be drawn".into(),
                m.problems.len() as u64,
                examples,
            ));
        }
    }
    let (t0, t1) = extent(&index, cfg.span);
    let span_text = if index.channels.is_empty() {
        "no miniSEED data".to_string()
    } else {
        format!("{} to {}", crate::time::iso(t0), crate::time::iso(t1))
    };

    let rows = rows(&index, cfg.span);
    let mut availability = Vec::new();
    for (k, chunk) in rows
        .chunks(ROWS_PER_PICTURE)
        .take(MAX_AVAILABILITY_PICTURES)
        .enumerate()
    {
        let name = if k == 0 {
            "availability".to_string()
        } else {
            format!("availability-{}", k + 1)
        };
        let a = plot::availability::Availability {
            rows: chunk,
            start_ns: t0,
            end_ns: t1,
        };
        let h = 120 + 28 * chunk.len() as u32;
        availability.push(plot::render(&name, "Data availability", (1200, h), &a)?);
    }
    let moveout_picture = match &moveout {
        Some(m) if !m.rows.is_empty() => Some(plot::render(
            "moveout",
            "Moveout of the stacked correlations",
            (1000, 720),
            m,
        )?),
        _ => None,
    };
    let counts: Vec<(String, u64)> = reasons.iter().map(|r| (r.0.clone(), r.1)).collect();
    let failures = if counts.is_empty() {
        None
    } else {
        let f = plot::failures::Failures { reasons: &counts };
        let h = 100 + 30 * counts.len() as u32;
        Some(plot::render(
            "failures",
            "Failures and file problems by reason",
            (1000, h),
            &f,
        )?)
    };
    let ppsd: Vec<Option<Picture>> = channels
        .par_iter()
        .enumerate()
        .map(|(i, c)| {
            let (p, h) = c.ppsd.as_ref().ok()?;
            if i >= MAX_PPSD_PICTURES {
                return None;
            }
            let d = plot::ppsd::PpsdPlot {
                id: &c.id,
                params: p,
                hist: h,
                span: span_text.clone(),
            };
            plot::render(
                &file_stem(&c.id),
                &format!("PPSD {}", c.id),
                (1000, 640),
                &d,
            )
            .ok()
        })
        .collect();

    let mut compare = Vec::new();
    if let Some(o) = &cfg.outputs {
        let (pairs, problems) = super::compare::pairs(o, &index);
        for p in problems {
            crate::console::errln!("seisbatch qc: before/after: {p}");
        }
        for (k, pair) in pairs.iter().enumerate() {
            let rel = pair.file.strip_prefix(o).unwrap_or(&pair.file);
            let d = plot::compare::Compare {
                raw: &pair.raw,
                processed: &pair.processed,
                title: format!("{} ({})", pair.processed.codes().id(), rel.display()),
            };
            let name = format!("compare-{}", k + 1);
            compare.push(plot::render(&name, &d.title.clone(), (1200, 560), &d)?);
        }
    }
    for p in availability
        .iter()
        .chain(failures.iter())
        .chain(compare.iter())
        .chain(moveout_picture.iter())
    {
        write_picture(&out, p)?;
    }
    let ppsd_dir = subdir(&out, "ppsd")?;
    for (c, p) in channels.iter().zip(&ppsd) {
        if let Some(p) = p {
            write_picture(&ppsd_dir, p)?;
        }
        if let Ok((params, hist)) = &c.ppsd {
            let j = serde_json::json!({
                "id": c.id,
                "segments": hist.segments,
                "period_bin_centers": params.bin_center,
                "db_bin_edges": params.db_edges,
                "mode": hist.mode(params),
                "mean": hist.mean(params),
                "percentiles": {
                    "10": hist.percentile(params, 10.0),
                    "50": hist.percentile(params, 50.0),
                    "90": hist.percentile(params, 90.0),
                },
                "histogram": hist.counts,
            });
            write(
                &ppsd_dir,
                &format!("{}.json", file_stem(&c.id)),
                j.to_string().as_bytes(),
            )?;
        }
    }
    write(&out, "metrics.csv", metrics_csv(&channels).as_bytes())?;
    write(&out, "metrics.json", metrics_json(&channels).as_bytes())?;
    // Only the first channels' pictures inline: the page stays a size a browser opens.
    let inline: Vec<Option<Picture>> = ppsd
        .iter()
        .enumerate()
        .map(|(i, p)| if i < MAX_PPSD_INLINE { p.clone() } else { None })
        .collect();
    let title = format!("seisbatch quality control: {}", cfg.input.display());
    let page = html::page(&html::Page {
        title: &title,
        input: &cfg.input.display().to_string(),
        span: &span_text,
        channels: &channels,
        availability: &availability,
        failures: failures.as_ref(),
        reasons: &reasons,
        ppsd: &inline,
        compare: &compare,
        moveout: moveout_picture.as_ref(),
    });
    let html_path = write(&out, "report.html", page.as_bytes())?;
    Ok(Summary {
        channels: channels.len(),
        channel_days: channels.iter().map(|c| c.days.len()).sum(),
        dead_days: channels
            .iter()
            .flat_map(|c| &c.days)
            .filter(|d| d.dead_channel_gsn == Some(1))
            .count(),
        without_ppsd: channels.iter().filter(|c| c.ppsd.is_err()).count(),
        problems: reasons.iter().map(|r| r.1).sum(),
        html: html_path,
    })
}

/// The report folder: created if missing; an existing one must be a real folder (not a
/// link) that is empty or holds an earlier report (its marker).
fn prepare(dir: &Path) -> Result<PathBuf, String> {
    let show = dir.display();
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(|e| format!("{show}: {e}"))?;
        }
        Err(e) => return Err(format!("{show}: {e}")),
        Ok(m) if !m.is_dir() => {
            return Err(format!(
                "{show} is not a folder (a link or a file); the report is written into a folder of its own"
            ))
        }
        Ok(_) => {
            let mut entries = std::fs::read_dir(dir).map_err(|e| format!("{show}: {e}"))?;
            let ours = dir.join(MARKER).is_file();
            if !ours && entries.next().is_some() {
                return Err(format!(
                    "{show} is not empty and holds no earlier report ({MARKER}); give a new or empty folder"
                ));
            }
        }
    }
    write(dir, MARKER, b"a seisbatch qc report folder\n")?;
    Ok(dir.to_path_buf())
}

fn subdir(dir: &Path, name: &str) -> Result<PathBuf, String> {
    let p = dir.join(name);
    match std::fs::symlink_metadata(&p) {
        Ok(m) if m.is_dir() => Ok(p),
        Ok(_) => Err(format!(
            "{} is not a folder (a link or a file)",
            p.display()
        )),
        Err(_) => std::fs::create_dir(&p)
            .map(|_| p.clone())
            .map_err(|e| format!("{}: {e}", p.display())),
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, String> {
    let path = dir.join(name);
    crate::write::atomic::write_atomic_in(dir, &path, bytes, "qc", true)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

fn write_picture(dir: &Path, p: &Picture) -> Result<(), String> {
    write(dir, &format!("{}.png", p.name), &p.png)?;
    write(dir, &format!("{}.svg", p.name), p.svg.as_bytes())?;
    Ok(())
}

/// A channel id as a file name (escaped: codes from data never name another path).
fn file_stem(id: &str) -> String {
    id.split('.')
        .map(crate::escape::escape)
        .collect::<Vec<_>>()
        .join(".")
}

/// The span shown: the request's ends, else the data's.
fn extent(index: &Index, span: (Option<i64>, Option<i64>)) -> (i64, i64) {
    let (a, b) = crate::archive::extent(index).unwrap_or((0, 1));
    let (a, b) = (span.0.unwrap_or(a), span.1.unwrap_or(b));
    (a, b.max(a + 1))
}

/// Each channel's coverage, gaps and overlaps within the span (`metrics::Coverage`).
fn rows(index: &Index, span: (Option<i64>, Option<i64>)) -> Vec<Row> {
    let lo = span.0.unwrap_or(i64::MIN);
    let hi = span.1.unwrap_or(i64::MAX);
    (0..index.channels.len())
        .map(|ch| {
            let (n, s, l, c) = &index.channels[ch];
            let cov = super::metrics::Coverage::of(index.runs_of(ch));
            let covered = cov.within(lo, hi);
            Row {
                id: format!("{n}.{s}.{l}.{c}"),
                gaps: covered.windows(2).map(|w| (w[0].1, w[1].0)).collect(),
                overlaps: cov.overlaps_within(lo, hi).to_vec(),
                covered,
            }
        })
        .collect()
}

/// Failures (a run's report.json), damaged parts of files (the index) and channels' read
/// problems, grouped by reason, largest first, with their first examples.
fn reasons(
    index: &Index,
    channels: &[ChannelQc],
    run_report: Option<&Path>,
) -> Result<Vec<(String, u64, Vec<String>)>, String> {
    let mut by: Vec<(String, u64, Vec<String>)> = Vec::new();
    let mut add = |reason: &str, example: String| match by.iter_mut().find(|r| r.0 == reason) {
        Some(r) => {
            r.1 += 1;
            if r.2.len() < EXAMPLES {
                r.2.push(example);
            }
        }
        None => by.push((reason.to_string(), 1, vec![example])),
    };
    if let Some(p) = run_report {
        let bytes = read_bounded(p)?;
        let r: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: not a seisbatch report ({e})", p.display()))?;
        for f in r["failures"].as_array().into_iter().flatten() {
            let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
            add(
                &s("reason"),
                format!("{} {} {}", s("file"), s("id"), s("start")),
            );
        }
        for f in r["file_problems"].as_array().into_iter().flatten() {
            let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
            add(&format!("file problem: {}", s("reason")), s("file"));
        }
    }
    for (f, p) in &index.problems {
        add(
            &format!("file problem: {}", p.reason),
            index.path_of(*f).display().to_string(),
        );
    }
    for c in channels {
        for p in &c.problems {
            add("could not be read", format!("{}: {p}", c.id));
        }
    }
    by.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if by.len() > MAX_REASONS {
        let rest: u64 = by[MAX_REASONS..].iter().map(|r| r.1).sum();
        let n = by.len() - MAX_REASONS;
        by.truncate(MAX_REASONS);
        by.push((format!("{n} other reasons"), rest, Vec::new()));
    }
    Ok(by)
}

/// A report.json is ours but read back like any input: refused past 256 MiB.
fn read_bounded(p: &Path) -> Result<Vec<u8>, String> {
    const MAX: u64 = 256 << 20;
    let len = std::fs::metadata(p)
        .map_err(|e| format!("{}: {e}", p.display()))?
        .len();
    if len > MAX {
        return Err(format!(
            "{}: {len} bytes, more than the {MAX} a report may have",
            p.display()
        ));
    }
    std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
}

const COLUMNS: [&str; 18] = [
    "network",
    "station",
    "location",
    "channel",
    "day",
    "percent_availability",
    "num_gaps",
    "max_gap",
    "num_overlaps",
    "sample_min",
    "sample_max",
    "sample_mean",
    "sample_median",
    "sample_rms",
    "pct_below_nlnm",
    "pct_above_nhnm",
    "dead_channel_gsn",
    "dead_channel_lin",
];

/// A CSV field: quoted when it holds a separator, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn metrics_csv(channels: &[ChannelQc]) -> String {
    let mut out = COLUMNS.join(",") + ",psd_segments\n";
    let o = |v: Option<f64>| v.map_or(String::new(), |x| format!("{x}"));
    for c in channels {
        let (n, s, l, ch) = &c.codes;
        for d in &c.days {
            let cells = [
                field(n),
                field(s),
                field(l),
                field(ch),
                crate::time::iso(d.day_ns)[..10].to_string(),
                format!("{}", d.percent_availability),
                d.num_gaps.to_string(),
                format!("{}", d.max_gap),
                d.num_overlaps.to_string(),
                o(d.sample_min),
                o(d.sample_max),
                o(d.sample_mean),
                o(d.sample_median),
                o(d.sample_rms),
                o(d.pct_below_nlnm),
                o(d.pct_above_nhnm),
                d.dead_channel_gsn.map_or(String::new(), |v| v.to_string()),
                o(d.dead_channel_lin),
                d.psd_segments.to_string(),
            ];
            out += &cells.join(",");
            out.push('\n');
        }
    }
    out
}

fn metrics_json(channels: &[ChannelQc]) -> String {
    let rows: Vec<serde_json::Value> = channels
        .iter()
        .flat_map(|c| {
            c.days.iter().map(move |d| {
                let mut v = serde_json::to_value(d).unwrap_or_default();
                v["id"] = c.id.clone().into();
                v["day"] = crate::time::iso(d.day_ns)[..10].to_string().into();
                v
            })
        })
        .collect();
    serde_json::to_string_pretty(&rows).unwrap_or_default()
}
