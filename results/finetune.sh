#!/bin/sh
# Issue 27's question at the operating point: fine-tune the committed robust width-16 model (results/fgsm-rs-w16,
# 69.90% clean / 37.94% PGD-20 on 10,000 test images) with PGD-AT and with warm-started HAAT-AT, 3 seeds per arm.
#
# Every run: init fgsm-rs-w16, the first 11,000 training records of cifar10-full (10,000 trained on, 1,000 held out
# by the seed), 1 epoch of 79 steps of 128 images, one-cycle learning rate peaking at 0.02 (a tenth of the model's own
# peak, which its training ended near 0), SGD momentum 0.9, weight decay 5e-4, eps 8/255, 10 attack steps. So every arm
# sees the same 10,000 images per seed, in the same order with the same augmentation (seed s draws both). The arms:
#   pgd-s<seed>        PGD-10, step 2/255 (Madry et al.)
#   haat-warm-s<seed>  HAAT-10, k 5 at the first step then warm k 1 (warmStart), xi 1e-5 (the xi float32 resolves,
#                      results/grid/hvp-error.jsonl), w1 = w2 = 1/4, forward differences
# Then each model is evaluated: clean, PGD-20 and HAAT-20 (cold, k 5, xi 1e-5, as results/arms.sh evaluated issue 13's
# models) on all 10,000 test records, AutoAttack standard on the first 932 (the official bytes).
#
# Runs train one after another, two oneDNN threads each, arms interleaved (pgd-s0, haat-warm-s0, pgd-s1, ...), so
# that the two arms' epoch times are measured under the same conditions. Run directories lie outside the work tree
# (../runs/finetune/<run>); once a run has finished, its config.json, metrics.jsonl and its model as float16 (export's
# check: accuracy on the 932 moves by at most 0.2 points; float32 where float16 moves it more) are copied into
# results/finetune/<run>.
# Usage, from the repository root (re-running resumes; a finished step is skipped):
#   sh results/finetune.sh train                        (all six, ~1 h on 2 cores)
#   sh results/finetune.sh evaluate "pgd-s0 haat-warm-s0"   (HAAT_THREADS=1 each: two workers side by side)
set -e
DATA=../shared/data/cifar10-full
RUNS=${2:-"pgd-s0 haat-warm-s0 pgd-s1 haat-warm-s1 pgd-s2 haat-warm-s2"}
for run in $RUNS; do
  dir=../runs/finetune/$run out=results/finetune/$run seed=${run##*-s}
  case "$run" in
    pgd-*) args="--objective pgd" ;;
    haat-warm-*) args="--objective haat --k 5 --warm-start --warm-k 1 --xi 1e-5 --difference forward --hvp fd" ;;
    *) echo "finetune.sh: unknown run $run" >&2; exit 2 ;;
  esac
  if [ "$1" = train ]; then
    [ -f $out/export.jsonl ] && continue
    mkdir -p $dir $out
    if [ -f $dir/config.json ]; then
      HAAT_THREADS=2 deno task train --resume $dir --data $DATA --checkpoint-steps 20 2>&1 | tee -a $out/train.log
    else
      HAAT_THREADS=2 deno task train $args --init fgsm-rs-w16 --width 16 --data $DATA --train-size 11000 \
        --val-size 1000 --epochs 1 --batch-size 128 --lr 0.02 --schedule onecycle --seed "$seed" --attack-steps 10 \
        --val-pgd-steps 10 --checkpoint-every 0 --checkpoint-steps 20 --log-every 10 --run $dir 2>&1 |
        tee -a $out/train.log
    fi
    sh results/sync-run.sh $dir $out
    grep -q '"kind":"epoch","epoch":1,' $dir/metrics.jsonl || { echo "$dir has not finished" >&2; exit 1; }
    # float16 where that moves accuracy on the 932 by at most 0.2 points (export's check), else float32 (pgd-s2: 0.21)
    for dtype in float16 float32; do
      if HAAT_THREADS=2 deno task export --model $dir/best --out $out/best --dtype $dtype --check-n 932 --data $DATA \
        --overwrite > $out/export.jsonl.tmp; then
        mv $out/export.jsonl.tmp $out/export.jsonl
        break
      fi
    done
    [ -f $out/export.jsonl ] || { echo "finetune.sh: $run could not be exported" >&2; exit 1; }
  elif [ "$1" = evaluate ]; then
    [ -f $out/report.json ] && continue
    [ -f $out/export.jsonl ] || { echo "finetune.sh: $run is not trained; not evaluated" >&2; continue; }
    HAAT_THREADS=${HAAT_THREADS:-1} deno task evaluate --model $out/best --out $out --data $DATA --haat \
      --haat-steps 20 --k 5 --xi 1e-5 --autoattack standard --aa-n 932 --sweep none 2>&1 | tee -a $out/evaluate.log
  else
    echo "usage: sh results/finetune.sh train|evaluate [runs]" >&2; exit 2
  fi
done
