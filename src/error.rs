//! Errors, split the way the exit codes are: configuration errors (exit 2, before any data
//! is read), per-trace/per-file errors (recorded in the report, the run goes on, exit 3) and
//! fatal errors (exit 1).

use std::path::PathBuf;

/// A pipeline file or command line that cannot run. Always names the step and key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read pipeline file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("pipeline file {path} is not valid TOML: {message}")]
    Toml { path: PathBuf, message: String },
    #[error("pipeline: {0}")]
    Pipeline(String),
    #[error("step {step} (op = \"{op}\"): key `{key}`: {message}")]
    Key {
        step: usize,
        op: String,
        key: String,
        message: String,
    },
    #[error("step {step}: {message}")]
    Step { step: usize, message: String },
    #[error("{0}")]
    Usage(String),
}

impl ConfigError {
    pub fn key(step: usize, op: &str, key: &str, message: impl Into<String>) -> Self {
        ConfigError::Key {
            step,
            op: op.to_string(),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// Why one trace (or one whole input file) could not be processed. Recorded, never fatal.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum TraceError {
    #[error("no StationXML response for {id} at {time}")]
    NoResponse { id: String, time: String },
    #[error("no StationXML file for station {net}.{sta} (looked in {looked})")]
    NoStationXml {
        net: String,
        sta: String,
        looked: String,
    },
    #[error("unsupported response stage {stage} of {id}: {kind}")]
    UnsupportedStage {
        id: String,
        stage: u32,
        kind: String,
    },
    #[error("invalid response of {id}: {message}")]
    BadResponse { id: String, message: String },
    #[error("step {step} ({op}): {message}")]
    Op {
        step: usize,
        op: String,
        message: String,
    },
    #[error("miniSEED: {0}")]
    Mseed(String),
    #[error("StationXML {path}: {message}")]
    StationXml { path: String, message: String },
    #[error("write failed: {0}")]
    Write(String),
    /// The call was interrupted before this trace was done (Python's Ctrl-C).
    #[error("interrupted before it was processed")]
    Interrupted,
    /// The samples cannot be held by the output's sample type (`exec::Holds`).
    #[error("{0}")]
    Samples(String),
}

pub type TraceResult<T> = Result<T, TraceError>;
