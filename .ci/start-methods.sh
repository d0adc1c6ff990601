#!/usr/bin/env bash
# The whole default target (quick config) under the start methods a student's laptop
# uses where this machine's Python would fork: spawn (macOS, Windows) and forkserver
# (Linux from Python 3.14). Each runs in a clean scratch copy of the checkout (no
# results/, .snakemake/ or resources/); the run must finish and its report must name
# the method. The spawn run also hides the Linux-only calls (WEATHERPLOT_HIDE_LINUX_CALLS,
# weatherplot/hostinfo.py), so it takes the code paths a Mac takes as far as Linux can.
# Run from .ci/run with the project venv active.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for method in spawn forkserver; do
    started=$SECONDS
    copy=$scratch/$method
    mkdir -p "$copy"
    tar -C . --exclude=./.git --exclude=./.venv --exclude=./results --exclude=./logs \
        --exclude=./.snakemake --exclude=./resources -cf - . | tar -C "$copy" -xf -
    hide=0
    [[ $method == spawn ]] && hide=1
    (cd "$copy" && WEATHERPLOT_HIDE_LINUX_CALLS=$hide snakemake --cores 2 \
        --configfile config/quick.yaml --config "processes={start_method: $method}")
    report=$copy/results/report/timing_report.md
    if ! grep -q "^| start method | $method " "$report"; then
        echo "ERROR: $report does not name the start method $method:" >&2
        grep "start method" "$report" >&2 || true
        exit 1
    fi
    echo "start method $method (Linux calls hidden: $hide): the quick run and its report in $((SECONDS - started)) s"
done
