//! The run's first phase: everything that can refuse the run (exit 2) or must happen before
//! any input is read: the folders, --events, the device, the output folder's lock and
//! identity, the survey of the inputs, and on --resume the journal checked against the
//! folder. Nothing in the output folder changes until `OutputDir::start`, its last step.

use std::path::{Path, PathBuf};

use super::config::{identity, identity_difference};
use super::{input_root, nothing_found, Inputs, RunConfig, RunError};
use crate::gpu::Gpu;
use crate::limits;
use crate::read::walk::{self, Exclude, Survey, Walker};
use crate::write::journal::{self, Entry, Journal};
use crate::write::output::OutputDir;
use crate::write::placement::{self, Placement};
use crate::write::Format;

/// What the run has when nothing can refuse it any more.
pub(super) struct Prepared {
    pub root: PathBuf,
    pub placement: Placement,
    pub events: Option<crate::events::Events>,
    /// The run's devices (none: the CPU path).
    pub gpus: Vec<Gpu>,
    pub device_reason: Option<String>,
    pub out: OutputDir,
    pub exclude: Exclude,
    pub survey: Survey,
    pub shard_totals: Option<crate::shard::Totals>,
    /// Journal entries an earlier run finished, checked; and the warnings of those redone.
    pub done: Vec<Entry>,
    pub redone: Vec<String>,
    pub walker: Inputs,
    pub journal: Journal,
    pub journal_path: PathBuf,
    /// A run over an archive's windows: its units.
    pub archive: Option<super::windows::Plan>,
}

/// The input's root and where OUTPUT lies relative to it; the inventory checked to exist.
fn root_and_placement(cfg: &RunConfig) -> Result<(PathBuf, Placement), RunError> {
    let remote = crate::store::is_remote(&cfg.input);
    if remote && cfg.archive.is_none() {
        return Err(RunError::Usage(format!(
            "--input {}: object storage is read as an archive: give --window START/END, --segment SECONDS or --events with --window origin-S/origin+S",
            cfg.input.display()
        )));
    }
    let root = if remote {
        cfg.input.clone()
    } else {
        input_root(&cfg.input)?
    };
    if let Some(inv) = &cfg.inventory {
        std::fs::metadata(inv)
            .map_err(|e| RunError::Usage(format!("--inventory {}: {e}", inv.display())))?;
    }
    if remote {
        // A bucket and a local folder never overlap.
        return Ok((root, Placement::Apart));
    }
    let placement = placement::placement(&root, &cfg.output).map_err(RunError::Usage)?;
    Ok((root, placement))
}

