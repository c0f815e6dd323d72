#!/usr/bin/env bash
# The 2D mode-coverage cells of VEEGAN Table 1 (ring8, grid25: GAN, VEEGAN, ALI, Unrolled GAN k=5)
# and then PacGAN Table 1 (ring8-pacgan, grid25-pacgan: GAN = pacgan@m1, the same code unpacked, and
# PacGAN m=2/3/4), SEEDS seeds each, at
# the `paper` budget with the G steps cut to G_STEPS (a `paper-custom` budget: the papers' 100,000 /
# 25,000 / 400,000 updates do not fit a shared 2-core CPU). Each finished run is copied without its
# checkpoint into results/<paper>/<dataset>/<budget>/ (the run-store layout).
#   usage: examples/mode_coverage_runs.sh [G_STEPS=2000] [SEEDS=5]
# Each run (seconds to a minute) takes the CPU lock on its own: RUN_WITH="heavy test" (the default) or
# RUN_WITH="" outside a shared machine.
set -u
G_STEPS=${1:-2000}
SEEDS=${2:-5}
RUNS=${RUNS_DIR:-runs/mode-coverage}
RUN_WITH=${RUN_WITH-heavy test}
CELLS=(
  "gan ring8" "gan grid25" "veegan ring8" "veegan grid25" "ali ring8" "ali grid25"
  "unrolled-gan ring8" "unrolled-gan grid25"
  "pacgan@m1 ring8-pacgan" "pacgan@m2 ring8-pacgan" "pacgan@m3 ring8-pacgan" "pacgan@m4 ring8-pacgan"
  "pacgan@m1 grid25-pacgan" "pacgan@m2 grid25-pacgan" "pacgan@m3 grid25-pacgan" "pacgan@m4 grid25-pacgan"
)
for cell in "${CELLS[@]}"; do
  read -r paper dataset <<<"$cell"
  for seed in $(seq 0 $((SEEDS - 1))); do
    started=$(date +%s)
    if $RUN_WITH gan-bench run "$paper" --dataset "$dataset" --budget paper --g-steps "$G_STEPS" --seed "$seed" \
        --device cpu --runs-dir "$RUNS" > "$RUNS.last.log" 2>&1; then
      run=$(sed -n 's/^run directory: //p' "$RUNS.last.log")
      target="results/${run#"$RUNS"/}"
      mkdir -p "$target" && cp "$run"/{config.json,result.json,curves.jsonl,samples.png} "$target"/
      echo "$cell seed $seed: $(( $(date +%s) - started )) s, $(grep -E '^modes' "$RUNS.last.log")"
    else
      echo "$cell seed $seed: FAILED: $(tail -1 "$RUNS.last.log")"
    fi
  done
done
