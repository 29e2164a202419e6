//! The pipeline file: a TOML array of `[[step]]` tables, each with `op` and ObsPy's own
//! keyword names and defaults. Parsing validates everything (unknown ops and keys, types,
//! impossible values) before any data is read; errors name the step and key (exit 2).

use std::path::Path;

use serde::Serialize;

use crate::error::ConfigError;

pub mod build;
mod keys;
pub mod ops;
pub mod shape;

pub use crate::ops::detrend::DetrendType;
pub use crate::ops::filter::FilterType;
pub use crate::ops::interpolate::InterpMethod;
pub use crate::ops::taper::{Side, Window};
pub use crate::response::Output;
pub use build::{Build, ResponseNeed, StageAt, SENSITIVITY};
pub use ops::Step;
pub use shape::{Failure, Shape, StepShape};

/// `remove_response`'s `water_level` when the key is omitted: ObsPy's default (dB).
pub const DEFAULT_WATER_LEVEL: f64 = 60.0;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pipeline {
    pub steps: Vec<Step>,
    /// Legal but almost surely a mistake; printed before the run and kept in the report.
    pub warnings: Vec<String>,
}

impl Pipeline {
    pub fn needs_response(&self) -> bool {
        self.steps.iter().any(Step::needs_response)
    }

    /// Whether every select step takes `tr` (codes only: no step changes them).
    pub fn selects(&self, tr: &crate::trace::Trace) -> bool {
        self.steps.iter().all(|s| match s {
            Step::Select(sel) => sel.matches(tr),
            _ => true,
        })
    }

    /// The merge step, if any (it comes first, after selects only: `parse`).
    pub fn merge(&self) -> Option<&ops::Merge> {
        self.steps.iter().find_map(|s| match s {
            Step::Merge(m) => Some(m),
            _ => None,
        })
    }

    pub fn from_file(path: &Path) -> Result<Pipeline, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Pipeline::parse(&text).map_err(|e| match e {
            ConfigError::Toml { message, .. } => ConfigError::Toml {
                path: path.to_path_buf(),
                message,
            },
            e => e,
        })
    }

    pub fn parse(text: &str) -> Result<Pipeline, ConfigError> {
        let doc: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Toml {
                path: "<pipeline>".into(),
                message: e.to_string(),
            })?;
        for k in doc.keys() {
            if k != "step" {
                return Err(ConfigError::Pipeline(format!(
                    "unknown top-level key `{k}` (expected only [[step]] tables)"
                )));
            }
        }
        let steps = match doc.get("step") {
            Some(toml::Value::Array(a)) => a,
            Some(_) => {
                return Err(ConfigError::Pipeline(
                    "`step` must be an array of tables, written [[step]]".into(),
                ))
            }
            None => return Err(ConfigError::Pipeline("no [[step]] tables".into())),
        };
        let mut out = Pipeline {
            steps: Vec::new(),
            warnings: Vec::new(),
        };
        for (i, v) in steps.iter().enumerate() {
            let n = i + 1;
            let t = v.as_table().ok_or_else(|| ConfigError::Step {
                step: n,
                message: "each [[step]] must be a table".into(),
            })?;
            let step = parse_step(n, t, &mut out.warnings)?;
            // select decides on the input trace (`select`): its rate and length keys mean what
            // ObsPy's do only before any step that changes them.
            // select decides on the codes as read; rotate renames channels.
            if let (Step::Select(_), Some(at)) = (
                &step,
                out.steps.iter().position(|s| matches!(s, Step::Rotate(_))),
            ) {
                return Err(ConfigError::Step {
                    step: n,
                    message: format!(
                        "select after step {} (rotate): select decides on the channel codes as \
                         read; put it before the rotate",
                        at + 1
                    ),
                });
            }
            if let Step::Select(s) = &step {
                let changer = out.steps.iter().position(Step::changes_shape);
                if let (Some(at), true) = (changer, s.sampling_rate.is_some() || s.npts.is_some()) {
                    return Err(ConfigError::key(
                        n,
                        "select",
                        if s.sampling_rate.is_some() {
                            "sampling_rate"
                        } else {
                            "npts"
                        },
                        format!(
                            "after step {} ({}), which changes the rate or length: put this \
                             select before it",
                            at + 1,
                            out.steps[at].op()
                        ),
                    ));
                }
            }
            check_merge_split(n, &step, &out.steps)?;
            out.steps.push(step);
        }
        if let Some(at) = out.steps.iter().position(|s| {
            matches!(s, Step::Merge(m) if m.fill_value == crate::ops::merge::Fill::Masked && m.method != -1)
        }) {
            if !matches!(out.steps.get(at + 1), Some(Step::Split(_))) {
                return Err(ConfigError::key(
                    at + 1,
                    "merge",
                    "fill_value",
                    "without a fill_value ObsPy's merge leaves gaps masked, which its \
                     processing refuses: give fill_value (a number, \"interpolate\", \
                     \"latest\"), or put op = \"split\" right after it (its pieces, each \
                     processed on its own)",
                ));
            }
        }
        Ok(out)
    }
}

/// One `[[step]]` table -> its operation's [`Step`], or a configuration error naming the
/// step and key. The operation parses its own keys (`pipeline::ops`); a key it did not read
/// is an error listing the ones it knows.
fn parse_step(n: usize, t: &toml::Table, warnings: &mut Vec<String>) -> Result<Step, ConfigError> {
    let list = ops::OPS.join(", ");
    let op = match t.get("op") {
        Some(toml::Value::String(s)) => s.as_str(),
        Some(v) => {
            return Err(ConfigError::key(
                n,
                "?",
                "op",
                format!("expected a string, got {v}"),
            ))
        }
        None => {
            return Err(ConfigError::Step {
                step: n,
                message: format!("missing key `op` (one of: {list})"),
            })
        }
    };
    let mut k = keys::Keys::new(n, op, t);
    let step = ops::parse_op(op, &mut k, warnings).unwrap_or_else(|| {
        Err(ConfigError::key(
            n,
            op,
            "op",
            format!("unknown op `{op}` (expected one of: {list})"),
        ))
    })?;
    k.finish()?;
    Ok(step)
}

#[cfg(test)]
mod tests;

/// merge works on the traces as read: only select steps may precede it, and one merge at
/// most; split only right after a merge (it cuts that merge's masked gaps).
fn check_merge_split(n: usize, step: &Step, before: &[Step]) -> Result<(), ConfigError> {
    match step {
        Step::Merge(_) => {
            if let Some(at) = before.iter().position(|s| !matches!(s, Step::Select(_))) {
                return Err(ConfigError::Step {
                    step: n,
                    message: format!(
                        "merge after step {} ({}): merge joins the pieces of a channel as read; \
                         put it first (only select may come before it)",
                        at + 1,
                        before[at].op()
                    ),
                });
            }
        }
        Step::Split(_) if !matches!(before.last(), Some(Step::Merge(_))) => {
            return Err(ConfigError::Step {
                step: n,
                message: "split cuts the masked gaps a merge without fill_value leaves: \
                          put it right after that merge (seisbatch's traces hold no other \
                          masked samples)"
                    .into(),
            });
        }
        _ => {}
    }
    Ok(())
}
