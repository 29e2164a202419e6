#!/usr/bin/env bash
# Every GPU figure docs/BENCHMARKS.md asks for, in one call on a lent GPU machine (the device
# tool: no Rust toolchain there, 30 minutes of device time per session, so build here, carry,
# measure once). Writes gpu.txt, profile.md, bench_*.json and bench.txt to $OUT.
#
# Here, once:
#   cargo build --release --bins --example gpu_profile
#   mkdir -p dist && strip -o dist/seisbatch target/release/seisbatch \
#     && strip -o dist/gpu_profile target/release/examples/gpu_profile
#   and the Vulkan loader as the device tool's README says (.gl/ with libvulkan1 etc.)
# Then: run(command="bash bench/gpu_device.sh", carry=[".gl", "dist"])
# SKIP_PROFILE=1 / SKIP_NOISE=1 / SKIP_E2E=1 leave out the kernel profile / the ambient-noise
# pairs / the end-to-end runs.
# Sizes: EVENTS x STATIONS x 3 traces of 20-minute 100 Hz miniSEED (default 100 x 70 = 21,000).
# Outputs and the bench's temporary folders go to /dev/shm so that the figure is the
# program's, not the disk's; the input is read from page cache (read once before timing).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT"
if ! ldconfig -p | grep -q libvulkan.so.1; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES="$icd"
export NODEVICE_SELECT=1
{ nvidia-smi --query-gpu=name,memory.total,driver_version,pcie.link.gen.max,pcie.link.width.max --format=csv || true
  echo "cores: $(nproc)"; free -g | head -2; date -u; } 2>&1 | tee "$OUT/gpu.txt"
# Kernel-only per stage (timestamp queries), copy and PCIe bandwidth, the driver end to end.
if [ "${SKIP_PROFILE:-0}" != 1 ]; then
  timeout 150 dist/gpu_profile "${PROFILE_MIB:-8192}" "${PROFILE_TRACES:-2048}" 2>&1 | tee "$OUT/profile.md"
fi
# Ambient-noise pairs (issue #27): a synthetic archive of NOISE_STATIONS stations x 1 day at
# 20 Hz, correlated with NoisePy's defaults on the device and on all cores; pairs and
# pair-windows per second of the pair phase (correlate.json's seconds_pairs), device seconds.
if [ "${SKIP_NOISE:-0}" != 1 ]; then
  noise=${NOISE_DATA:-/dev/shm/noise}
  rm -rf "$noise"
  dist/seisbatch synth --output "$noise" --stations "${NOISE_STATIONS:-32}" --noise-days 1 \
    --rates 20 2>&1 | tail -1 | tee -a "$OUT/gpu.txt"
  printf 'maxlag = 200.0\n' > "$noise/noise.toml"
  for dev in gpu cpu; do
    rm -rf "$noise/cc_$dev"
    timeout 240 dist/seisbatch correlate "$noise/noise.toml" --input "$noise/archive" \
      --inventory "$noise/stations.xml" --output "$noise/cc_$dev" --device "$dev" \
      --gpu-memory 16384 --quiet 2>&1 | grep -v XDG_RUNTIME
    cp "$noise/cc_$dev/correlate.json" "$OUT/noise_$dev.json" 2>/dev/null
    python3 - "$noise/cc_$dev/correlate.json" "$dev" <<'PY' 2>&1 | tee -a "$OUT/bench.txt" || true
import json, sys
s = json.load(open(sys.argv[1]))
d = s.get("device") or {}
print("== correlate %s: %d pairs, %d pair-windows in %.2f s of pairs (%.0f pair-windows/s), spectra %.2f s, device %.2f s, device pairs %s, cpu pairs %s %s"
      % (sys.argv[2], s["correlations"], s["pair_windows"], s["seconds_pairs"],
         s["pair_windows"] / max(s["seconds_pairs"], 1e-9), s["seconds_spectra"],
         d.get("seconds", 0.0), d.get("pairs"), d.get("cpu_pairs"), d.get("cpu_reasons", "")))
PY
  done
fi
[ "${SKIP_E2E:-0}" = 1 ] && exit 0
# The whole command end to end: read + decode, device, write.
data=${DATA:-/tmp/synth}
t0=$(date +%s%N)
dist/seisbatch synth --output "$data" --events "${EVENTS:-100}" --stations "${STATIONS:-70}" --rates 100 2>&1 | tail -1
echo "synth: $(( ($(date +%s%N) - t0) / 1000000 )) ms, $(du -sh "$data" | cut -f1)" | tee -a "$OUT/gpu.txt"
find "$data" -type f -exec cat {} + >/dev/null
export TMPDIR=/dev/shm
for mib in ${GPU_MIB:-2048 8192}; do
  echo "== gpu, --gpu-memory $mib" | tee -a "$OUT/bench.txt"
  timeout 120 dist/seisbatch bench examples/forum_chain.toml --input "$data" --devices gpu \
    --gpu-memory "$mib" --json "$OUT/bench_gpu_$mib.json" 2>&1 | grep -v XDG_RUNTIME | tee -a "$OUT/bench.txt"
done
# The same with remove_response's transform pair in f32 through rfft.wgsl (the default
# before issue #23 moved it to f64 where the adapter has SHADER_F64), then as f32 radix passes:
# the side-by-side that prices the f64 default.
echo "== gpu, f32 rfft (SEISBATCH_GPU_FFT=rfft), --gpu-memory 8192" | tee -a "$OUT/bench.txt"
SEISBATCH_GPU_FFT=rfft timeout 120 dist/seisbatch bench examples/forum_chain.toml --input "$data" \
  --devices gpu --gpu-memory 8192 --json "$OUT/bench_gpu_rfft.json" 2>&1 | grep -v XDG_RUNTIME \
  | tee -a "$OUT/bench.txt"
echo "== gpu, radix passes (SEISBATCH_GPU_FFT=passes), --gpu-memory 8192" | tee -a "$OUT/bench.txt"
SEISBATCH_GPU_FFT=passes timeout 120 dist/seisbatch bench examples/forum_chain.toml --input "$data" \
  --devices gpu --gpu-memory 8192 --json "$OUT/bench_gpu_passes.json" 2>&1 | grep -v XDG_RUNTIME \
  | tee -a "$OUT/bench.txt"
echo "== cpu ($(nproc) cores)" | tee -a "$OUT/bench.txt"
timeout 150 dist/seisbatch bench examples/forum_chain.toml --input "$data" --devices cpu \
  --json "$OUT/bench_cpu.json" 2>&1 | tee -a "$OUT/bench.txt"
