//! `run --output s3://bucket/prefix`: the run writes into a local stage as into any folder,
//! and `write::publish` puts what is finished into the bucket while it goes on and at its
//! end (outputs, then the journal, then the outputs' catalog and the report).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::args::RunArgs;
use crate::console::errln;
use crate::engine::{self, RunError};
use crate::store::Url;
use crate::write::publish::{EventFiles, Publisher};

/// The stage a prefix gets without `--stage`: `TMP/seisbatch-stage/BUCKET/PREFIX` (the
/// prefix escaped into one name).
fn default_stage(u: &Url) -> PathBuf {
    std::env::temp_dir()
        .join("seisbatch-stage")
        .join(&u.bucket)
        .join(crate::escape::escape(&u.key.replace('/', "_")))
}

pub(super) fn run(mut args: RunArgs, url: Result<Url, String>) -> ExitCode {
    if args.qc {
        errln!("seisbatch: --qc writes into a local output folder; with s3:// run `seisbatch qc` on the staged folder");
        return ExitCode::from(2);
    }
    if let Err(m) = args.s3.apply() {
        errln!("seisbatch: {m}");
        return ExitCode::from(2);
    }
    let usage = |m: String| {
        errln!("seisbatch: {m}");
        ExitCode::from(2)
    };
    let url = match url {
        Ok(u) => u,
        Err(e) => return usage(format!("--output {e}")),
    };
    let every = args.s3_sync_seconds;
    if !(every.is_finite() && (1.0..=86_400.0).contains(&every)) {
        return usage(format!("--s3-sync-seconds must be 1 to 86400, got {every}"));
    }
    let stage = args.stage.clone().unwrap_or_else(|| default_stage(&url));
    if crate::store::is_remote(&stage) {
        return usage("--stage is a local folder".into());
    }
    args.output = stage.clone();
    let cfg = match args.config() {
        Ok(c) => c,
        Err(m) => return usage(m),
    };
    // Event files grow while the run goes on: they go up whole at its end.
    let events = match (cfg.layout, cfg.format) {
        (engine::Layout::Dataset, _) => engine::dataset_file(&cfg).map(EventFiles::Dataset),
        (_, crate::write::Format::Asdf) => Some(EventFiles::Asdf),
        (engine::Layout::PerEvent, _) => Some(EventFiles::Mseed),
        _ => None,
    };
    let publisher = match Publisher::open(
        url.clone(),
        &stage,
        cfg.shard,
        cfg.resume,
        cfg.overwrite,
        events,
    ) {
        Ok(p) => p,
        Err(m) => return usage(m),
    };
    let shared = Arc::new(Mutex::new(publisher));
    let stop = Arc::new(AtomicBool::new(false));
    let syncs =
        Publisher::spawn_syncs(shared.clone(), Duration::from_secs_f64(every), stop.clone());
    let result = engine::run(&cfg);
    stop.store(true, Ordering::Relaxed);
    let _ = syncs.join();
    let publisher = match Arc::try_unwrap(shared) {
        Ok(m) => m.into_inner().unwrap_or_else(|p| p.into_inner()),
        Err(_) => {
            errln!("seisbatch: fatal: the publisher is still in use");
            return ExitCode::from(1);
        }
    };
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            // What finished is published; the lock is released (a stage to --resume from).
            let _ = publisher.finish(None);
            return match e {
                RunError::Usage(m) => usage(m),
                RunError::Fatal(m) => {
                    errln!("seisbatch: fatal: {m}");
                    ExitCode::from(1)
                }
            };
        }
    };
    if !args.quiet {
        super::commands::tell(&report, &cfg);
    }
    let catalog = cfg.shard.is_none().then_some(engine::CATALOG);
    match publisher.finish(catalog) {
        Ok(p) => {
            if !args.quiet {
                let t = crate::store::traffic();
                errln!(
                    "seisbatch: published to {url}: {} objects ({:.1} MB), {} already there, {} inputs in its journal; {} requests, {:.1} MB read, {} retries (stage {})",
                    p.objects,
                    p.bytes as f64 / 1e6,
                    p.already_there,
                    p.inputs,
                    t.requests,
                    t.bytes_read as f64 / 1e6,
                    t.retries,
                    stage.display()
                );
            }
        }
        Err(m) => {
            errln!("seisbatch: not all of the run reached {url} (the stage {} keeps it; --resume publishes it):\n{m}", stage.display());
            return ExitCode::from(1);
        }
    }
    if report.incomplete() && cfg.shard.is_none() {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}
