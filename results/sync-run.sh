#!/bin/sh
# Copies what a run directory outside the work tree keeps for git into a results/ folder: config.json,
# metrics.jsonl and best/ (not checkpoints/ or latest.json). Usage: sh results/sync-run.sh <run> <results folder>
set -e
[ -f "$1/config.json" ] || { echo "sync-run.sh: $1 holds no run (no config.json)" >&2; exit 1; }
mkdir -p "$2"
cp "$1/config.json" "$2/config.json"
[ -f "$1/metrics.jsonl" ] && cp "$1/metrics.jsonl" "$2/metrics.jsonl"
if [ -d "$1/best" ]; then rm -rf "$2/best.tmp" && cp -r "$1/best" "$2/best.tmp" && rm -rf "$2/best" && mv "$2/best.tmp" "$2/best"; fi
echo "sync-run.sh: $1 -> $2"
