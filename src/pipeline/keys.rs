//! Typed access to one `[[step]]` table, shared by the operations' parsers
//! (`pipeline::ops`): every key read is remembered, so a key no parser read is an error that
//! lists the known ones.

use std::collections::BTreeMap;

use crate::error::ConfigError;

/// Typed access to one step's table that remembers which keys were used, so unknown keys
/// are reported instead of silently ignored (a misspelled `water_lvl` would otherwise
/// quietly fall back to a default).
pub(crate) struct Keys<'a> {
    step: usize,
    op: &'a str,
    pub(crate) t: &'a toml::Table,
    used: BTreeMap<&'static str, ()>,
}

impl<'a> Keys<'a> {
    pub(crate) fn new(step: usize, op: &'a str, t: &'a toml::Table) -> Keys<'a> {
        Keys {
            step,
            op,
            t,
            used: BTreeMap::new(),
        }
    }

    /// The step's number (1-based), as warnings and errors name it.
    pub(crate) fn step(&self) -> usize {
        self.step
    }

    pub(crate) fn err(&self, key: &str, msg: impl Into<String>) -> ConfigError {
        ConfigError::key(self.step, self.op, key, msg)
    }
    pub(crate) fn get(&mut self, key: &'static str) -> Option<&'a toml::Value> {
        self.used.insert(key, ());
        self.t.get(key)
    }
    pub(crate) fn f64(&mut self, key: &'static str) -> Result<Option<f64>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::Float(x)) if x.is_finite() => Ok(Some(*x)),
            Some(toml::Value::Integer(x)) => Ok(Some(*x as f64)),
            Some(v) => Err(self.err(key, format!("expected a finite number, got {v}"))),
        }
    }
    pub(crate) fn bool(&mut self, key: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(v) => Err(self.err(key, format!("expected true or false, got {v}"))),
        }
    }
    pub(crate) fn str(&mut self, key: &'static str) -> Result<Option<&'a str>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(self.err(key, format!("expected a string, got {v}"))),
        }
    }
    pub(crate) fn usize(&mut self, key: &'static str) -> Result<Option<usize>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::Integer(x)) if *x >= 0 => Ok(Some(*x as usize)),
            Some(v) => Err(self.err(key, format!("expected a non-negative integer, got {v}"))),
        }
    }
    pub(crate) fn positive(&mut self, key: &'static str) -> Result<Option<f64>, ConfigError> {
        match self.f64(key)? {
            Some(x) if x <= 0.0 => Err(self.err(key, format!("must be > 0, got {x}"))),
            v => Ok(v),
        }
    }
    /// A required sampling rate a trace can carry (`limits::rate_problem`).
    pub(crate) fn rate(&mut self, key: &'static str) -> Result<f64, ConfigError> {
        let r = self
            .positive(key)?
            .ok_or_else(|| self.err(key, "required, in Hz"))?;
        match crate::limits::rate_problem(r) {
            Some(p) => Err(self.err(key, p)),
            None => Ok(r),
        }
    }
    pub(crate) fn finish(self) -> Result<(), ConfigError> {
        for k in self.t.keys() {
            if k != "op" && !self.used.contains_key(k.as_str()) {
                let known: Vec<&str> = self.used.keys().copied().collect();
                return Err(self.err(
                    k,
                    format!("unknown key for this op (known keys: {})", known.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// `pre_filt = [f1, f2, f3, f4]` (Hz, 0 <= f1 < f2 <= f3 < f4), or None: ObsPy's
    /// pre-filter corners (remove_response, simulate).
    pub(crate) fn pre_filt(&mut self) -> Result<Option<[f64; 4]>, ConfigError> {
        match self.get("pre_filt") {
            None => Ok(None),
            Some(toml::Value::Array(a)) => {
                let v: Option<Vec<f64>> = a
                    .iter()
                    .map(|x| match x {
                        toml::Value::Float(f) if f.is_finite() => Some(*f),
                        toml::Value::Integer(i) => Some(*i as f64),
                        _ => None,
                    })
                    .collect();
                match v {
                    Some(v) if v.len() == 4 => {
                        if !(v[0] >= 0.0 && v[0] < v[1] && v[1] <= v[2] && v[2] < v[3]) {
                            return Err(self.err(
                                "pre_filt",
                                format!("expected 0 <= f1 < f2 <= f3 < f4, got {v:?}"),
                            ));
                        }
                        Ok(Some([v[0], v[1], v[2], v[3]]))
                    }
                    _ => Err(self.err(
                        "pre_filt",
                        "expected an array of 4 numbers [f1, f2, f3, f4]",
                    )),
                }
            }
            Some(v) => Err(self.err(
                "pre_filt",
                format!("expected an array of 4 numbers, got {v}"),
            )),
        }
    }
}
