# shellcheck shell=bash disable=SC2034  # variables used by the sourcing scripts
# Shared settings for the single-node CI cluster (sourced by start.sh and stop.sh).
# SLURM_CI_DIR holds the generated slurm.conf, the daemons' state, logs and PIDs.
SLURM_CI_DIR=${SLURM_CI_DIR:-/tmp/weatherplot-slurm-ci}
SLURM_CI_CONF=$SLURM_CI_DIR/slurm.conf
SLURM_CI_PIDS=$SLURM_CI_DIR/pids       # lines: "<name> <pid>", in start order
SLURM_CI_LOGS=$SLURM_CI_DIR/log
# The jobstep plugin strips SLURM_* variables before its inner srun, so SLURM_CONF
# is not enough: every SLURM command must find the config at the default path.
SLURM_ETC_CONF=/etc/slurm/slurm.conf
MUNGE_SOCKET_DIR=/run/munge

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "slurm-ci: $*"; }

# pid_is NAME PID: is PID alive (not a zombie) and running the program NAME?
# (guards against PID reuse before we signal anything)
pid_is() {
    local comm state
    comm=$(cat "/proc/$2/comm" 2>/dev/null) || return 1
    state=$(awk '/^State:/ { print $2 }' "/proc/$2/status" 2>/dev/null)
    [[ $comm == "$1" && $state != Z ]]
}

dump_logs() {
    local f
    for f in "$SLURM_CI_LOGS"/*.log /var/log/munge/munged.log; do
        [[ -s $f ]] || continue
        echo "----- $f (last 40 lines) -----"
        tail -n 40 "$f"
    done
}
