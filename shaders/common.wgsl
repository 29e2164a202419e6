// common: the preamble every shader gets ahead of its own source (src/stages/mod.rs builds
// each `Shader::source` as this file, then the shader's), so the dispatch indexing is
// written once. A dispatch spreads its workgroups over x, y and z when one dimension's
// 65,535 is not enough (gpu::sizing::dispatch).

// The workgroup's index in the dispatch, x fastest.
fn group_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return (wid.z * nwg.y + wid.y) * nwg.x + wid.x;
}

// The invocation's index in the dispatch for workgroups of `size` invocations.
fn invocation_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, size: u32) -> u32 {
    return group_index(wid, nwg) * size + lid;
}
