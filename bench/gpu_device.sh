#!/usr/bin/env bash
# Every GPU figure docs/BENCHMARKS.md asks for, in one call on a lent GPU machine (the device
# tool: no Rust toolchain there, 30 minutes of device time per session, so build here, carry,
# measure once). Writes gpu.txt, profile.md and e2e.txt to $OUT.
#
# Here, once:
#   cargo build --release --bins --example gpu_profile
#   mkdir -p dist && strip -o dist/seisbatch target/release/seisbatch \
#     && strip -o dist/gpu_profile target/release/examples/gpu_profile
#   and the Vulkan loader as the device tool's README says (.gl/ with libvulkan1 etc.)
# Then: run(command="bash bench/gpu_device.sh", carry=[".gl", "dist"])
set -euo pipefail
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
{ nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.memory --format=csv || true; nproc; date -u; } | tee "$OUT/gpu.txt"
# Kernel-only per stage (timestamp queries) and the driver end to end, 8 GiB batches.
timeout 300 dist/gpu_profile 8192 2048 | tee "$OUT/profile.md"
# The whole command end to end (read, device, write) on N copies of the example event,
# 3 x 20-minute 100 Hz traces each, GPU vs this machine's CPU cores.
n=${N_EVENTS:-300}
work=$(mktemp -d)
for i in $(seq -w 1 "$n"); do cp -r examples/data/event_2014-01-01 "$work/event_$i"; done
for dev in gpu cpu; do
  dist/seisbatch run examples/forum_chain.toml --input "$work" --output "$work/out_$dev" \
    --device "$dev" --gpu-memory 16384 --quiet || true
  python3 - "$work/out_$dev/report.json" "$dev" <<'PY' | tee -a "$OUT/e2e.txt"
import json, sys
r = json.load(open(sys.argv[1]))
n = r["ok"]
print(f"{sys.argv[2]}: {n} traces ({r['traces_on_device']} on device) in {r['wall_seconds']:.2f} s"
      f" = {n / r['wall_seconds']:.0f} traces/s; adapter: {(r.get('adapter') or {}).get('name', '-')}")
PY
done
