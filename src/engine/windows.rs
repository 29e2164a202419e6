//! A run over an archive's windows (`--window`, `--segment`, `--catalog`): the index (from
//! the catalog, or built from the input's record headers), the windows, and one work unit per
//! channel and window handed to the engine as an input of its own. A unit's name is
//! `LABEL/raw/NET.STA.LOC.CHA__START__END` (codes escaped): its outputs go to `OUTPUT/LABEL/`,
//! the journal knows it by that name, `rotate` finds a station's components of one window
//! together (the MassDownloader name), and `--layout per-event` writes `LABEL/LABEL.mseed`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Inputs, RunConfig, RunError};
use crate::archive::index::{ChannelCodes, Index};
use crate::archive::units::Unit;
use crate::archive::windows::{Request, Window};
use crate::read::tree::InputFile;
use crate::read::walk::{Exclude, Survey};

/// `--window` / `--segment` and what goes with them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ArchiveRun {
    pub request: Request,
    /// `--catalog`: the index to use instead of reading the input's headers.
    #[serde(skip)]
    pub catalog: Option<PathBuf>,
    /// `--min-coverage`: a window with less of its span covered is reported, not processed.
    pub min_coverage: f64,
}

/// A run's units and the windows without data.
pub(crate) struct Plan {
    pub units: Vec<Unit>,
    /// (window, channel) pairs with no data: listed in the report (the first
    /// `EMPTY_LISTED`), counted all.
    pub empty: Vec<(Arc<Window>, Arc<ChannelCodes>)>,
    pub empty_count: usize,
    pub windows: usize,
    pub root: PathBuf,
    /// Damaged parts the index found in the files this run's units read: reported as a run
    /// over the files would report them (the records are not in any window's trace).
    pub problems: Vec<(PathBuf, crate::read::mseed::Problem)>,
}

/// The index, windows and units; `survey` says what the walk found and skipped.
pub(super) fn plan(
    cfg: &RunConfig,
    a: &ArchiveRun,
    events: Option<&crate::events::Events>,
    exclude: &Exclude,
) -> Result<(Plan, Survey), RunError> {
    let usage = |e: String| RunError::Usage(e);
    let (index, survey) = match &a.catalog {
        Some(c) => {
            let index = crate::archive::catalog::read(c).map_err(usage)?;
            let survey = Survey {
                files: index.files.len(),
                bytes: index.files.iter().map(|f| f.size).sum(),
                ..Survey::default()
            };
            (index, survey)
        }
        None if crate::store::is_remote(&cfg.input) => {
            let url = crate::store::url_of(&cfg.input)
                .and_then(Result::ok)
                .ok_or_else(|| {
                    usage(format!("--input {}: not an s3:// URL", cfg.input.display()))
                })?;
            let span = a.request.span(events);
            let (index, survey) = crate::archive::remote::index(&url, span)
                .map_err(|e| usage(format!("--input {e}")))?;
            if index.files.is_empty() {
                return Err(super::nothing_found(&cfg.input, &survey));
            }
            (index, survey)
        }
        None => {
            let (files, survey) = crate::archive::files(&cfg.input, exclude)
                .map_err(|e| usage(format!("--input {}: {e}", cfg.input.display())))?;
            if files.is_empty() {
                return Err(super::nothing_found(&cfg.input, &survey));
            }
            let root = super::input_root(&cfg.input)?;
            (Index::build(&root, &files, &|_, _, _| None), survey)
        }
    };
    let windows = a
        .request
        .windows(events, crate::archive::extent(&index))
        .map_err(usage)?;
    let windows: Vec<Arc<Window>> = windows.into_iter().map(Arc::new).collect();
    // A shard takes whole windows, every shard's share in time order.
    let keep = |i: usize| cfg.shard.is_none_or(|s| i % s.count == s.index);
    let found = crate::archive::units::units(&index, &windows, &keep).map_err(usage)?;
    let mut survey = survey;
    survey.files = found.units.len();
    let read: std::collections::HashSet<&Path> = found
        .units
        .iter()
        .flat_map(|u| u.pieces.iter().map(|p| p.path.as_path()))
        .collect();
    let problems = index
        .problems
        .iter()
        .map(|(f, p)| (index.path_of(*f), p.clone()))
        .filter(|(path, _)| read.contains(path.as_path()))
        .collect();
    Ok((
        Plan {
            units: found.units,
            empty: found.empty,
            empty_count: found.empty_count,
            windows: windows.len(),
            root: index.root.clone(),
            problems,
        },
        survey,
    ))
}

