#!/usr/bin/env bash
# Stop, by PID, every daemon start.sh started (recorded in $SLURM_CI_DIR/pids), after
# cancelling jobs still in the queue; then remove our /etc/slurm/slurm.conf symlink.
# Safe to run twice or after a partial start.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/common.sh
source "$here/common.sh"

[[ -f $SLURM_CI_PIDS ]] || { say "nothing to stop (no $SLURM_CI_PIDS)"; exit 0; }

# Jobs still queued or running would leave slurmstepd processes behind.
if pgrep -x slurmctld >/dev/null && [[ -n $(squeue -h -o %i 2>/dev/null) ]]; then
    mapfile -t jobs < <(squeue -h -o %i)
    say "cancelling leftover jobs: ${jobs[*]}"
    scancel --full "${jobs[@]}" 2>/dev/null || true
    for _ in $(seq 50); do
        [[ -z $(squeue -h -t running,completing -o %i 2>/dev/null) ]] && break
        sleep 0.2
    done
fi

# slurmstepd processes that appeared after start.sh ran are ours
steps=$(comm -13 <(sort "$SLURM_CI_DIR/slurmstepd.before" 2>/dev/null) \
    <(pgrep -x slurmstepd | sort) | sed 's/^/slurmstepd /')

stop_pid() {  # NAME PID
    local name=$1 pid=$2
    pid_is "$name" "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 100); do
        pid_is "$name" "$pid" || { say "stopped $name (pid $pid)"; return 0; }
        sleep 0.1
    done
    say "$name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null
    sleep 0.2
    ! pid_is "$name" "$pid"
}

status=0
# Reverse start order: slurmd, slurmctld, munged; then stray job steps.
while read -r name pid; do
    [[ -n $name ]] && { stop_pid "$name" "$pid" || status=1; }
done < <(tac "$SLURM_CI_PIDS"; [[ -n $steps ]] && echo "$steps")

if [[ -L $SLURM_ETC_CONF && $(readlink "$SLURM_ETC_CONF") == "$SLURM_CI_CONF" ]]; then
    rm -f "$SLURM_ETC_CONF"
fi
if ((status == 0)); then
    rm -f "$SLURM_CI_PIDS"
fi
exit "$status"
