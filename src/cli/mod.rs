//! The command line: `args` (clap's parse and validation; `RunArgs::config` turns a `run`
//! command line into the engine's `RunConfig`), `commands` (each subcommand and its exit
//! code). The binary (src/main.rs) is `seisbatch::main`; the Python package's `start(argv)`
//! parses a `run` command line with `run_config`. Nothing else of the command line is public.

mod args;
mod commands;
mod correlate;
mod fetch_input;
mod gpu_flag;
mod heap;
mod qc;
mod remote;
mod s3args;
mod synth_args;

use std::process::ExitCode;

use clap::Parser;

use crate::engine::RunConfig;
use args::{Cli, Command};

/// The `seisbatch` binary: parse the arguments, run the command, its exit code.
pub fn main() -> ExitCode {
    // Mesa's implicit Vulkan layer VK_LAYER_MESA_device_select connects to a Wayland/X11
    // display to order GPUs, printing "XDG_RUNTIME_DIR is invalid" on every headless node
    // (and breaking --quiet). seisbatch ranks adapters itself (gpu::Gpu::new), so the layer
    // is switched off unless the user set it. Done first, while the process has one thread.
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        std::env::set_var("NODEVICE_SELECT", "1");
    }
    heap::tune();
    // libmseed's allocator hooks, before any thread can be inside libmseed.
    crate::read::libmseed::install();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Run(args) => match crate::store::url_of(&args.output) {
            Some(u) => remote::run(*args, u),
            None => commands::run(*args),
        },
        Command::Synth(args) => commands::synth(args),
        Command::Bench(args) => commands::bench(args),
        Command::Report(args) => commands::report(args),
        Command::Plan(args) => commands::plan(args),
        Command::Index(args) => commands::index(args),
        Command::Correlate(args) => correlate::correlate(args),
        Command::Qc(args) => qc::qc(args),
        Command::Adapters(args) => commands::adapters(args),
    }
}

/// The engine's configuration for `seisbatch run ARGS` (the arguments after `run`), read as
/// the binary reads them (the pipeline file included); the error is clap's or the
/// configuration's message.
pub fn run_config<I: IntoIterator<Item = String>>(args: I) -> Result<RunConfig, String> {
    let cli = Cli::try_parse_from(
        ["seisbatch".to_string(), "run".to_string()]
            .into_iter()
            .chain(args),
    )
    .map_err(|e| e.to_string())?;
    let Command::Run(args) = cli.command else {
        return Err("not a run".into());
    };
    if crate::store::is_remote(&args.output) {
        // Publishing is the command line's (`seisbatch run --output s3://...`).
        return Err(
            "--output s3://: run it with the seisbatch command (Python's run writes a folder)"
                .into(),
        );
    }
    if args.qc {
        return Err("--qc is the command line's (`seisbatch run ... --qc`, or `seisbatch qc OUTPUT` after a run)".into());
    }
    args.s3.apply()?;
    args.config()
}
