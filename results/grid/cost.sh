#!/bin/sh
# The cost of each grid cell's kind of training step, alone on the idle machine with one oneDNN thread (as the
# cells trained): bench/step.ts at width 8, batch 64, three timed steps after a warm-up. xi does not change the
# cost of a forward-difference step. Run from the repository root: sh results/grid/cost.sh > results/grid/cost.jsonl
set -e
step() { HAAT_THREADS=1 deno run -A bench/step.ts --backend onednn --width 8 --batch 64 --repeats 3 "$@"; }
step --objective pgd
for k in 1 2 5; do step --objective haat --k "$k"; done
