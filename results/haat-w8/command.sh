#!/bin/sh
# Exact commands that produced this directory (run from the repository root on 2026-11-29, data = the shared
# 7,728/932-image CIFAR-10 subset, wasm + oneDNN backend with one thread per run, 2-core AMD EPYC; the first
# version, of 2026-11-27 on the wasm backend, is in the git history before commit "Re-run the width-8 results").
HAAT_THREADS=1 deno task train --overwrite --objective haat --k 2 --width 8 --train-size 1800 --val-size 200 --epochs 8 --batch-size 64 \
  --attack-steps 10 --val-pgd-steps 10 --log-every 5 --checkpoint-every 0 --run results/haat-w8 2>&1 | tee results/haat-w8/train.log
HAAT_THREADS=1 deno task evaluate --model results/haat-w8/best --out results/haat-w8 --haat --haat-steps 10 --k 2 2>&1 | tee results/haat-w8/evaluate.log
