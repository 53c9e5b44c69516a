#!/bin/sh
# The exact commands behind this directory, run from the repository root by results/arms.sh (worker B: one
# oneDNN thread, beside a run of the same cost on the other core). Issue 13's main comparison, seed 0.
# Start (2026-11-29):
HAAT_THREADS=1 deno task train --objective haat --k 5 --xi 1e-5 --difference forward --hvp fd --data ../shared/data/cifar10-full --train-size 11000 --val-size 1000 \
  --epochs 10 --batch-size 128 --width 16 --seed 0 --attack-steps 10 --val-pgd-steps 10 --checkpoint-every 0 \
  --log-every 10 --run results/haat-fd-w16-s0 2>&1 | tee -a results/haat-fd-w16-s0/train.log
# Resume, after any stop (the config is the run's own; the data folder is named again):
# HAAT_THREADS=1 deno task train --resume results/haat-fd-w16-s0 --data ../shared/data/cifar10-full 2>&1 | tee -a results/haat-fd-w16-s0/train.log
# Then: clean, PGD-20 and HAAT-20 (k 5, xi 1e-5) on all 10,000 test records (most JPEG-decoded), AutoAttack standard
# and the eps sweep on the first 932 (official bytes):
# HAAT_THREADS=1 deno task evaluate --model results/haat-fd-w16-s0/best --out results/haat-fd-w16-s0 --data ../shared/data/cifar10-full \
#   --haat --haat-steps 20 --k 5 --xi 1e-5 --aa-n 932 --sweep-n 932 2>&1 | tee results/haat-fd-w16-s0/evaluate.log
