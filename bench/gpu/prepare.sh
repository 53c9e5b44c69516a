#!/usr/bin/env bash
# Prepares, on this (CPU) machine, what bench/gpu/run.sh needs on a GPU machine that reaches no network,
# as parts small enough for the device tool, which sends the whole working tree with every call and takes
# at most 64 MiB in all (this checkout's tracked files are most of that):
#
#   - bench/gpu/bench.ts bundled with its npm packages into one file (the wasm backend finds its .wasm
#     files beside it, through __dirname, set first),
#   - the Deno binary,
#   - Debian's (amd64) Vulkan loader (libvulkan1 and the GL dispatch libraries the device README names),
#     and oneDNN 2.6 (libdnnl2, with libgomp1 and ocl-icd-libopencl1), for the oneDNN runs beside WebGPU,
#
# packed into one xz tar and split into .gpu/part-NN, each sized to what the tree leaves free, with
# .gpu/SHA256SUMS. Run it in the checkout the device tool sends (the session's own), just before the calls:
# the parts' size depends on that tree. It prints the calls to make: one per part, each within 30 s of the
# last (the machine stays warm that long and keeps the ignored files carried before), the last running
# bench/gpu/run.sh.
#
#   bash bench/gpu/prepare.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
limit=$((64 * 1024 * 1024))
margin=$((512 * 1024)) # SHA256SUMS, and files that change between now and the calls
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# The benchmark, bundled; the Emscripten loader of tfjs-backend-wasm reads __dirname, which an ES module lacks.
deno bundle --quiet --platform deno -o "$stage/bundle.js" bench/gpu/bench.ts
{
  echo 'globalThis.__dirname ??= new URL(".", import.meta.url).pathname.replace(/\/$/, "");'
  cat "$stage/bundle.js"
} >"$stage/bench.js"
rm "$stage/bundle.js"
wasm=$(find node_modules -path '*tfjs-backend-wasm/dist/*' -name 'tfjs-backend-wasm*.wasm' | head -3)
[ -n "$wasm" ] || { echo "no tfjs-backend-wasm .wasm files under node_modules: run deno install first" >&2; exit 1; }
# shellcheck disable=SC2086
cp $wasm "$stage/"
cp "$(readlink -f "$(command -v deno)")" "$stage/deno"

mkdir -p "$stage/debs" /tmp/amd64/partial
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
# shellcheck disable=SC2086
apt-get $o update -qq
# shellcheck disable=SC2086
(cd "$stage/debs" && apt-get $o download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 \
  libdnnl2 libgomp1 ocl-icd-libopencl1 2>&1 | grep -v 'unsandboxed' || true)

# What travels besides the parts: tracked and untracked-not-ignored files (and shared/, where it is ignored).
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
if [ -d shared ] && git check-ignore -q shared; then tree=$((tree + $(du -sb shared | cut -f1))); fi
room=$((limit - tree - margin))
if [ "$room" -lt $((256 * 1024)) ]; then
  echo "the working tree is $((tree / 1024 / 1024)) MiB of the device tool's 64: no room left for the parts" >&2
  exit 1
fi

rm -rf .gpu && mkdir -p .gpu
tar -C "$stage" -cf - . | xz -9 -T0 >"$stage/payload.tar.xz"
split -b "$room" -d -a 2 "$stage/payload.tar.xz" .gpu/part-
(cd .gpu && sha256sum part-* >SHA256SUMS)
parts=(.gpu/part-*)
n=${#parts[@]}
echo "payload $(($(stat -c %s "$stage/payload.tar.xz") / 1024 / 1024)) MiB in $n parts of at most $((room / 1024)) KiB" \
  "(the tree takes $((tree / 1024 / 1024)) MiB of 64); the device tool's calls, each within 30 s of the last:"
for ((i = 0; i < n - 1; i++)); do
  echo "  run(command: \"ls -l .gpu\", carry: [\"${parts[i]}\"], timeout_s: 60)"
done
echo "  run(command: \"bash bench/gpu/run.sh\", carry: [\"${parts[n - 1]}\", \".gpu/SHA256SUMS\"], timeout_s: 420)"
