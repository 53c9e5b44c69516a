#!/bin/sh
# Exact commands that produced this directory (run from the repository root, HAAT_DATA = the shared
# 7,728/932-image CIFAR-10 subset, wasm backend, 2-core AMD EPYC).
deno task train --objective pgd --width 8 --train-size 1800 --val-size 200 --epochs 8 --batch-size 64 \
  --attack-steps 10 --val-pgd-steps 10 --log-every 5 --checkpoint-every 0 --run results/pgd-w8 2>&1 | tee results/pgd-w8/train.log
deno task evaluate --model results/pgd-w8/best --out results/pgd-w8 --haat --haat-steps 10 --k 2 2>&1 | tee results/pgd-w8/evaluate.log
