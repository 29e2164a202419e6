//! `taper` (also remove_response's taper): the whole-trace window, ones between the tapered
//! ends; twin: a multiplication (`ops::taper` builds the window), kernel `taper`.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{OnCpu, StageError, StageOps};

#[derive(Debug, Clone, PartialEq)]
pub struct Taper {
    pub window: Arc<[f64]>,
}

impl StageOps for Taper {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        x.tr.data
            .iter_mut()
            .zip(self.window.iter())
            .for_each(|(v, w)| *v *= w);
        Ok(())
    }

    fn describe(&self) -> Value {
        json!({
            "window_samples": self.window.len(),
            "tapered_samples": self.window.iter().filter(|&&w| w != 1.0).count(),
        })
    }

    fn table_bytes(&self) -> usize {
        self.window.len() * 8
    }
}
