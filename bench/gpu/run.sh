#!/usr/bin/env bash
# Runs on the GPU machine, after bench/gpu/prepare.sh here and its calls carried .gpu/part-NN and
# .gpu/SHA256SUMS there: checks and unpacks the parts into /tmp/haat-gpu, installs the Vulkan loader where
# none is (as the device README says), unpacks oneDNN into its own folder, and runs bench/gpu/bench.ts
# (WebGPU, then oneDNN, widths 16 and 64, batch 128, at most 300 s). JSON lines go to stdout and to
# $OUT/gpu-bench.jsonl; arguments are passed to the benchmark (--quick: a check at tiny sizes).
#
#   bash bench/gpu/run.sh [bench flags]
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp}/gpu-bench.jsonl"
work=/tmp/haat-gpu
if ! (cd .gpu && sha256sum -c --quiet SHA256SUMS); then
  echo "the parts in .gpu are missing or damaged: make every call bench/gpu/prepare.sh printed, within 30 s of the last" >&2
  ls -l .gpu >&2
  exit 2
fi
rm -rf "$work" && mkdir -p "$work"
if command -v xz >/dev/null; then
  cat .gpu/part-* | xz -dc | tar -C "$work" -xf -
else
  cat .gpu/part-* | python3 -c 'import sys, tarfile; tarfile.open(fileobj=sys.stdin.buffer, mode="r|xz").extractall(sys.argv[1])' "$work"
fi
export PATH="$PATH:/usr/sbin:/sbin"
# The loader goes into / only where the machine has none (unpacking other packages there can break it).
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' &&
  ! ls /usr/lib/x86_64-linux-gnu/libvulkan.so.1 /usr/lib64/libvulkan.so.1 /usr/lib/libvulkan.so.1 >/dev/null 2>&1; then
  for f in "$work"/debs/lib{vulkan1,egl1,glvnd0,opengl0,gl1,glx0,gles2}_*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
for f in "$work"/debs/{libdnnl2,libgomp1,ocl-icd-libopencl1}_*.deb; do dpkg -x "$f" "$work/dnnl"; done
lib="$work/dnnl/usr/lib/x86_64-linux-gnu"
export HAAT_ONEDNN_LIB="$lib/libdnnl.so.2" LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export XDG_RUNTIME_DIR=/tmp/haat-runtime && mkdir -p -m 700 "$XDG_RUNTIME_DIR"
chmod +x "$work/deno"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1
"$work/deno" --version | head -1
timeout 330 "$work/deno" run -A "$work/bench.js" "$@" 2>&1 | tee "$out"