/// The units as the engine's inputs, in order. A window's units share one output folder
/// (`Arc`): the engine knows a folder by that (`FileSources::folder`), and `rotate` pairs
/// components within one.
pub(super) fn inputs(plan: &Plan) -> Inputs {
    let root = plan.root.clone();
    let mut folder: Option<(Arc<Window>, Arc<Path>)> = None;
    let named: Vec<InputFile> = plan
        .units
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let dir = match &folder {
                Some((w, d)) if Arc::ptr_eq(w, &u.window) => d.clone(),
                _ => {
                    let d: Arc<Path> = Arc::from(Path::new(&u.window.label));
                    folder = Some((u.window.clone(), d.clone()));
                    d
                }
            };
            input_of(&root, i, u, dir)
        })
        .collect();
    Box::new(named.into_iter().map(Ok))
}

fn input_of(root: &Path, i: usize, u: &Unit, out_dir: Arc<Path>) -> InputFile {
    let (n, s, l, c) = &*u.codes;
    let e = crate::escape::escape;
    let t = crate::time::compact;
    let name = format!(
        "{}.{}.{}.{}__{}__{}",
        e(n),
        e(s),
        e(l),
        e(c),
        t(u.window.start_ns),
        t(u.window.end_ns)
    );
    let rel = PathBuf::from(&u.window.label).join("raw").join(name);
    InputFile {
        path: root.join(&rel),
        rel,
        out_dir,
        resp_dir: None,
        unit: Some((i, u.samples)),
        asdf: None,
    }
}

impl super::work::Ctx<'_> {
    /// A unit's records read, joined and cut to its window (`archive::fetch`), as a file's
    /// decode gives them: its pieces, the segments refused, damaged bytes (named in their own
    /// files) and, below `--min-coverage`, a warning instead of traces.
    pub(super) fn decode_unit(&self, f: &InputFile, unit: &Unit) -> super::work::Decoded {
        thread_local! {
            static BYTES: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let mut out = super::FileOutcome::default();
        let mut bytes = BYTES.with(|b| std::mem::take(&mut *b.borrow_mut()));
        let fetched = crate::archive::fetch::fetch(unit, self.cfg.gaps, &mut bytes);
        if bytes.capacity() <= 16 << 20 {
            bytes.clear();
            BYTES.with(|k| *k.borrow_mut() = bytes);
        }
        let fetched = match fetched {
            Ok(x) => x,
            Err(e) => {
                out.io_errors += 1;
                out.problems.push(crate::write::report::FileProblem {
                    file: e.path.display().to_string(),
                    bytes: None,
                    reason: format!(
                        "{} (window {}); not journaled: --resume reads it again",
                        e.reason, unit.window.label
                    ),
                });
                return super::work::Decoded {
                    traces: Vec::new(),
                    out,
                };
            }
        };
        for (id, start, reason) in fetched.rejected {
            out.failures
                .push(super::work::failure(f, id, crate::time::iso(start), reason));
        }
        out.warnings.extend(
            fetched
                .warnings
                .into_iter()
                .map(|w| format!("window {}: {w}", unit.window.label)),
        );
        for (path, p) in fetched.problems {
            out.problems.push(crate::write::report::FileProblem {
                file: path.display().to_string(),
                bytes: p.bytes.map(|(a, b)| [a, b]),
                reason: format!("miniSEED: {}", p.reason),
            });
        }
        let mut traces = fetched.traces;
        let min = self.cfg.archive.as_ref().map_or(0.0, |a| a.min_coverage);
        let (n, s, l, c) = &*unit.codes;
        if fetched.coverage < min && !traces.is_empty() {
            // Listed with its coverage in report.json (`windows.below_coverage`), not a
            // warning each: a year of hourly windows over a patchy station is thousands.
            out.low_coverage.push(crate::write::report::LowCoverage {
                window: unit.window.label.clone(),
                id: format!("{n}.{s}.{l}.{c}"),
                coverage: fetched.coverage,
            });
            traces.clear();
        } else if traces.len() > 1 {
            out.warnings.push(format!(
                "window {}: {n}.{s}.{l}.{c} is {} pieces (gaps or overlaps inside the window; --gaps zeros|interpolate fills gaps), each processed on its own",
                unit.window.label,
                traces.len()
            ));
        }
        out.samples = traces.iter().map(|t| t.data.len() as u64).sum();
        super::work::Decoded { traces, out }
    }
}
