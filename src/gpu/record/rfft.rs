//! remove_response's transform pair through shaders/rfft.wgsl: three passes through device
//! memory (rfft_in, rfft_deconvolve, rfft_out) where the radix passes take ~12, with the
//! detrend line and the taper window just before it taken into the first pass's load.

use super::{Buf, Prologue};
use crate::gpu::fft_plan::RfftSplit;
use crate::gpu::kernels::{RfftParams, RFFT_TILE};
use crate::gpu::sizing::WORKGROUP;
use crate::gpu::stages::Recording;
use crate::gpu::{to_f32, u32_of};

fn radices(r: &[u32]) -> Result<[u32; 8], String> {
    let mut out = [0u32; 8];
    out.get_mut(..r.len())
        .ok_or_else(|| format!("{} radix passes exceed RfftParams' 8", r.len()))?
        .copy_from_slice(r);
    Ok(out)
}

/// rfft_in's parameters for a real transform of `2 half` points of `split` over the batch
/// of `x` (lines and passes; the prologue and scale are the caller's).
fn params(x: &Recording, split: &RfftSplit, half: usize) -> Result<RfftParams, String> {
    Ok(RfftParams {
        n: u32_of("fft length", half)?,
        n1: u32_of("fft line", split.n1)?,
        n2: u32_of("fft line", split.n2)?,
        count: x.cnt,
        n_real: x.n_in,
        per_group: u32_of("lines", (RFFT_TILE / split.n1.max(1)).max(1))?,
        passes1: u32_of("passes", split.radices1.len())?,
        passes2: u32_of("passes", split.radices2.len())?,
        radices1: radices(&split.radices1)?,
        radices2: radices(&split.radices2)?,
        prologue: 0,
        fit_kind: 0,
        scale: 1.0,
        limit: 0,
    })
}

/// Invocations of rfft_in / rfft_out: one workgroup per `per_group` lines.
fn line_invocations(x: &Recording, p: &RfftParams) -> u64 {
    (u64::from(p.n2) * x.b).div_ceil(u64::from(p.per_group)) * u64::from(WORKGROUP)
}

/// Pass 1 (rfft_in) from `Real(x.cur)` into `Complex(0)`, with whatever detrend line and
/// taper window end the program so far taken into its load.
fn forward_in(x: &mut Recording, base: &mut RfftParams, nfft: usize) -> Result<(), String> {
    let pro: Prologue = x.r.take_prologue(x.cur);
    let window = match pro.window {
        Some(w) => w,
        // rfft_in binds a window whether or not it reads one.
        None => x.r.table("no window", vec![0; 4]),
    };
    base.prologue = u32::from(pro.line.is_some()) | (u32::from(pro.window.is_some()) << 1);
    base.fit_kind = pro.line.unwrap_or(0);
    let fit_bytes = if pro.line.is_some() { x.b * 8 } else { 0 };
    let invocations = line_invocations(x, base);
    x.r.dispatch(
        "rfft_in",
        &*base,
        &[
            (2, Buf::Complex(0)),
            (3, Buf::Twiddles(nfft)),
            (4, Buf::Real(x.cur)),
            (8, window),
            (9, Buf::Fit),
        ],
        invocations,
        WORKGROUP,
        x.real_bytes() + fit_bytes,
        x.b * u64::from(base.n) * 8,
    )?;
    if let Some(d) = x.r.dispatches.last_mut() {
        d.fused = pro.stages;
    }
    Ok(())
}

/// Workgroups of rfft_deconvolve / rfft_spectrum (line pairs) and the bytes they read: 2 n2
/// values each (line 0, and line n1/2 for an even n1, twice).
fn pair_groups(x: &Recording, p: &RfftParams) -> (u64, u64) {
    let pairs = u64::from(p.n1 / 2 + 1) * x.b;
    (pairs, pairs * 2 * u64::from(p.n2) * 8)
}

/// Records the deconvolution of `x`'s batch (samples in `Real(x.cur)`, result back there):
/// `nfft` with `split`, each trace's table from `tables` at its slot in `slots`
/// (`Responses(nfft)` and `Slots(response)`, or a program's own table and zero slots).
pub(crate) fn deconvolve_fused(
    x: &mut Recording,
    split: &RfftSplit,
    nfft: usize,
    (tables, slots): (Buf, Buf),
) -> Result<(), String> {
    let half = nfft / 2;
    x.max_complex = x.max_complex.max(half);
    let mut base = params(x, split, half)?;
    forward_in(x, &mut base, nfft)?;
    let (b, cplx) = (x.b, x.b * half as u64 * 8);
    let (pairs, read) = pair_groups(x, &base);
    // Each trace reads its own table of half + 1 bins and its slot.
    x.r.dispatch(
        "rfft_deconvolve",
        &base,
        &[
            (1, Buf::Complex(0)),
            (2, Buf::Complex(1)),
            (3, Buf::Twiddles(nfft)),
            (6, tables),
            (7, slots),
        ],
        pairs * u64::from(WORKGROUP),
        WORKGROUP,
        read + b * (half as u64 + 1) * 8 + b * 4,
        cplx,
    )?;
    let out = RfftParams {
        n_real: x.n_out,
        scale: to_f32(1.0 / half as f64),
        ..base
    };
    let invocations = line_invocations(x, &out);
    x.r.dispatch(
        "rfft_out",
        &out,
        &[
            (1, Buf::Complex(1)),
            (3, Buf::Twiddles(nfft)),
            (5, Buf::Real(x.cur)),
        ],
        invocations,
        WORKGROUP,
        cplx,
        b * u64::from(x.n_out) * 4,
    )
}

/// The half spectrum X[0..=top] of the real transform of the `n` samples in `Real(x.cur)`
/// (n with `split`), compact (top + 1 values per trace) in the returned complex buffer: the
/// forward transform in two passes, writing only the bins a later gather reads.
pub(crate) fn half_spectrum(
    x: &mut Recording,
    split: &RfftSplit,
    n: usize,
    top: usize,
) -> Result<usize, String> {
    let half = n / 2;
    if top > half {
        return Err(format!("bin {top} is past the spectrum of {n} samples"));
    }
    x.max_complex = x.max_complex.max(half).max(top + 1);
    let mut base = params(x, split, half)?;
    base.limit = u32_of("bins", top)?;
    forward_in(x, &mut base, n)?;
    let (pairs, read) = pair_groups(x, &base);
    x.r.dispatch(
        "rfft_spectrum",
        &base,
        &[
            (1, Buf::Complex(0)),
            (2, Buf::Complex(1)),
            (3, Buf::Twiddles(n)),
        ],
        pairs * u64::from(WORKGROUP),
        WORKGROUP,
        read,
        x.b * (top as u64 + 1) * 8,
    )?;
    Ok(1)
}
