//! Every shader parses and validates with naga (the compiler inside wgpu), with no device:
//! a WGSL error shows up here, on any machine, before a GPU test can run.

use std::path::Path;

use naga::valid::{Capabilities, ValidationFlags, Validator};

/// Every shader of the stage table (`seisbatch::gpu::stages::SHADERS`: the stages, then the FFTs).
fn shaders() -> impl Iterator<Item = &'static str> {
    seisbatch::gpu::stages::SHADERS.iter().map(|s| s.name)
}

/// A shader's source as the device compiles it (the common preamble, then the file).
fn source(name: &str) -> String {
    seisbatch::gpu::stages::SHADERS
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.source.to_string())
        .unwrap()
}

#[test]
fn every_shader_validates_with_naga() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .expect("shaders/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".wgsl"))
        .collect();
    found.sort();
    let mut want: Vec<String> = shaders().map(|s| format!("{s}.wgsl")).collect();
    want.push("common.wgsl".into());
    want.sort();
    assert_eq!(
        found, want,
        "shaders/ must hold exactly the stage table's shaders and their common preamble"
    );
    let common = std::fs::read_to_string(dir.join("common.wgsl")).unwrap();
    for stage in shaders() {
        let own = std::fs::read_to_string(dir.join(format!("{stage}.wgsl"))).unwrap();
        let src = source(stage);
        assert_eq!(
            src,
            format!("{common}{own}"),
            "{stage}: the preamble, then the file"
        );
        assert!(
            !own.contains("wid.z * nwg.y"),
            "{stage}.wgsl: index dispatches with common.wgsl's group_index / invocation_index"
        );
        let module = naga::front::wgsl::parse_str(&src)
            .unwrap_or_else(|e| panic!("{stage}.wgsl: {}", e.emit_to_string(&src)));
        // FLOAT64 only where the kernel declares f64 (the table's NEEDS_F64, which the device
        // compiles only with SHADER_F64); the rest must run without it.
        let code: String = src
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect();
        assert_eq!(
            code.contains("f64"),
            seisbatch::gpu::stages::NEEDS_F64.contains(&stage),
            "{stage}.wgsl: uses f64 exactly when the stage table says it needs SHADER_F64"
        );
        let caps = if code.contains("f64") {
            Capabilities::FLOAT64
        } else {
            Capabilities::empty()
        };
        Validator::new(ValidationFlags::all(), caps)
            .validate(&module)
            .unwrap_or_else(|e| panic!("{stage}.wgsl: {}", e.emit_to_string(&src)));
        assert!(
            module
                .entry_points
                .iter()
                .any(|e| e.name.starts_with(stage)),
            "{stage}.wgsl has an entry point named after its stage"
        );
    }
}

