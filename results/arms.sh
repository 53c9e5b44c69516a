#!/bin/sh
# Issue 13's main comparison, one run at a time on both cores (so that every arm's epoch time is measured
# in the same conditions): PGD-AT, HAAT-AT as the paper writes it (forward differences, xi = 1e-6) and
# HAAT-AT with forward differences at a xi float32 resolves; ResNet18 width 16, the first 11,000 training
# records of cifar10-full (10,000 to train on, 1,000 held out), 10 epochs, batch 128, seeds 0 and 1; then
# each best model is evaluated (clean, PGD-20 and HAAT-20 on all 10,000 test records, AutoAttack standard
# and the eps sweep on the first 932, the official bytes). K and XI_FD come from the grid (results/README.md).
# Run from the repository root:   K=2 XI_FD=1e-1 sh results/arms.sh train   (then: ... sh results/arms.sh evaluate)
# Re-running resumes: a finished run (its metrics hold the last epoch) is skipped, a started one resumed.
set -e
DATA=../shared/data/cifar10-full
: "${K:?set K, the power-iteration steps the grid chose}" "${XI_FD:?set XI_FD, the resolving xi the grid chose}"
RUNS="pgd-w16-s0 pgd-w16-s1 haat-paper-w16-s0 haat-fd-w16-s0 haat-paper-w16-s1 haat-fd-w16-s1"
finished() { [ -f "$1/metrics.jsonl" ] && grep -q '"kind":"epoch","epoch":10,' "$1/metrics.jsonl"; }
for run in $RUNS; do
  d=results/$run
  seed=${run##*-s}
  case "$run" in
    pgd-*) args="--objective pgd" ;;
    haat-paper-*) args="--objective haat --k $K --xi 1e-6 --difference forward --hvp fd" ;;
    haat-fd-*) args="--objective haat --k $K --xi $XI_FD --difference forward --hvp fd" ;;
  esac
  if [ "$1" = train ]; then
    finished "$d" && continue
    mkdir -p "$d"
    if [ -f "$d/config.json" ]; then
      deno task train --resume "$d" --data $DATA 2>&1 | tee -a "$d/train.log"
    else
      deno task train $args --data $DATA --train-size 11000 --val-size 1000 --epochs 10 --batch-size 128 --width 16 \
        --seed "$seed" --attack-steps 10 --val-pgd-steps 10 --checkpoint-every 0 --log-every 10 --run "$d" \
        2>&1 | tee -a "$d/train.log"
    fi
  elif [ "$1" = evaluate ]; then
    [ -f "$d/report.json" ] && continue
    deno task evaluate --model "$d/best" --out "$d" --data $DATA --haat --haat-steps 20 --k "$K" --xi 1e-6 \
      --aa-n 932 --sweep-n 932 2>&1 | tee "$d/evaluate.log"
  fi
done
