//! `taper` (also remove_response's taper): the whole-trace window, ones between the tapered
//! ends; twin: a multiplication (`ops::taper` builds the window), kernel `taper`.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{OnCpu, StageError, StageOps};

#[derive(Debug, Clone, PartialEq)]
pub struct Taper {
    pub window: Window,
}

/// A whole-trace window as its tapered ends: the longest run of ones between them is not
/// stored (a day trace's whole window was 8 bytes per sample held by its plan, issue #26),
/// and is not multiplied by (x times 1.0 is x, bit for bit, NaN and -0.0 included).
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    len: usize,
    left: Arc<[f64]>,
    right: Arc<[f64]>,
}

impl From<Vec<f64>> for Window {
    fn from(w: Vec<f64>) -> Window {
        // The longest run of exact ones.
        let (mut best, mut start) = (0..0, None);
        for (i, &v) in w.iter().chain([&0.0]).enumerate() {
            match (v == 1.0, start) {
                (true, None) => start = Some(i),
                (false, Some(a)) => {
                    if i - a > best.len() {
                        best = a..i;
                    }
                    start = None;
                }
                _ => {}
            }
        }
        Window {
            len: w.len(),
            left: w[..best.start].into(),
            right: w[best.end..].into(),
        }
    }
}

impl Window {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sample i's factor (1.0 past the end).
    pub fn at(&self, i: usize) -> f64 {
        let hi = self.len - self.right.len();
        if i < self.left.len() {
            self.left[i]
        } else if i >= hi && i < self.len {
            self.right[i - hi]
        } else {
            1.0
        }
    }

    /// Every factor, in order.
    pub fn iter(&self) -> impl Iterator<Item = f64> + '_ {
        (0..self.len).map(|i| self.at(i))
    }

    /// x times the window, the ends only.
    pub fn apply(&self, x: &mut [f64]) {
        let hi = self.len - self.right.len();
        x.iter_mut()
            .zip(self.left.iter())
            .for_each(|(v, w)| *v *= w);
        if let Some(tail) = x.get_mut(hi..) {
            tail.iter_mut()
                .zip(self.right.iter())
                .for_each(|(v, w)| *v *= w);
        }
    }

    /// Bytes held.
    fn bytes(&self) -> usize {
        (self.left.len() + self.right.len()) * 8
    }
}

impl StageOps for Taper {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        self.window.apply(&mut x.tr.data);
        Ok(())
    }

    fn describe(&self) -> Value {
        json!({
            "window_samples": self.window.len(),
            "tapered_samples": self.window.iter().filter(|&w| w != 1.0).count(),
        })
    }

    fn table_bytes(&self) -> usize {
        self.window.bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored ends give every factor of the whole window, and applying them multiplies as
    /// the whole window did, bit for bit.
    #[test]
    fn a_window_keeps_its_ends_and_gives_the_whole_windows_bits() {
        let whole: Vec<f64> = (0..1000)
            .map(|i| match i {
                // A one inside a ramp: not the longest run, kept.
                60 => 1.0,
                0..100 => i as f64 / 100.0,
                100..900 => 1.0,
                _ => (1000 - i) as f64 / 101.0,
            })
            .collect();
        let w = Window::from(whole.clone());
        assert_eq!(w.len(), 1000);
        assert_eq!(w.bytes(), (100 + 100) * 8);
        assert_eq!(w.iter().collect::<Vec<_>>(), whole);
        let x: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.37).sin() * 1e3).collect();
        let mut got = x.clone();
        w.apply(&mut got);
        let want: Vec<f64> = x.iter().zip(&whole).map(|(a, b)| a * b).collect();
        assert!(got
            .iter()
            .zip(&want)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        // No ones at all, and all ones.
        let ramp = Window::from(vec![0.5; 10]);
        assert_eq!(ramp.iter().collect::<Vec<_>>(), vec![0.5; 10]);
        assert_eq!(Window::from(vec![1.0; 10]).bytes(), 0);
        assert_eq!(Window::from(Vec::new()).len(), 0);
    }
}
