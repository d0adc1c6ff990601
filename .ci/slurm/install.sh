#!/usr/bin/env bash
# Install Debian's SLURM (controller, node daemon, client) and MUNGE, without
# recommends. Idempotent: does nothing when the packages are already installed.
# Package scripts must not start daemons (there is no init system in CI, and
# start.sh starts them by hand), so a temporary policy-rc.d forbids it.
set -euo pipefail

packages=(slurmctld slurmd slurm-client munge)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
    echo "slurm-ci: ${packages[*]} already installed; skipping apt-get"
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "slurm-ci: installing ${missing[*]} needs root" >&2
    exit 1
fi

t0=$(date +%s.%N)
policy=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
fi
cleanup() { if ((own_policy)); then rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
echo "slurm-ci: installing ${missing[*]}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
t1=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "slurm-ci: install took %.1f s\n", b - a }'
dpkg-query -W -f='slurm-ci:   ${Package} ${Version}\n' "${packages[@]}"
