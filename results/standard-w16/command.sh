#!/bin/sh
# The exact commands behind this directory, run from the repository root. Issue 23's standard (not
# adversarially trained) width-16 ResNet18, for the notebooks that set a robust model beside a standard one
# (input-Hessian spectra, perturbations as images): cross-entropy on clean images, one-cycle learning rate
# peaking at 0.1 at 2/5 of training, 15 epochs, batch 128, SGD momentum 0.9, weight decay 5e-4, random crop
# and flip, all 50,000 training records of cifar10-full (49,000 trained on, 1,000 held out). PGD-10 validation
# is recorded after every epoch for comparison; best/ is the epoch with the best validation clean accuracy.
# The run directory lies outside the work tree (../runs/standard-w16); results/sync-run.sh copies what git keeps.
set -e
RUN=../runs/standard-w16
OUT=results/standard-w16
DATA=../shared/data/cifar10-full
# Training and export run only while the committed model is missing: the run directory (outside the tree) may be
# gone, and a finished run must never be restarted over it.
if [ -f $OUT/export.jsonl ]; then
  echo "$OUT/best is committed (export.jsonl): skipping training and export" >&2
elif [ ! -f "$RUN/config.json" ]; then
  deno task train --objective standard --data $DATA --val-size 1000 --epochs 15 --batch-size 128 --lr 0.1 \
    --schedule onecycle --width 16 --seed 0 --val-pgd-steps 10 --checkpoint-every 0 --checkpoint-steps 100 \
    --log-every 50 --run $RUN 2>&1 | tee -a $OUT/train.log
else
  # Resume, after any stop (the config is the run's own; the data folder is named again):
  deno task train --resume $RUN --data $DATA --checkpoint-steps 100 2>&1 | tee -a $OUT/train.log
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
