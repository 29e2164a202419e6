//! Every shader parses and validates with naga (the compiler inside wgpu), with no device:
//! a WGSL error shows up here, on any machine, before a GPU test can run.

use std::path::Path;

use naga::valid::{Capabilities, ValidationFlags, Validator};

/// Every shader of the stage table (`seisbatch::stages::SHADERS`: the stages, then the FFT).
fn shaders() -> impl Iterator<Item = &'static str> {
    seisbatch::stages::SHADERS.iter().map(|s| s.name)
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
    want.sort();
    assert_eq!(
        found, want,
        "shaders/ must hold exactly the stage table's shaders"
    );
    for stage in shaders() {
        let src = std::fs::read_to_string(dir.join(format!("{stage}.wgsl"))).unwrap();
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
            seisbatch::stages::NEEDS_F64.contains(&stage),
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
