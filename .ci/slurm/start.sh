#!/usr/bin/env bash
# Start a single-node SLURM on localhost by hand (no systemd): munged, slurmctld,
# slurmd. Writes slurm.conf to $SLURM_CI_DIR, symlinks it at /etc/slurm/slurm.conf,
# records every PID it starts in $SLURM_CI_DIR/pids and waits until `sinfo` shows
# the node idle. On any failure it prints the daemon logs and stops what it started.
# Stop with stop.sh (same SLURM_CI_DIR).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/common.sh
source "$here/common.sh"
timeout_s=${SLURM_CI_TIMEOUT:-90}

t_start=$(now)
for d in slurmctld slurmd; do
    if pgrep -x "$d" >/dev/null; then
        say "a $d is already running (pid $(pgrep -x "$d" | xargs)); refusing to start a second cluster" >&2
        exit 1
    fi
done
if [[ -e $SLURM_ETC_CONF && ! -L $SLURM_ETC_CONF ]]; then
    say "$SLURM_ETC_CONF is a real file (a configured SLURM?); not replacing it" >&2
    exit 1
fi

mkdir -p "$SLURM_CI_DIR" "$SLURM_CI_LOGS" "$SLURM_CI_DIR/state" "$SLURM_CI_DIR/spool"
: >"$SLURM_CI_PIDS"
# slurmstepd processes that exist before we start are not ours (stop.sh leaves them)
pgrep -x slurmstepd >"$SLURM_CI_DIR/slurmstepd.before" || true

failed() {
    say "FAILED: $*" >&2
    dump_logs >&2
    "$here/stop.sh" >&2 || true
    exit 1
}

# --- slurm.conf -------------------------------------------------------------------
# The node as slurmd sees it (real CPU count, sockets/cores/threads, RealMemory);
# declaring more than the hardware has would drain the node.
node_line=$(slurmd -C | head -n 1)
[[ $node_line == NodeName=* ]] || failed "unexpected 'slurmd -C' output: $node_line"
node=$(sed -E 's/^NodeName=([^ ]+).*/\1/' <<<"$node_line")
cat >"$SLURM_CI_CONF" <<CONF
# Single-node CI cluster written by .ci/slurm/start.sh; not for production.
ClusterName=ci
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$SLURM_CI_DIR/state
SlurmdSpoolDir=$SLURM_CI_DIR/spool
SlurmctldPidFile=$SLURM_CI_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_CI_DIR/slurmd.pid
SlurmctldLogFile=$SLURM_CI_LOGS/slurmctld.log
SlurmdLogFile=$SLURM_CI_LOGS/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups, no accounting daemon (slurmdbd): what works without systemd
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
# Keep finished jobs visible to squeue for 5 min: the executor plugin polls squeue
# (no sacct without slurmdbd) and falls back to sacct if MinJobAge is too short.
MinJobAge=300
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
mkdir -p "$(dirname "$SLURM_ETC_CONF")"
ln -sfn "$SLURM_CI_CONF" "$SLURM_ETC_CONF"
say "slurm.conf: $SLURM_CI_CONF (symlinked at $SLURM_ETC_CONF); node: $node_line"

# --- munged -----------------------------------------------------------------------
# A munged that is already running (a system service) is used, not started or stopped.
if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "munged already running and answering; using it"
else
    [[ -s /etc/munge/munge.key ]] || {
        mungekey --create --keyfile=/etc/munge/munge.key
        chown munge:munge /etc/munge/munge.key
        chmod 600 /etc/munge/munge.key
    }
    install -d -o munge -g munge -m 755 "$MUNGE_SOCKET_DIR"  # clients need o+x
    setsid setpriv --reuid=munge --regid=munge --init-groups \
        munged --foreground >"$SLURM_CI_LOGS/munged.out" 2>&1 </dev/null &
    echo "munged $!" >>"$SLURM_CI_PIDS"
    for _ in $(seq 50); do
        munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.1
    done
    munge -n </dev/null | unmunge >/dev/null || failed "munged does not answer"
fi
t_munge=$(now)

# --- slurmctld, slurmd ------------------------------------------------------------
setsid slurmctld -D -i >"$SLURM_CI_LOGS/slurmctld.out" 2>&1 </dev/null &
echo "slurmctld $!" >>"$SLURM_CI_PIDS"
setsid slurmd -D >"$SLURM_CI_LOGS/slurmd.out" 2>&1 </dev/null &
echo "slurmd $!" >>"$SLURM_CI_PIDS"

deadline=$(($(date +%s) + timeout_s))
state=""
while :; do
    while read -r name pid; do
        pid_is "$name" "$pid" || failed "$name (pid $pid) exited during start-up"
    done <"$SLURM_CI_PIDS"
    state=$(sinfo -h -N -n "$node" -o '%T' 2>/dev/null || true)
    [[ $state == idle ]] && break
    (($(date +%s) < deadline)) || failed "node $node not idle after ${timeout_s}s (sinfo state: '${state:-no answer}')"
    sleep 0.5
done
t_idle=$(now)

say "daemons: $(tr '\n' ' ' <"$SLURM_CI_PIDS")"
sinfo -N -l
say "cluster start-up: $(elapsed "$t_start" "$t_idle") s to node idle (munged ready after $(elapsed "$t_start" "$t_munge") s)"
