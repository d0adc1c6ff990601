#!/usr/bin/env bash
# CI entry: run the station fan-out on a real single-node SLURM.
#   1. install Debian's SLURM and MUNGE (skipped when present),
#   2. install the executor plugin (the project's `slurm` extra) if missing,
#   3. start munged, slurmctld and slurmd by hand, stop them by PID on exit
#      (also when anything fails),
#   4. run `pytest tests/test_slurm.py` (the cluster test, and the unit tests that
#      need the plugin) with WEATHERPLOT_REQUIRE_SLURM=1, so the cluster test fails
#      instead of skipping if the cluster does not answer,
#   5. check that no daemon is left.
# Expects the project venv active (python, pip, pytest, snakemake on PATH).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
slurm_ci=$repo/.ci/slurm
cd "$repo"
t0=$(date +%s.%N)

"$slurm_ci/install.sh"
if ! python -c 'import snakemake_executor_plugin_slurm' 2>/dev/null; then
    echo "slurm-ci: installing the executor plugin: pip install -e '.[slurm]'"
    pip install -q -e "${repo}[slurm]"
fi
python - <<'PY'
from importlib.metadata import version
print("slurm-ci: snakemake", version("snakemake"),
      "| snakemake-executor-plugin-slurm", version("snakemake-executor-plugin-slurm"))
PY

daemons=(munged slurmctld slurmscriptd slurmd slurmstepd)
daemon_pids() { for d in "${daemons[@]}"; do pgrep -x "$d"; done; true; }
# Daemons running before we start (e.g. a system munged) are not ours to check.
before=$(daemon_pids)

SLURM_CI_DIR=$(mktemp -d /tmp/weatherplot-slurm-ci.XXXXXX)
export SLURM_CI_DIR
# shellcheck source=SCRIPTDIR/slurm/common.sh
source "$slurm_ci/common.sh"  # dump_logs

test_pid=""
descendants() {  # PID: its children, grandchildren, ...
    local child
    for child in $(pgrep -P "$1"); do
        echo "$child"
        descendants "$child"
    done
}
alive() {  # PIDs...: those still running (zombies excluded)
    local pid
    for pid in "$@"; do
        [[ $(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) =~ ^[^Z]$ ]] &&
            echo "$pid"
    done
    true
}
stop_test() {  # an interrupted test: stop pytest and what it runs (snakemake)
    [[ -n $test_pid && -n $(alive "$test_pid") ]] || return 0
    local pids
    read -ra pids <<<"$test_pid $(descendants "$test_pid" | xargs)"
    echo "slurm-ci: stopping the test: pids ${pids[*]}"
    kill -TERM "${pids[@]}" 2>/dev/null
    for _ in $(seq 30); do
        [[ -z $(alive "${pids[@]}") ]] && return 0
        sleep 0.5
    done
    echo "slurm-ci: still running after 15 s, SIGKILL: $(alive "${pids[@]}" | xargs)"
    mapfile -t pids < <(alive "${pids[@]}")
    kill -KILL "${pids[@]}" 2>/dev/null
    true
}

teardown() {
    local rc=$?
    trap - EXIT INT TERM
    if ((rc != 0)) && [[ -d $SLURM_CI_DIR/log ]]; then
        echo "slurm-ci: failed (exit $rc); daemon logs follow"
        dump_logs
    fi
    stop_test
    local stopped=1
    "$slurm_ci/stop.sh" || { rc=1; stopped=0; }
    local left
    for _ in $(seq 25); do  # stopped daemons can linger as zombies until reaped
        left=$(daemon_pids | grep -vxF -f <(printf '%s\n' "$before") |
            xargs -r ps -o pid,stat,cmd -p || true)
        [[ -z $left ]] && break
        sleep 0.2
    done
    if [[ -n $left ]]; then
        echo "slurm-ci: ERROR: daemons still running after teardown:"
        echo "$left"
        rc=1
    else
        echo "slurm-ci: teardown done; no ${daemons[*]} of ours left (pgrep)"
    fi
    if ((stopped)); then
        rm -rf "$SLURM_CI_DIR"
    else
        echo "slurm-ci: kept $SLURM_CI_DIR (PIDs and logs of what could not be stopped)"
    fi
    awk -v a="$t0" -v b="$(date +%s.%N)" -v rc="$rc" \
        'BEGIN { printf "slurm-ci: total %.1f s, exit %d\n", b - a, rc }'
    exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$slurm_ci/start.sh"
# In the background, so that a TERM/INT reaches the trap at once (bash runs traps
# only between foreground commands) and the teardown can stop the test's processes.
WEATHERPLOT_REQUIRE_SLURM=1 pytest -n 0 -s -v -p no:cacheprovider \
    tests/test_slurm.py &
test_pid=$!
wait "$test_pid"