pub(super) fn prepare(cfg: &RunConfig) -> Result<Prepared, RunError> {
    crate::read::libmseed::install();
    limits::set_max_samples(cfg.max_samples);
    let (root, placement) = root_and_placement(cfg)?;
    let identity = identity(cfg)?;
    // --events is read whole before anything else: a bad file stops the run (exit 2) and
    // leaves the output folder as it was (it had created `.seisbatch/`, and with --overwrite
    // emptied a finished run's journal, before the file was read).
    let events = match &cfg.events {
        Some(p) => Some(
            crate::events::Events::read(p).map_err(|e| RunError::Usage(format!("--events {e}")))?,
        ),
        None => None,
    };
    let (gpus, device_reason) = super::devices::select(cfg)?;
    // The folder is created and locked here; until `start` it is removed again if the run
    // stops (a run that fails before reading anything leaves no trace).
    let opened = OutputDir::open(&cfg.output, cfg.shard, cfg.resume, cfg.overwrite)?;
    let mut out = opened.dir;
    if let Some(old) = &opened.identity {
        if let Some(diff) = identity_difference(old, &identity) {
            return Err(RunError::Usage(format!(
                "--resume: {} holds a different run: {diff}; resume with the same settings, or use --overwrite to start over",
                cfg.output.display()
            )));
        }
    }
    // The output folder is never read, wherever the walk would meet it: inside the input, or
    // through a link from the input to it.
    let exclude = Exclude {
        output: Some(out.id),
    };
    let mut archive = None;
    let (survey, shard_totals) = match (&cfg.archive, cfg.shard) {
        (Some(a), _) => {
            let (plan, survey) = super::windows::plan(cfg, a, events.as_ref(), &exclude)?;
            archive = Some(plan);
            (Ok(survey), None)
        }
        (None, None) => (walk::survey(&cfg.input, &exclude), None),
        (None, Some(_)) => match crate::shard::totals(&cfg.input, &exclude) {
            Ok((t, s)) => (Ok(s), Some(t)),
            Err(e) => (Err(e), None),
        },
    };
    let survey =
        survey.map_err(|e| RunError::Usage(format!("--input {}: {e}", cfg.input.display())))?;
    if survey.files == 0 && archive.is_none() {
        return Err(nothing_found(&cfg.input, &survey));
    }
    // What the journal claims is checked against the folder before it is trusted
    // (`write::resume`): an entry whose outputs are not as it says is redone.
    let (done, redone) = if cfg.resume {
        verified_journal(cfg, &out)?
    } else {
        (Vec::new(), Vec::new())
    };
    // The last usage error comes before `start`, which clears an overwritten run's state.
    let walker = match &archive {
        Some(plan) => super::windows::inputs(plan),
        None => inputs(cfg, shard_totals, &exclude)?,
    };
    out.start(&identity, cfg.overwrite, cfg.resume)?;
    let journal_path = out.journal_path();
    let journal = Journal::new(out.open_state_append(&journal_path).map_err(|e| {
        RunError::Fatal(format!(
            "cannot write to the output folder: cannot open the journal {}: {e}; nothing was processed",
            journal_path.display()
        ))
    })?);

    Ok(Prepared {
        root,
        placement,
        events,
        gpus,
        device_reason,
        out,
        exclude,
        survey,
        shard_totals,
        done,
        redone,
        walker,
        journal,
        journal_path,
        archive,
    })
}

/// An earlier run's journal, each entry checked against the output folder: the entries to
/// trust, and the warnings of those redone.
fn verified_journal(
    cfg: &RunConfig,
    out: &OutputDir,
) -> Result<(Vec<Entry>, Vec<String>), RunError> {
    let entries = journal::load(&out.journal_path()).map_err(|e| {
        RunError::Usage(format!(
            "--resume: {e}; resume cannot trust it (--overwrite runs everything again)"
        ))
    })?;
    // A converted event is in its EVENT.h5, or in the run's data set (--layout dataset).
    let dataset = super::dataset_file(cfg).map(|f| cfg.output.join(f));
    let asdf = |p: &Path| match &dataset {
        Some(d) => d.clone(),
        None => crate::write::asdf::target(p),
    };
    let converted: Option<&dyn Fn(&Path) -> PathBuf> =
        (cfg.format == Format::Asdf).then_some(&asdf);
    let r = crate::write::resume::verify(&cfg.output, entries, converted).map_err(|e| {
        RunError::Usage(format!(
            "--resume: {}: {e} (--overwrite runs everything again)",
            out.journal_path().display()
        ))
    })?;
    Ok((r.entries, r.redone))
}

/// The run's input files in walk order: all of them, or one shard's.
fn inputs(
    cfg: &RunConfig,
    shard_totals: Option<crate::shard::Totals>,
    exclude: &Exclude,
) -> Result<Inputs, RunError> {
    Ok(match (cfg.shard, shard_totals) {
        (Some(shard), Some(t)) => Box::new(
            crate::shard::Sharded::new(&cfg.input, shard, t, exclude)
                .map_err(|e| RunError::Usage(format!("--input {}: {e}", cfg.input.display())))?,
        ),
        _ => Box::new(
            Walker::new(&cfg.input, exclude.clone())
                .map_err(|e| RunError::Usage(format!("--input {}: {e}", cfg.input.display())))?,
        ),
    })
}
