// resample: ObsPy's FFT resampling (NUMERICS §5) between the forward FFT of the n input samples
// and the inverse FFT of the num output samples. Builds the Hermitian spectrum of length num
// from the input spectrum: each output bin j <= num/2 is np.interp of the (windowed) input
// bins at frequency j * new_rate / num, i.e. a * X[k] + b * X[k+1] with (k, a, b) computed
// in f64 on the host, window folded in (src/plan/compile.rs, resample::taps). The imaginary parts of X[0] and of
// the even-n Nyquist bin are zeroed first, as ObsPy does; bins above num/2 are conjugate mirrors.
// CPU twin: src/ops/resample.rs.
//
// The input spectrum is the full one (count x n, after fft_pass) or the half one up to the
// last bin the taps read (count x stride, after rfft.wgsl's rfft_spectrum).
// bindings: 0 params (uniform ResampleParams), 1 src (storage read, vec2 [count x n|stride]),
//           2 dst (storage rw, vec2 [count x num]), 3 taps (storage read, Tap [num/2+1])
// workgroup size 256, one invocation per output bin.

struct ResampleParams { // keep in sync with gpu::stages::resample::ResampleParams
    n: u32,
    num: u32,
    count: u32,
    stride: u32, // complex values per trace in src; 0: n (the full spectrum)
}

struct Tap { // keep in sync with gpu::stages::resample::Tap
    k: u32,
    a: f32,
    b: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: ResampleParams;
@group(0) @binding(1) var<storage, read> src: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> taps: array<Tap>;

fn input_bin(base: u32, k: u32) -> vec2<f32> {
    var x = src[base + k];
    if k == 0u || (p.n % 2u == 0u && k == p.n / 2u) {
        x.y = 0.0;
    }
    return x;
}

@compute @workgroup_size(256)
fn resample(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let g = invocation_index(wid, nwg, lid, 256u);
    if g >= p.num * p.count {
        return;
    }
    let b = g / p.num;
    let j = g - b * p.num;
    let half = p.num / 2u;
    var jj = j;
    if j > half {
        jj = p.num - j;
    }
    let tap = taps[jj];
    let base = b * select(p.n, p.stride, p.stride != 0u);
    var y = tap.a * input_bin(base, tap.k);
    if tap.b != 0.0 {
        y += tap.b * input_bin(base, tap.k + 1u);
    }
    if j > half {
        y.y = -y.y;
    }
    // irfft ignores the imaginary parts of DC and of the even-num Nyquist bin.
    if j == 0u || (p.num % 2u == 0u && j == half) {
        y.y = 0.0;
    }
    dst[g] = y;
}
