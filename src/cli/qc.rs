//! `seisbatch qc`: its flags and messages (the work is `crate::qc::report`).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::console::{errln, outln};

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