/// A Rust struct's size and its fields' (name, offset), in declaration order.
type Layout = (usize, Vec<(&'static str, usize)>);

macro_rules! layout {
    ($t:ty { $($f:ident),* $(,)? }) => {
        (
            std::mem::size_of::<$t>(),
            vec![$((stringify!($f), std::mem::offset_of!($t, $f))),*],
        )
    };
}

/// The Rust twin of a shader struct, by the path its "keep in sync with" comment names.
fn rust_layout(path: &str) -> Option<Layout> {
    use seisbatch::gpu::kernels::{CcParams, FftParams, PartStarts, RfftParams, SpecParams};
    use seisbatch::gpu::stages::{
        decimate, deconvolve, detrend, differentiate, filter, integrate, interpolate, normalize,
        remove_sensitivity, resample, taper, trim,
    };
    Some(match path {
        "gpu::stages::decimate::DecimateParams" => {
            layout!(decimate::DecimateParams {
                n_in,
                n_out,
                count,
                factor
            })
        }
        "gpu::stages::deconvolve::DeconvolveParams" => {
            layout!(deconvolve::DeconvolveParams {
                nfft,
                count,
                _pad0,
                _pad1
            })
        }
        "gpu::stages::detrend::DetrendParams" => {
            layout!(detrend::DetrendParams {
                n,
                count,
                kind,
                _pad
            })
        }
        "gpu::stages::detrend::Detrend64Params" => {
            layout!(detrend::Detrend64Params {
                n,
                count,
                terms,
                _pad
            })
        }
        "gpu::stages::differentiate::DifferentiateParams" => {
            layout!(differentiate::DifferentiateParams { n, count, dx, _pad })
        }
        "gpu::stages::filter::FilterParams" => layout!(filter::FilterParams {
            n,
            count,
            sections,
            reverse,
            t0,
            len,
            _pad0,
            _pad1
        }),
        "gpu::stages::integrate::IntegrateParams" => {
            layout!(integrate::IntegrateParams { n, count, dx, _pad })
        }
        "gpu::stages::interpolate::InterpolateParams" => {
            layout!(interpolate::InterpolateParams { n, npts, count, a })
        }
        "gpu::stages::interpolate::GridPoint" => layout!(interpolate::GridPoint { idx, frac }),
        "gpu::stages::normalize::NormalizeParams" => {
            layout!(normalize::NormalizeParams {
                n,
                count,
                given,
                divisor
            })
        }
        "gpu::stages::remove_sensitivity::SensitivityParams" => {
            layout!(remove_sensitivity::SensitivityParams {
                n,
                count,
                _pad0,
                _pad1
            })
        }
        "gpu::stages::resample::ResampleParams" => {
            layout!(resample::ResampleParams {
                n,
                num,
                count,
                stride
            })
        }
        "gpu::stages::resample::Tap" => layout!(resample::Tap { k, a, b, _pad }),
        "gpu::stages::taper::TaperParams" => layout!(taper::TaperParams {
            n,
            count,
            _pad0,
            _pad1
        }),
        "gpu::stages::trim::TrimParams" => layout!(trim::TrimParams {
            n_in,
            n_out,
            count,
            pad_before,
            skip,
            keep,
            fill,
            _pad
        }),
        "gpu::kernels::FftParams" => layout!(FftParams {
            n_in,
            n_out,
            count,
            ns,
            radix,
            inverse,
            lim,
            scale,
            roots,
            _pad0,
            _pad1,
            _pad2
        }),
        "gpu::kernels::CcParams" => layout!(CcParams {
            n2,
            nfft,
            windows,
            base,
            mean_re,
            mean_im,
            inv,
            first,
            nlags,
            count,
            _pad0,
            _pad1
        }),
        "gpu::kernels::SpecParams" => layout!(SpecParams {
            len,
            nfft,
            n2,
            count,
            base,
            kind,
            points,
            ix00,
            ix1,
            ix11,
            nlo,
            nhi
        }),
        "gpu::kernels::PartStarts" => layout!(PartStarts {
            data,
            table,
            _pad0,
            _pad1
        }),
        "gpu::kernels::RfftParams" => layout!(RfftParams {
            n,
            n1,
            n2,
            count,
            n_real,
            per_group,
            passes1,
            passes2,
            radices1,
            radices2,
            prologue,
            fit_kind,
            scale,
            limit
        }),
        _ => return None,
    })
}

/// Every shader struct with a Rust twin ("keep in sync with <path>") has the same member
/// names, offsets and size as that twin, read from naga's layout of the WGSL and from
/// `offset_of!`: the bytes the host uploads are what the kernel reads.
#[test]
fn shader_structs_match_their_rust_twins_byte_for_byte() {
    let mut checked = 0;
    for stage in shaders() {
        let src = source(stage);
        let module = naga::front::wgsl::parse_str(&src).unwrap();
        for line in src.lines() {
            let Some(rest) = line.strip_prefix("struct ") else {
                continue;
            };
            let name = rest.split_whitespace().next().unwrap_or("");
            let Some(path) = line.split("keep in sync with ").nth(1) else {
                continue;
            };
            let path = path.trim();
            let (size, fields) = rust_layout(path)
                .unwrap_or_else(|| panic!("{stage}.wgsl {name}: add {path} to rust_layout"));
            let (members, span) = module
                .types
                .iter()
                .find_map(|(_, t)| match &t.inner {
                    naga::TypeInner::Struct { members, span }
                        if t.name.as_deref() == Some(name) =>
                    {
                        Some((members.clone(), *span))
                    }
                    _ => None,
                })
                .unwrap_or_else(|| panic!("{stage}.wgsl: no struct {name}"));
            let wgsl: Vec<(String, usize)> = members
                .iter()
                .map(|m| (m.name.clone().unwrap_or_default(), m.offset as usize))
                .collect();
            let rust: Vec<(String, usize)> =
                fields.iter().map(|(f, o)| (f.to_string(), *o)).collect();
            assert_eq!(
                wgsl, rust,
                "{stage}.wgsl {name} vs {path}: members and offsets"
            );
            assert_eq!(span as usize, size, "{stage}.wgsl {name} vs {path}: size");
            checked += 1;
        }
    }
    // Every stage's params, the FFTs' (twice: fft and fft64) and the two table element types.
    assert!(checked >= 17, "only {checked} structs checked");
}
