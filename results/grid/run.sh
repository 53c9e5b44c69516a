#!/bin/sh
# Issue 13's xi/k grid (the paper's Fig. 2 by training, scaled down): HAAT-10 with forward differences at
# xi in {1e-6, 1e-5, 1e-3, 1e-1} and k in {1, 2, 5}, plus a PGD-10 cell for reference. (xi = 1e-5 was added
# after results/grid/hvp-error.jsonl showed it is the xi at which float32 forward differences resolve H v on
# this ResNet; 1e-3 and 1e-1, accurate on notebook 01's linear model, cross ReLU kinks here.) ResNet18 width 8, the first
# 2,500 training records of cifar10-full (2,000 to train on, 500 held out), 5 epochs, batch 64, seed 0; then
# clean and PGD-20 accuracy on the first 932 test records (official bytes). Run from the repository root:
#   sh results/grid/run.sh A &   sh results/grid/run.sh B &   (then C and D, the xi = 1e-5 row)
# Two workers, one oneDNN thread each, split the cells by cost (10 (1 + k) input gradients per step).
# Re-running resumes: a cell with report.json is skipped, a cell with config.json is resumed.
set -e
DATA=../shared/data/cifar10-full
case "$1" in
  A) CELLS="xi1e-6-k5 xi1e-1-k5 xi1e-3-k1 xi1e-1-k1 pgd" ;;
  B) CELLS="xi1e-3-k5 xi1e-6-k2 xi1e-3-k2 xi1e-1-k2 xi1e-6-k1" ;;
  C) CELLS="xi1e-5-k5" ;;
  D) CELLS="xi1e-5-k2 xi1e-5-k1" ;;
  *) CELLS="$*" ;;
esac
for cell in $CELLS; do
  d=results/grid/$cell
  [ -f "$d/report.json" ] && continue
  mkdir -p "$d"
  if [ "$cell" = pgd ]; then
    args="--objective pgd"
  else
    xi=${cell#xi}; xi=${xi%-k*}; k=${cell##*-k}
    args="--objective haat --xi $xi --k $k --difference forward --hvp fd"
  fi
  if [ -f "$d/config.json" ]; then
    HAAT_THREADS=1 deno task train --resume "$d" --data $DATA --log-every 8 2>&1 | tee -a "$d/train.log"
  else
    HAAT_THREADS=1 deno task train $args --data $DATA --train-size 2500 --val-size 500 --epochs 5 \
      --batch-size 64 --width 8 --seed 0 --attack-steps 10 --val-pgd-steps 10 --checkpoint-every 0 \
      --log-every 8 --run "$d" 2>&1 | tee -a "$d/train.log"
  fi
  HAAT_THREADS=1 deno task evaluate --model "$d/best" --out "$d" --data $DATA --n 932 --steps 20 \
    --autoattack none --sweep none 2>&1 | tee "$d/evaluate.log"
done
