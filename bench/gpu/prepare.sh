#!/usr/bin/env bash
# Prepares, on this (CPU) machine, what bench/gpu/run.sh needs on a GPU machine that reaches no
# network: the Deno binary (gzipped), bench/gpu_step.ts bundled with its npm packages into one file,
# and the Vulkan loader packages of Debian (amd64) in .gl/. Both folders are git-ignored; name them in
# the device tool's `carry` (about 45 MiB together).
#
#   bash bench/gpu/prepare.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .gpu .gl /tmp/amd64/partial
deno bundle --quiet --platform deno -o .gpu/gpu_step.js bench/gpu_step.ts
gzip -6 -c "$(readlink -f "$(command -v deno)")" >.gpu/deno.gz
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
# shellcheck disable=SC2086
apt-get $o update -qq
# shellcheck disable=SC2086
(cd .gl && apt-get $o download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
du -sh .gpu .gl
