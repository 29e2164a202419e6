//! f64 implementations of the ObsPy operations, one file per stage (`shaders/<stage>.wgsl`
//! is each one's GPU twin), plus the shape rules the plan asks of them (what length, rate
//! and warning a step gives, and when ObsPy refuses). `exec::cpu` runs a plan's stages
//! through these; `fft` and `iir` are the transforms and filter designs they share.

pub mod decimate;
pub mod deconvolve;
pub mod detrend;
pub mod differentiate;
pub mod fft;
pub mod filter;
pub mod iir;
pub mod integrate;
pub mod interpolate;
pub mod lsq;
pub mod merge;
pub mod noise;
pub mod normalize;
pub mod remove_sensitivity;
pub mod resample;
pub mod rotate;
pub mod simulate;
pub mod taper;
pub mod trim;
pub mod windows;
