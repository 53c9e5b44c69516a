#!/bin/sh
# Copies what a run directory outside the work tree keeps for git into a results/ folder: config.json and
# metrics.jsonl (not checkpoints/, latest.json or best/: the committed best/ is written by `deno task export`,
# see each folder's command.sh). Usage: sh results/sync-run.sh <run> <results folder>
set -e
[ -f "$1/config.json" ] || { echo "sync-run.sh: $1 holds no run (no config.json)" >&2; exit 1; }
mkdir -p "$2"
cp "$1/config.json" "$2/config.json"
if [ -f "$1/metrics.jsonl" ]; then cp "$1/metrics.jsonl" "$2/metrics.jsonl"; fi
echo "sync-run.sh: $1 -> $2"
