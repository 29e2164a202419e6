// filter: a cascade of second-order sections (scipy sosfilt, direct form II transposed, zero
// initial state), forward or forward-backward (ObsPy's zerophase). Used by Trace.filter and by
// the anti-alias lowpass of decimate and resample. The recursion runs in f64: in f32 a
// Butterworth at low normalised corners loses up to 7e-4 (NUMERICS §9), so this kernel needs the
// SHADER_F64 feature; adapters without it run filter steps on the CPU path.
// CPU twin: src/ops/iir.rs (sosfilt) via src/ops/filter.rs.
//
// bindings: 0 params (uniform FilterParams), 1 data (storage rw, f32 [count x n]),
//           2 sos (storage read, f64 [sections x 6]: b0 b1 b2 1 a1 a2),
//           3 state (storage rw, f64 [count x MAX_SECTIONS x 2]: z1, z2 between chunks)
// workgroup size 64, one invocation per trace: the recursion is sequential in time, so the
// parallelism is across traces (a batch holds hundreds to thousands).
//
// A pass runs as several dispatches of at most CHUNK samples, the state carried in `state`:
// no invocation runs long enough to meet a desktop driver's watchdog, or llvmpipe's cap of
// 65535 loop iterations per invocation (which silently cut a 120000-sample pass short).

struct FilterParams { // keep in sync with gpu::stages::filter::FilterParams
    n: u32,
    count: u32,
    sections: u32,  // <= MAX_SECTIONS
    reverse: u32,   // 1: this pass runs backwards in time (the second pass of zerophase)
    t0: u32,        // first step of this chunk (0 starts the pass from zero state)
    len: u32,       // steps in this chunk
    _pad0: u32,
    _pad1: u32,
}

const MAX_SECTIONS: u32 = 16u; // keep in sync with gpu::stages::filter::MAX_SECTIONS

@group(0) @binding(0) var<uniform> p: FilterParams;
@group(0) @binding(1) var<storage, read_write> data: array<f32>;
@group(0) @binding(2) var<storage, read> sos: array<f64>;
@group(0) @binding(3) var<storage, read_write> state: array<f64>;

// All sections advance together sample by sample, so a sample leaves f64 only once per pass
// (sosfilt runs section after section; the arithmetic per section is the same).
@compute @workgroup_size(64)
fn filter_sos(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let b = invocation_index(wid, nwg, lid, 64u);
    if b >= p.count || p.n == 0u {
        return;
    }
    let base = b * p.n;
    let st = b * MAX_SECTIONS * 2u;
    var z1: array<f64, MAX_SECTIONS>;
    var z2: array<f64, MAX_SECTIONS>;
    for (var s = 0u; s < p.sections; s++) {
        if p.t0 == 0u {
            z1[s] = f64(0.0);
            z2[s] = f64(0.0);
        } else {
            z1[s] = state[st + 2u * s];
            z2[s] = state[st + 2u * s + 1u];
        }
    }
    let end = min(p.t0 + p.len, p.n);
    for (var t = p.t0; t < end; t++) {
        var i = base + t;
        if p.reverse == 1u {
            i = base + (p.n - 1u - t);
        }
        var x = f64(data[i]);
        for (var s = 0u; s < p.sections; s++) {
            let c = s * 6u;
            let y = sos[c] * x + z1[s];
            z1[s] = sos[c + 1u] * x - sos[c + 4u] * y + z2[s];
            z2[s] = sos[c + 2u] * x - sos[c + 5u] * y;
            x = y;
        }
        data[i] = f32(x);
    }
    for (var s = 0u; s < p.sections; s++) {
        state[st + 2u * s] = z1[s];
        state[st + 2u * s + 1u] = z2[s];
    }
}
