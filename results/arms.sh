#!/bin/sh
# Issue 13's main comparison: PGD-AT, HAAT-AT as the paper writes it (forward differences, xi = 1e-6) and
# HAAT-AT with forward differences at a xi float32 resolves (XI_FD); ResNet18 width 16, the first 11,000
# training records of cifar10-full (10,000 to train on, 1,000 held out), 10 epochs, batch 128, seeds 0 and 1.
# Then each best model is evaluated: clean, PGD-20 and HAAT-20 on all 10,000 test records, AutoAttack standard
# and the eps sweep on the first 932 (the official bytes). The HAAT-20 attack uses XI_FD: at the paper's xi its
# second-order direction is float32 noise (results/grid/hvp-error.jsonl).
#
# Two workers, one oneDNN thread each (a run on two threads measured only 1.60x (PGD-10) and 1.70x (HAAT-10)
# its one-thread speed at width 16, bench/results-2026-11-29-fused.jsonl; two independent runs can come closer
# to 2x), paired so that the two runs side by side always cost the same per step: the PGD seeds together, then each seed's two HAAT arms together. Every arm's epoch time is
# thus measured beside a run of its own cost. K comes from the grid and XI_FD from hvp-error.jsonl
# (results/README.md says how). From the repository root:
#   K=5 XI_FD=1e-5 sh results/arms.sh train A &   K=5 XI_FD=1e-5 sh results/arms.sh train B &
#   (then the same with evaluate)
# Re-running resumes: a finished run (its metrics hold epoch 10) is skipped, a started one resumed from its
# latest checkpoint (one every 20 steps inside an epoch since the sixth sitting: a stop loses at most 20 steps, about
# 5 minutes of a HAAT epoch; the runs started before took theirs after each epoch only); an evaluated one
# (report.json) is skipped.
set -e
DATA=../shared/data/cifar10-full
: "${K:?set K, the power-iteration steps the grid chose}" "${XI_FD:?set XI_FD, the xi float32 resolves}"
# Training pairs runs of equal cost; evaluation (not a cost measurement) goes seed by seed, so that one seed's three
# arms are evaluated before the next seed's, and skips a run whose training has not finished.
case "$1 $2" in
  "train A" | "evaluate A") RUNS="pgd-w16-s0 haat-paper-w16-s0 haat-paper-w16-s1" ;;
  "train B") RUNS="pgd-w16-s1 haat-fd-w16-s0 haat-fd-w16-s1" ;;
  "evaluate B") RUNS="haat-fd-w16-s0 pgd-w16-s1 haat-fd-w16-s1" ;;
  *) echo "usage: K=.. XI_FD=.. sh results/arms.sh train|evaluate A|B" >&2; exit 2 ;;
esac
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
      HAAT_THREADS=1 deno task train --resume "$d" --data $DATA --checkpoint-steps 20 2>&1 | tee -a "$d/train.log"
    else
      HAAT_THREADS=1 deno task train $args --data $DATA --train-size 11000 --val-size 1000 --epochs 10 \
        --batch-size 128 --width 16 --seed "$seed" --attack-steps 10 --val-pgd-steps 10 --checkpoint-every 0 \
        --checkpoint-steps 20 --log-every 10 --run "$d" 2>&1 | tee -a "$d/train.log"
    fi
  elif [ "$1" = evaluate ]; then
    [ -f "$d/report.json" ] && continue
    if ! finished "$d"; then echo "arms.sh: $run has not finished training; not evaluated" >&2; continue; fi
    HAAT_THREADS=1 deno task evaluate --model "$d/best" --out "$d" --data $DATA --haat --haat-steps 20 --k "$K" \
      --xi "$XI_FD" --aa-n 932 --sweep-n 932 2>&1 | tee "$d/evaluate.log"
  fi
done
