//! The FFT's dispatches (shaders/fft.wgsl, or shaders/fft64.wgsl in f64): real -> complex
//! packing, Stockham radix passes (one device-memory pass each), Bluestein's chirp-z around
//! them, and complex -> real unpacking.

use super::{Buf, Recorder};
use crate::gpu::fft_plan::{self as fft, FftPlan};
use crate::gpu::kernels::FftParams;
use crate::gpu::sizing::WORKGROUP;
use crate::gpu::u32_of;

/// The arithmetic of a transform's kernels and spectra.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Precision {
    /// shaders/fft.wgsl: vec2<f32> spectra, f32 twiddles.
    F32,
    /// shaders/fft64.wgsl: vec2<f64> spectra (two complex slots each), f64 twiddles.
    F64,
}

impl Precision {
    /// The entry point doing `f32_kernel`'s work at this precision.
    pub(crate) fn kernel(self, f32_kernel: &'static str) -> Result<&'static str, String> {
        Ok(match (self, f32_kernel) {
            (Precision::F32, k) => k,
            (Precision::F64, "fft_pack") => "fft64_pack",
            (Precision::F64, "fft_pass") => "fft64_pass",
            (Precision::F64, "fft_cmul") => "fft64_cmul",
            (Precision::F64, "fft_unpack") => "fft64_unpack",
            (Precision::F64, "deconvolve") => "fft64_deconvolve",
            (Precision::F64, k) => return Err(format!("{k} has no f64 kernel")),
        })
    }

    /// Bytes of one complex value.
    pub(crate) fn complex_bytes(self) -> u64 {
        match self {
            Precision::F32 => 8,
            Precision::F64 => 16,
        }
    }

    /// Complex work-buffer slots (8 bytes each) per value.
    pub(crate) fn slots(self) -> usize {
        match self {
            Precision::F32 => 1,
            Precision::F64 => 2,
        }
    }

    fn twiddles(self, n: usize) -> Buf {
        match self {
            Precision::F32 => Buf::Roots(n),
            Precision::F64 => Buf::Roots64(n),
        }
    }

    fn chirp(self, n: usize, inverse: bool) -> Buf {
        match self {
            Precision::F32 => Buf::Chirp(n, inverse),
            Precision::F64 => Buf::Chirp64(n, inverse),
        }
    }

    fn chirp_filter(self, n: usize, inverse: bool) -> Buf {
        match self {
            Precision::F32 => Buf::ChirpFilter(n, inverse),
            Precision::F64 => Buf::ChirpFilter64(n, inverse),
        }
    }
}

/// fft_pack: real samples (n_in per trace) in `Real(real)` -> complex (m per trace) in
/// `Complex(cplx)`, zero-padded.
pub(crate) fn pack(
    r: &mut Recorder,
    prec: Precision,
    real: usize,
    cplx: usize,
    n_in: u32,
    m: u32,
    count: u32,
) -> Result<(), String> {
    let p = FftParams {
        n_in,
        n_out: m,
        count,
        ..Default::default()
    };
    let b = u64::from(count);
    r.dispatch(
        prec.kernel("fft_pack")?,
        &p,
        &[(2, Buf::Complex(cplx)), (4, Buf::Real(real))],
        b * u64::from(m),
        WORKGROUP,
        b * u64::from(n_in) * 4,
        b * u64::from(m) * prec.complex_bytes(),
    )
}

/// fft_unpack: the real parts of the first n_out of m complex values per trace in
/// `Complex(from)`, scaled, to `Real(to)` (fft64_unpack divides by m in f64 instead of taking
/// `scale`).
pub(crate) fn unpack(
    r: &mut Recorder,
    prec: Precision,
    (from, to): (usize, usize),
    m: u32,
    n_out: u32,
    scale: f32,
    count: u32,
) -> Result<(), String> {
    let p = FftParams {
        n_in: m,
        n_out,
        count,
        scale,
        ..Default::default()
    };
    let b = u64::from(count);
    r.dispatch(
        prec.kernel("fft_unpack")?,
        &p,
        &[(1, Buf::Complex(from)), (5, Buf::Real(to))],
        b * u64::from(n_out),
        WORKGROUP,
        b * u64::from(n_out) * prec.complex_bytes(),
        b * u64::from(n_out) * 4,
    )
}

/// A batched FFT of `plan.len()` points from `Complex(src)`; returns the buffer index
/// holding the result.
pub(crate) fn transform(
    r: &mut Recorder,
    prec: Precision,
    src: usize,
    plan: &FftPlan,
    inverse: bool,
    count: u32,
) -> Result<usize, String> {
    let cb = prec.complex_bytes();
    match plan {
        FftPlan::Stockham { n, radices } => stockham(r, prec, src, *n, radices, inverse, count),
        FftPlan::Bluestein { n, m } => {
            let (n, m) = (*n, *m);
            let b = u64::from(count);
            let a = (src + 1) % 3;
            let (n32, m32) = (u32_of("fft length", n)?, u32_of("fft length", m)?);
            let p = FftParams {
                n_in: n32,
                n_out: m32,
                count,
                lim: n32,
                scale: 1.0,
                ..Default::default()
            };
            let chirp = prec.chirp(n, inverse);
            let cmul = prec.kernel("fft_cmul")?;
            r.dispatch(
                cmul,
                &p,
                &[(1, Buf::Complex(src)), (2, Buf::Complex(a)), (3, chirp)],
                b * m as u64,
                WORKGROUP,
                b * n as u64 * cb,
                b * m as u64 * cb,
            )?;
            let radices = fft::smooth_radices(m)
                .ok_or_else(|| format!("Bluestein length {m} is not smooth"))?;
            let r1 = stockham(r, prec, a, m, &radices, false, count)?;
            let c = (r1 + 1) % 3;
            let p = FftParams {
                n_in: m32,
                n_out: m32,
                lim: m32,
                ..p
            };
            r.dispatch(
                cmul,
                &p,
                &[
                    (1, Buf::Complex(r1)),
                    (2, Buf::Complex(c)),
                    (3, prec.chirp_filter(n, inverse)),
                ],
                b * m as u64,
                WORKGROUP,
                b * m as u64 * cb,
                b * m as u64 * cb,
            )?;
            let r2 = stockham(r, prec, c, m, &radices, true, count)?;
            let d = (r2 + 1) % 3;
            let p = FftParams {
                n_in: m32,
                n_out: n32,
                lim: n32,
                ..p
            };
            r.dispatch(
                cmul,
                &p,
                &[(1, Buf::Complex(r2)), (2, Buf::Complex(d)), (3, chirp)],
                b * n as u64,
                WORKGROUP,
                b * n as u64 * cb,
                b * n as u64 * cb,
            )?;
            Ok(d)
        }
    }
}

fn stockham(
    r: &mut Recorder,
    prec: Precision,
    src: usize,
    n: usize,
    radices: &[u32],
    inverse: bool,
    count: u32,
) -> Result<usize, String> {
    let n32 = u32_of("fft length", n)?;
    let b = u64::from(count);
    let bytes = b * n as u64 * prec.complex_bytes();
    let mut cur = src;
    let mut ns = 1u32;
    for &radix in radices {
        let dst = (cur + 1) % 3;
        let p = FftParams {
            n_in: n32,
            n_out: n32,
            count,
            ns,
            radix,
            inverse: u32::from(inverse),
            lim: 0,
            scale: 1.0,
            roots: u32_of("fft length", fft::roots_row(n))?,
            ..Default::default()
        };
        r.dispatch(
            prec.kernel("fft_pass")?,
            &p,
            &[
                (1, Buf::Complex(cur)),
                (2, Buf::Complex(dst)),
                (3, prec.twiddles(n)),
            ],
            b * (n / radix as usize) as u64,
            WORKGROUP,
            bytes,
            bytes,
        )?;
        ns *= radix;
        cur = dst;
    }
    Ok(cur)
}

/// A bare batched complex FFT program (the fft kernel tests and the fft/gpu benchmark):
/// input in `Complex(0)`, output where the returned program says.
pub fn complex_fft(
    n: usize,
    count: usize,
    inverse: bool,
    caps: &super::Caps,
) -> Result<super::Program, String> {
    let plan = FftPlan::new(n);
    let mut r = Recorder {
        caps,
        stage: 0,
        dispatches: Vec::new(),
        tables: Vec::new(),
    };
    let out = transform(
        &mut r,
        Precision::F32,
        0,
        &plan,
        inverse,
        u32_of("a batch of", count)?,
    )?;
    Ok(super::Program {
        count,
        n_in: n,
        n_out: n,
        centre: None,
        output: Buf::Complex(out),
        dispatches: r.dispatches,
        tables: r.tables,
        per_trace: super::PerTrace {
            real: 0,
            complex: plan.scratch_len() as u64 * 8,
            fit: 0,
            state: 0,
            upload: n as u64 * 8,
            download: n as u64 * 8,
        },
        stages: 0..0,
        workgroup_bytes: 0,
    })
}
