#!/bin/sh
# The exact commands behind this directory, run from the repository root. Issue 23: a robust full-width
# ResNet18 with the fast adversarial-training recipe of Wong, Rice & Kolter (2020), "Fast is better than free":
# FGSM with a uniform random start and step 1.25 eps (10/255), Linf eps 8/255, one-cycle learning rate peaking
# at 0.2 at 2/5 of training, 15 epochs, batch 128, SGD momentum 0.9, weight decay 5e-4; all 50,000 training
# records of cifar10-full (49,000 trained on, 1,000 held out; PGD-10 validation after every epoch guards
# against catastrophic overfitting and picks best/). A width-64 step of 128 images runs in two chunks of 64
# (the 2 GiB wasm heap), so BatchNorm sees ghost batches of 64.
#
# The run directory lies outside the work tree (../runs/fgsm-rs-w64): its checkpoints are 90 MB each and
# stay out of git. This folder keeps what is committed: this file, train.log, copies of config.json and
# metrics.jsonl (results/sync-run.sh), best/ as float16 (`deno task export`, after checking that clean and
# PGD-20 accuracy on the 932 official test images move by at most 0.2 points), and the evaluation of that
# committed model: clean and PGD-20 on all 10,000 test records, AutoAttack standard on the first 932 (the
# official bytes), the eps sweep on the first 100.
set -e
RUN=../runs/fgsm-rs-w64
OUT=results/fgsm-rs-w64
DATA=../shared/data/cifar10-full
# Training and export run only while the committed model is missing: the run directory (outside the tree) may be
# gone, and a finished run must never be restarted over it.
if [ -f $OUT/export.jsonl ]; then
  echo "$OUT/best is committed (export.jsonl): skipping training and export" >&2
# Start (2026-12-06):
elif [ ! -f "$RUN/config.json" ]; then
  deno task train --objective fgsm-rs --data $DATA --val-size 1000 --epochs 15 --batch-size 128 --lr 0.2 \
    --schedule onecycle --width 64 --seed 0 --micro-batch 64 --val-pgd-steps 10 --checkpoint-every 0 \
    --checkpoint-steps 40 --log-every 20 --run $RUN 2>&1 | tee -a $OUT/train.log
else
  # Resume, after any stop (the config is the run's own; the data folder is named again):
  deno task train --resume $RUN --data $DATA --checkpoint-steps 40 2>&1 | tee -a $OUT/train.log
fi
if [ ! -f $OUT/export.jsonl ]; then
  sh results/sync-run.sh $RUN $OUT
  grep -q '"kind":"epoch","epoch":15,' $RUN/metrics.jsonl || { echo "$RUN has not finished its 15 epochs" >&2; exit 1; }
  # The committed model, as float16 (refused if accuracy on the 932 official test images moves by more than 0.2):
  deno task export --model $RUN/best --out $OUT/best --dtype float16 --check-n 932 --data $DATA --overwrite \
    > $OUT/export.jsonl.tmp && mv $OUT/export.jsonl.tmp $OUT/export.jsonl
fi
# Its evaluation (resumable: run again after any stop; evaluate-progress.json holds what is finished):
if [ ! -f $OUT/report.json ]; then
  deno task evaluate --model $OUT/best --out $OUT --data $DATA --autoattack standard --aa-n 932 \
    --sweep 0,2,4,6,8,10,12,16,24,32 --sweep-n 100 2>&1 | tee -a $OUT/evaluate.log
fi
