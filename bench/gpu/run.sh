#!/usr/bin/env bash
# Runs on the GPU machine (after bench/gpu/prepare.sh here, with .gpu and .gl carried): installs the
# Vulkan loader from .gl, unpacks Deno, and times the standard and PGD-10 training steps of
# bench/gpu_step.ts on the WebGPU backend at widths 16 and 64, batch 128. JSON lines go to stdout and
# to $OUT/gpu-bench.jsonl. The device tool's call (carry .gpu and .gl; about 8 minutes with the start):
#   run(command: "bash bench/gpu/run.sh", carry: [".gpu", ".gl"], timeout_s: 540)
#
#   bash bench/gpu/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp}/gpu-bench.jsonl"
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
export XDG_RUNTIME_DIR=/tmp/haat-runtime && mkdir -p -m 700 "$XDG_RUNTIME_DIR"
gunzip -c .gpu/deno.gz >/tmp/deno && chmod +x /tmp/deno
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1
/tmp/deno --version | head -1
HAAT_BACKEND=webgpu timeout 420 /tmp/deno run -A .gpu/gpu_step.js --widths 16,64 --batch 128 --repeats 3 2>&1 |
  tee -a "$out"
