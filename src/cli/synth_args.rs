//! `seisbatch synth`: its flags (the data it writes: `crate::synth`, `crate::synth_array`).

use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// Folder to write (created if missing).
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
    /// Events (folders).
    #[arg(long, default_value_t = 10)]
    pub events: usize,
    /// Stations per event, three components each.
    #[arg(long, default_value_t = 10)]
    pub stations: usize,
    /// Seconds per trace.
    #[arg(long, default_value_t = 1200.0)]
    pub duration: f64,
    /// Sampling rates (Hz) the stations take in turn.
    #[arg(long, value_delimiter = ',', default_value = "20,40,100,200")]
    pub rates: Vec<f64>,
    /// Share of traces written bad (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub bad_fraction: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Instead of event trees: a continuous archive of this many days for ambient-noise work
    /// (--stations stations on a ring, one HHZ channel each, at the first of --rates; a
    /// diffuse noise field at 3 km/s): OUTPUT/archive (SDS) and OUTPUT/stations.xml.
    #[arg(long, value_name = "DAYS")]
    pub noise_days: Option<usize>,
}
