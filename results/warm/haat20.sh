#!/bin/sh
# Issue 27, item 2: HAAT-20 with warm-started power iteration against the cold one (the paper's), on the same test
# images, so that `deno task compare` pairs them image by image (McNemar). Both: 20 steps, eps 8/255, w1 = w2 = 1/4,
# forward differences at xi 1e-5 (the xi float32 resolves), k 5 power steps at every step (cold) or at the first step
# and then warmK 1 from the last step's vector (warm). On the robust models fgsm-rs-w16 and fgsm-rs-w64, the first 932
# test images (official bytes). Clean and PGD-20 come along (the same in both reports: a check that they pair).
# From the repository root (re-running skips what has a report.json, and resumes the rest):
#   sh results/warm/haat20.sh                 (HAAT_THREADS, default 2)
#   sh results/warm/haat20.sh w16             (only the width-16 model)
set -e
DATA=../shared/data/cifar10-full
MODELS=${1:-"w16 w64"}
for width in $MODELS; do
  for start in cold warm; do
    out=results/warm/haat20-$width-$start
    [ -f $out/report.json ] && continue
    mkdir -p $out
    case $start in cold) warm="" ;; warm) warm="--warm-start --warm-k 1" ;; esac
    # shellcheck disable=SC2086
    HAAT_THREADS=${HAAT_THREADS:-2} deno task evaluate --model results/fgsm-rs-$width/best --out $out --data $DATA \
      --n 932 --haat --haat-steps 20 --k 5 --xi 1e-5 $warm --autoattack none --sweep none 2>&1 | tee -a $out/evaluate.log
  done
  deno run -A results/warm/attacks.ts results/warm/haat20-$width-cold results/warm/haat20-$width-warm \
    > results/warm/haat20-$width.txt
done
