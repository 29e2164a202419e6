//! Progress on stderr while a run goes: a bar on a terminal (indicatif), a plain line every
//! PLAIN_EVERY otherwise (batch logs, CI), nothing with --quiet. Counters are atomics bumped
//! once per finished file, by whichever worker finished it.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the plain (non-terminal) form prints a line.
const PLAIN_EVERY: Duration = Duration::from_secs(10);

enum Mode {
    Off,
    Bar(ProgressBar),
    Plain(Mutex<Instant>),
}

/// Counters a library caller reads while a run goes (the Python package's progress bar):
/// input files to do and done, traces ok and failed.
#[derive(Debug, Default)]
pub struct Watch {
    pub files_total: AtomicUsize,
    pub files_done: AtomicUsize,
    pub ok: AtomicUsize,
    pub failed: AtomicUsize,
}

pub struct Progress {
    watch: Option<std::sync::Arc<Watch>>,
    mode: Mode,
    files_total: usize,
    files: AtomicUsize,
    ok: AtomicUsize,
    failed: AtomicUsize,
    samples: AtomicU64,
    start: Instant,
}

impl Progress {
    /// `show` false (--quiet) prints nothing at all.
    pub fn new(files_total: usize, show: bool) -> Progress {
        let mode = if !show {
            Mode::Off
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(
                Some(files_total as u64),
                ProgressDrawTarget::stderr(),
            );
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} files  {msg}  ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            Mode::Bar(bar)
        } else {
            Mode::Plain(Mutex::new(Instant::now()))
        };
        Progress {
            watch: None,
            mode,
            files_total,
            files: AtomicUsize::new(0),
            ok: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            samples: AtomicU64::new(0),
            start: Instant::now(),
        }
    }

    fn line(&self) -> String {
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        let ok = self.ok.load(Ordering::Relaxed);
        let failed = self.failed.load(Ordering::Relaxed);
        let samples = self.samples.load(Ordering::Relaxed) as f64;
        format!(
            "{ok} traces ok, {failed} failed, {:.0} traces/s, {:.1} Msamples/s",
            (ok + failed) as f64 / secs,
            samples / secs / 1e6
        )
    }

    /// Also counts into `watch` (its total set now).
    pub fn watched(mut self, watch: Option<std::sync::Arc<Watch>>) -> Progress {
        if let Some(w) = &watch {
            w.files_total.store(self.files_total, Ordering::Relaxed);
        }
        self.watch = watch;
        self
    }

    /// One input file is finished: its traces ok and failed, and its samples.
    pub fn file_done(&self, ok: usize, failed: usize, samples: u64) {
        if let Some(w) = &self.watch {
            w.ok.fetch_add(ok, Ordering::Relaxed);
            w.failed.fetch_add(failed, Ordering::Relaxed);
            w.files_done.fetch_add(1, Ordering::Relaxed);
        }
        let files = self.files.fetch_add(1, Ordering::Relaxed) + 1;
        self.ok.fetch_add(ok, Ordering::Relaxed);
        self.failed.fetch_add(failed, Ordering::Relaxed);
        self.samples.fetch_add(samples, Ordering::Relaxed);
        match &self.mode {
            Mode::Off => {}
            Mode::Bar(b) => {
                b.set_position(files as u64);
                b.set_message(self.line());
            }
            Mode::Plain(last) => {
                let Ok(mut last) = last.lock() else { return };
                if last.elapsed() >= PLAIN_EVERY {
                    *last = Instant::now();
                    let secs = self.start.elapsed().as_secs_f64();
                    let eta = secs / files as f64 * self.files_total.saturating_sub(files) as f64;
                    crate::console::errln!(
                        "seisbatch: {files}/{} files, {}, ETA {eta:.0} s",
                        self.files_total,
                        self.line()
                    );
                }
            }
        }
    }

    /// Clears the bar (the summary line follows).
    pub fn finish(&self) {
        if let Mode::Bar(b) = &self.mode {
            b.finish_and_clear();
        }
    }
}
