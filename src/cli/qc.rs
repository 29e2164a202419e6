//! `seisbatch qc`: its flags and messages (the work is `crate::qc::report`).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::console::{errln, outln};

pub(super) const AFTER_HELP: &str = "Examples:\n  \
seisbatch qc /data/SDS --inventory stations/ --output qc\n  \
seisbatch qc --catalog sds.parquet --window 2020-01-01/2020-02-01 --inventory stations/ --output qc-jan\n  \
seisbatch qc OUTPUT --output OUTPUT-qc          (a run's output: its report.json's failures too)\n\n\
PSDs need responses (--inventory); without them the report has availability and sample metrics. \
Days are UTC days; a PSD segment belongs to the day it starts in.";

#[derive(Debug, clap::Args)]
pub struct QcArgs {
    /// An archive (SDS or any folder of miniSEED), or a run's output folder (its report.json
    /// gives the failures).
    #[arg(value_name = "ARCHIVE|OUTPUT", required_unless_present = "catalog")]
    pub input: Option<PathBuf>,
    /// The archive's catalog (`seisbatch index`) instead of reading its headers again.
    #[arg(long, value_name = "CATALOG.parquet")]
    pub catalog: Option<PathBuf>,
    /// A new or empty folder (or an earlier report's) for report.html, the pictures and the
    /// metrics.
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
    /// StationXML (a file or a folder of them; repeatable): the responses the PSDs are
    /// corrected with. Without one, availability and sample metrics only.
    #[arg(long, value_name = "PATH")]
    pub inventory: Vec<PathBuf>,
    /// Only START/END (ISO times; END excluded).
    #[arg(long, value_name = "START/END", conflicts_with_all = ["start", "end"])]
    pub window: Option<String>,
    /// From this time (ISO).
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
    /// Before this time (ISO).
    #[arg(long, value_name = "TIME")]
    pub end: Option<String>,
    /// A run's report.json whose failures to show (default: ARCHIVE|OUTPUT/report.json).
    #[arg(long, value_name = "report.json")]
    pub run_report: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

fn span(a: &QcArgs) -> Result<(Option<i64>, Option<i64>), String> {
    let t = |s: &Option<String>| s.as_deref().map(crate::time::parse).transpose();
    let (s, e) = match &a.window {
        Some(w) => {
            let (s, e) = w
                .split_once('/')
                .ok_or_else(|| format!("--window {w}: START/END"))?;
            (Some(crate::time::parse(s)?), Some(crate::time::parse(e)?))
        }
        None => (t(&a.start)?, t(&a.end)?),
    };
    if let (Some(s), Some(e)) = (s, e) {
        if e <= s {
            return Err("the end is not after the start".into());
        }
    }
    Ok((s, e))
}

pub(super) fn qc(a: QcArgs) -> ExitCode {
    let span = match span(&a) {
        Ok(s) => s,
        Err(e) => {
            errln!("seisbatch qc: {e}");
            return ExitCode::from(2);
        }
    };
    let input = match (&a.input, &a.catalog) {
        (Some(i), _) => i.clone(),
        (None, Some(c)) => match crate::archive::catalog::root_of(c) {
            Ok(r) => r,
            Err(e) => {
                errln!("seisbatch qc: {e}");
                return ExitCode::from(2);
            }
        },
        (None, None) => {
            errln!("seisbatch qc: give ARCHIVE|OUTPUT or --catalog");
            return ExitCode::from(2);
        }
    };
    let cfg = crate::qc::report::Config {
        input,
        output: a.output,
        inventory: a.inventory,
        catalog: a.catalog,
        span,
        run_report: a.run_report,
        outputs: None,
    };
    match crate::qc::report::run(&cfg) {
        Ok(s) => {
            if !a.quiet {
                outln!(
                    "{} channels, {} channel-days ({} flagged dead), {} without a PPSD, {} failures and file problems -> {}",
                    s.channels,
                    s.channel_days,
                    s.dead_days,
                    s.without_ppsd,
                    s.problems,
                    s.html.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            errln!("seisbatch qc: {e}");
            ExitCode::from(2)
        }
    }
}

/// `run --qc`: the report of the run's input (its windows' span, its inventory), its failures
/// and a few of its outputs, in OUTPUT/qc. A report that cannot be made is said, and the
/// run's own outcome stands.
pub(super) fn after_run(cfg: &crate::engine::RunConfig, quiet: bool) {
    let archive = cfg.archive.as_ref();
    let span = archive
        .and_then(|a| a.request.span(None))
        .map_or((None, None), |(s, e)| (Some(s), Some(e.saturating_add(1))));
    let catalog = archive.and_then(|a| a.catalog.clone());
    let input = match &catalog {
        Some(c) => match crate::archive::catalog::root_of(c) {
            Ok(r) => r,
            Err(e) => {
                errln!("seisbatch: --qc: {e}");
                return;
            }
        },
        None => cfg.input.clone(),
    };
    let q = crate::qc::report::Config {
        input,
        output: cfg.output.join("qc"),
        inventory: cfg.inventory.iter().cloned().collect(),
        catalog,
        span,
        run_report: Some(cfg.output.join("report.json")),
        outputs: Some(cfg.output.clone()),
    };
    match crate::qc::report::run(&q) {
        Ok(s) if !quiet => outln!("quality control -> {}", s.html.display()),
        Ok(_) => {}
        Err(e) => errln!("seisbatch: --qc: {e}"),
    }
}
