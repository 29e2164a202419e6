use bytemuck::{Pod, Zeroable};

use super::{Record, Recording};
use crate::gpu::record::{Buf, Caps, Fusable};
use crate::gpu::sizing::WORKGROUP;
use crate::gpu::u32_of;
use crate::ops::detrend::DetrendType;
use crate::stages::Detrend;

/// shaders/detrend.wgsl `DetrendParams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct DetrendParams {
    pub n: u32,
    pub count: u32,
    /// 0 demean, 1 linear, 2 simple.
    pub kind: u32,
    pub _pad: u32,
}

/// shaders/detrend64.wgsl `Detrend64Params`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct Detrend64Params {
    pub n: u32,
    pub count: u32,
    /// order + 1 (at most MAX_TERMS and at most n).
    pub terms: u32,
    pub _pad: u32,
}

/// shaders/detrend64.wgsl `MAX_TERMS`: the polynomials a kernel invocation holds.
pub const MAX_TERMS: usize = 16;

/// The orthogonal polynomials of an n-sample grid for shaders/detrend64.wgsl, in f64:
/// 1/c (u = (i - (n-1)/2) / c lies in [-1, 1]), the recurrence's g_1..g_{terms-1}, then the
/// inverse norms 1/h_0..1/h_{terms-1}. For the monic Gram polynomials in t = i - (n-1)/2,
/// P_{k+1} = t P_k - b_k P_{k-1} with b_k = k^2 (n^2 - k^2) / (4 (4k^2 - 1)) and
/// |P_k|^2 = b_k |P_{k-1}|^2, |P_0|^2 = n; scaled by c^k, g_k = b_k / c^2.
pub fn gram_table(n: usize, terms: usize) -> Vec<f64> {
    let nf = n as f64;
    let c = if n > 1 { (nf - 1.0) / 2.0 } else { 1.0 };
    let mut g = vec![1.0 / c];
    let mut h = vec![nf];
    for k in 1..terms {
        let kf = k as f64;
        let b = kf * kf * (nf * nf - kf * kf) / (4.0 * (4.0 * kf * kf - 1.0)) / (c * c);
        g.push(b);
        h.push(b * h[k - 1]);
    }
    g.extend(h.iter().map(|h| 1.0 / h));
    g
}

impl Detrend {
    /// The polynomial fit on the device (shaders/detrend64.wgsl).
    fn record_polynomial(&self, x: &mut Recording, order: usize) -> Result<(), String> {
        let terms = (order + 1).min(x.n_in as usize);
        let p = Detrend64Params {
            n: x.n_in,
            count: x.cnt,
            terms: u32_of("polynomial terms", terms)?,
            _pad: 0,
        };
        let table = gram_table(x.n_in as usize, terms);
        let g =
            x.r.table("detrend gram", bytemuck::cast_slice(&table).to_vec());
        // The coefficients in the first complex buffer (MAX_TERMS f64 per trace: 8-byte
        // complex slots), free between stages.
        x.max_complex = x.max_complex.max(MAX_TERMS);
        let (b, real) = (x.b, x.real_bytes());
        let bind = [(1, Buf::Real(x.cur)), (2, g), (3, Buf::Complex(0))];
        let coefs = b * terms as u64 * 8;
        x.r.dispatch(
            "detrend64_fit",
            &p,
            &bind,
            b * u64::from(WORKGROUP),
            WORKGROUP,
            real,
            coefs,
        )?;
        x.r.dispatch(
            "detrend64_apply",
            &p,
            &bind,
            real / 4,
            WORKGROUP,
            real + coefs,
            real,
        )
    }
}

impl Record for Detrend {
    fn record(&self, x: &mut Recording) -> Result<(), String> {
        if let DetrendType::Polynomial { order } = self.kind {
            return self.record_polynomial(x, order);
        }
        // Opening the program, a detrend has nothing left to do: the upload removed each
        // trace's f64 line before rounding to f32 (`Program::centre`), which is the whole of
        // ObsPy's detrend, and more exactly than an f32 fit on the device (issue #23).
        if x.first && self.kind.is_line() {
            return Ok(());
        }
        let p = DetrendParams {
            n: x.n_in,
            count: x.cnt,
            kind: match self.kind {
                DetrendType::Demean => 0,
                DetrendType::Linear => 1,
                DetrendType::Simple => 2,
                DetrendType::Polynomial { .. } | DetrendType::Spline { .. } => {
                    return Err(format!("detrend {:?} has no kernel", self.kind))
                }
            },
            _pad: 0,
        };
        let (b, real) = (x.b, x.real_bytes());
        let fit = [(1, Buf::Real(x.cur)), (2, Buf::Fit)];
        x.r.dispatch(
            "detrend_fit",
            &p,
            &fit,
            b * u64::from(WORKGROUP),
            WORKGROUP,
            real,
            b * 8,
        )?;
        x.r.dispatch(
            "detrend_apply",
            &p,
            &fit,
            real / 4,
            WORKGROUP,
            real + b * 8,
            real,
        )?;
        x.r.mark_fusable(Fusable::Line {
            buffer: x.cur,
            kind: p.kind,
        });
        Ok(())
    }

    /// The polynomial fit needs SHADER_F64 and at most MAX_TERMS terms; the spline fit is a
    /// banded least-squares solve over the whole trace (sequential), the host's f64 twin
    /// between the device's stages.
    fn device_limit(&self, caps: &Caps) -> Option<String> {
        match self.kind {
            DetrendType::Polynomial { order } if !caps.shader_f64 => Some(format!(
                "detrend polynomial of order {order} (the adapter has no SHADER_F64 for the f64 fit)"
            )),
            DetrendType::Polynomial { order } if order >= MAX_TERMS => Some(format!(
                "detrend polynomial of order {order} (the kernel fits at most order {})",
                MAX_TERMS - 1
            )),
            DetrendType::Spline { .. } => {
                Some("detrend spline (a banded least-squares solve on the host)".into())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table's recurrence makes polynomials orthogonal over the grid, with the norms the
    /// table inverts (checked by summing in f64, as the kernel evaluates them).
    #[test]
    fn gram_polynomials_are_orthogonal_with_the_tables_norms() {
        for n in [2usize, 3, 5, 100, 1001, 86_400] {
            let terms = 8.min(n);
            let g = gram_table(n, terms);
            let q = |i: usize| {
                let u = (i as f64 - (n as f64 - 1.0) / 2.0) * g[0];
                let mut q = vec![1.0, u];
                for k in 1..terms - 1 {
                    q.push(u * q[k] - g[k] * q[k - 1]);
                }
                q.truncate(terms);
                q
            };
            let mut gram = vec![0.0; terms * terms];
            for i in 0..n {
                let v = q(i);
                for a in 0..terms {
                    for b in 0..terms {
                        gram[a * terms + b] += v[a] * v[b];
                    }
                }
            }
            for a in 0..terms {
                let h = gram[a * terms + a];
                assert!(
                    (h * g[terms + a] - 1.0).abs() < 1e-9,
                    "n={n} k={a}: norm {h} vs table {}",
                    1.0 / g[terms + a]
                );
                for b in 0..a {
                    let off = gram[a * terms + b] / (h * gram[b * terms + b]).sqrt();
                    assert!(off.abs() < 1e-9, "n={n}: <Q{a}, Q{b}> = {off}");
                }
            }
        }
    }
}
