//! `select`: ObsPy's `Stream.select(network, station, location, channel, component, id,
//! sampling_rate, npts)` for one trace: every given pattern must match (`fnmatch`, upper-cased
//! on both sides as ObsPy does), the rate and length exactly. Codes are what no operation here
//! changes, so a select step decides a trace before it is processed, wherever it stands; rate
//! and length are the input's, so those two keys are refused after a step that changes them.
//! A trace not selected is counted in the report (`traces_not_selected`), neither written
//! nor failed.

use serde::Serialize;

use super::Operation;
use crate::error::ConfigError;
use crate::pipeline::build::Build;
use crate::pipeline::keys::Keys;
use crate::pipeline::shape::StepShape;
use crate::trace::Trace;

/// The patterns of one select step, upper-cased.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Select {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub station: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// ObsPy's exact comparisons with the trace's rate and length (before any step that
    /// changes them: `Pipeline::parse` refuses these keys after one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampling_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub npts: Option<usize>,
}

impl Operation for Select {
    fn parse(k: &mut Keys, _warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        // ObsPy upper-cases both sides; its `inventory` key is not here.
        let mut pat = |key: &'static str| -> Result<Option<String>, ConfigError> {
            Ok(k.str(key)?.map(str::to_uppercase))
        };
        let sel = Select {
            network: pat("network")?,
            station: pat("station")?,
            location: pat("location")?,
            channel: pat("channel")?,
            component: pat("component")?,
            id: pat("id")?,
            sampling_rate: k.positive("sampling_rate")?,
            npts: k.usize("npts")?,
        };
        sel.check().map_err(|m| k.err("component", m))?;
        Ok(sel)
    }

    /// Decided on the trace's codes before the walk (`Pipeline::selects`): no stages.
    fn compile(&self, _b: &mut Build, _s: &StepShape) -> Result<(), String> {
        Ok(())
    }
}

impl Select {
    /// ObsPy's check: a channel and a component that cannot both match are an error.
    pub fn check(&self) -> Result<(), String> {
        if let (Some(ch), Some(c)) = (&self.channel, &self.component) {
            let last = ch.chars().last().map(String::from).unwrap_or_default();
            if !"?*".contains(last.as_str()) && !"?*".contains(c.as_str()) && *c != last {
                return Err(
                    "Selection criteria for channel and component are mutually exclusive!".into(),
                );
            }
        }
        Ok(())
    }

    pub fn matches(&self, tr: &Trace) -> bool {
        let ok = |pat: &Option<String>, name: &str| {
            pat.as_ref()
                .is_none_or(|p| fnmatch(&name.to_uppercase(), p))
        };
        // Trace.stats.component: the channel's last character.
        let component = tr
            .channel
            .chars()
            .last()
            .map(String::from)
            .unwrap_or_default();
        ok(&self.id, &tr.id())
            && ok(&self.network, &tr.network)
            && ok(&self.station, &tr.station)
            && ok(&self.location, &tr.location)
            && ok(&self.channel, &tr.channel)
            && ok(&self.component, &component)
            && self.sampling_rate.is_none_or(|r| r == tr.sampling_rate)
            && self.npts.is_none_or(|n| n == tr.data.len())
    }
}

/// Python's `fnmatch.fnmatchcase`: `*` any run, `?` one character, `[seq]` / `[!seq]` one
/// character in (not in) the set, with ranges `a-z`; a `[` without its `]` is itself.
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    let n: Vec<char> = name.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    // Iterative matching with one backtrack point for the last `*` (linear in practice;
    // codes are short and patterns come from the pipeline file).
    let (mut i, mut j) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < n.len() {
        if j < p.len() {
            match p[j] {
                '*' => {
                    star = Some((j, i));
                    j += 1;
                    continue;
                }
                '?' => {
                    i += 1;
                    j += 1;
                    continue;
                }
                '[' => {
                    if let Some((hit, next)) = class(&p, j, n[i]) {
                        if hit {
                            i += 1;
                            j = next;
                            continue;
                        }
                    } else if n[i] == '[' {
                        i += 1;
                        j += 1;
                        continue;
                    }
                }
                c if c == n[i] => {
                    i += 1;
                    j += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sj, si)) => {
                star = Some((sj, si + 1));
                j = sj + 1;
                i = si + 1;
            }
            None => return false,
        }
    }
    p[j..].iter().all(|&c| c == '*')
}

/// The class starting at `p[at] == '['`: whether `c` is in it and where the pattern goes on,
/// or None when there is no closing `]` (then `[` is literal, as in Python).
fn class(p: &[char], at: usize, c: char) -> Option<(bool, usize)> {
    let mut k = at + 1;
    let negate = p.get(k) == Some(&'!');
    if negate {
        k += 1;
    }
    // A `]` right after `[` or `[!` is a member.
    let first = k;
    let mut hit = false;
    loop {
        let ch = *p.get(k)?;
        if ch == ']' && k > first {
            return Some((hit != negate, k + 1));
        }
        if p.get(k + 1) == Some(&'-') && p.get(k + 2).is_some_and(|&e| e != ']') {
            let hi = p[k + 2];
            hit |= ch <= c && c <= hi;
            k += 3;
        } else {
            hit |= ch == c;
            k += 1;
        }
    }
}

#[cfg(test)]
mod tests;
