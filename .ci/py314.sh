#!/usr/bin/env bash
# CPython 3.14 (Debian sid's) in a Debian sid root made with debootstrap: the README's
# two commands as the README gives them (the whole workflow, then the test suite), on
# a copy of this clone. The root is kept in the CI cache: reused when complete (a
# marker written last), rebuilt otherwise. Needs root (or sudo) for debootstrap,
# mount and chroot.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
echo "== CPython 3.14 in a Debian sid root (.ci/py314.sh) =="
sudo=""
[[ $EUID -eq 0 ]] || sudo=sudo
cache=${WEATHERPLOT_CI_CACHE:-/var/cache/weatherplot}
root=$cache/sid-root
marker=$root/.weatherplot-complete
# What a new user needs today: gcc and the headers because immutables (a Snakemake
# dependency) has no cp314 wheel and builds from source.
packages=python3.14,python3.14-venv,python3.14-dev,gcc,libc6-dev
$sudo mkdir -p "$cache"
# One CI run at a time uses (or rebuilds) the root.
lock=$cache/.sid-root.lock
[[ -w $cache ]] || lock=/tmp/weatherplot-sid-root.lock
exec 9>"$lock"
flock 9

mounts=()
unmount_all() {
    local i
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
        $sudo umount -l "${mounts[i]}" || echo "warning: could not unmount ${mounts[i]}"
    done
    mounts=()
}
trap unmount_all EXIT
trap 'exit 143' INT TERM # through the EXIT trap
# Mounts a killed run left (the lock says no run uses them): never remove or
# mount over the host's /dev.
findmnt -rn -o TARGET | { grep "^$root/" || true; } | sort -r |
    while read -r left; do $sudo umount -l "$left"; done

if [[ ! -e $marker ]]; then
    $sudo rm -rf --one-file-system "$root"
    if ! command -v debootstrap >/dev/null; then
        $sudo apt-get update -qq && $sudo apt-get install -y -qq debootstrap
    fi
    # The host's own Debian mirror (deb822 .sources or one-line .list files).
    mirror=$(
        {
            cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '$1 == "URIs:" {print $2}'
            cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
                awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print $i; break}}'
        } | grep -E '/debian/?$' | head -n1
    ) || true
    mirror=${mirror:-http://deb.debian.org/debian}
    echo "building the sid root in $root from $mirror (debootstrap, about a minute)"
    built=$SECONDS
    log=$(mktemp)
    $sudo nice debootstrap --variant=minbase --include="$packages" sid "$root" "$mirror" \
        >"$log" 2>&1 || { tail -n 30 "$log"; exit 1; }
    rm -f "$log"
    # The mirror may serve sid's Release after its Valid-Until.
    echo 'Acquire::Check-Valid-Until "false";' |
        $sudo tee "$root/etc/apt/apt.conf.d/99weatherplot" >/dev/null
    # The README's commands say python3; python3.14 alone installs no such name.
    $sudo ln -sf /usr/bin/python3.14 "$root/usr/local/bin/python3"
    $sudo touch "$marker"
    echo "sid root built in $((SECONDS - built)) s"
else
    echo "reusing the sid root in $root"
fi

# The host's network and pip settings, and its CA bundle (pip.conf may name it).
for f in /etc/resolv.conf /etc/pip.conf /etc/ssl/certs/ca-certificates.crt; do
    [[ -e $f ]] && $sudo mkdir -p "$root$(dirname "$f")" &&
        $sudo cp -L --remove-destination "$f" "$root$f"
done
if [[ -d /etc/xdg/pip ]]; then
    $sudo rm -rf "$root/etc/xdg/pip" && $sudo mkdir -p "$root/etc/xdg" &&
        $sudo cp -rL /etc/xdg/pip "$root/etc/xdg/pip"
fi

$sudo mount -t proc proc "$root/proc" && mounts+=("$root/proc")
# /dev/shm: multiprocessing's semaphores; /sys: CPU and memory probes.
for m in /dev /dev/pts /dev/shm /sys; do
    if mountpoint -q "$m" || [[ $m == /dev ]]; then
        $sudo mkdir -p "$root$m" && $sudo mount --bind "$m" "$root$m" && mounts+=("$root$m")
    fi
done

# Nothing from the last run but pip's cache: its scratch files and its copy go.
$sudo find "$root/tmp" -mindepth 1 -delete
# A copy of the clone as a fresh clone has it (no venv, no results).
copy=/root/weatherplot
$sudo rm -rf --one-file-system "$root$copy" && $sudo mkdir -p "$root$copy"
git ls-files -z --cached --others --exclude-standard |
    tar --null -T - --ignore-failed-read -cf - | $sudo tar -xf - -C "$root$copy"

# The README's commands, word for word: the first two lines of its first sh block.
mapfile -t commands < <(awk '/^```sh$/ {on = 1; next} /^```$/ {if (on) exit} on' README.md)
[[ ${#commands[@]} -ge 2 ]] || { echo "error: README.md has no sh block of two commands" >&2; exit 1; }
# A clean environment, as a new user's shell; CI is not set, so the free-threaded
# tests skip here (they run on the host, against the free-threaded build made there).
in_root() {
    $sudo chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
        PATH=/usr/local/bin:/usr/bin:/bin /bin/bash -o pipefail -c "cd $copy && $1"
}
in_root 'python3 --version'

stage=$SECONDS
echo "== 3.14: the README's first command: ${commands[0]} =="
in_root "${commands[0]}" || { echo "error: the README's first command failed on 3.14" >&2; exit 1; }
echo "first command done in $((SECONDS - stage)) s"

stage=$SECONDS
echo "== 3.14: the README's second command: ${commands[1]} =="
status=0
in_root "{ ${commands[1]}; } 2>&1 | tee /root/pytest.log" || status=$?
echo "second command done in $((SECONDS - stage)) s (exit $status)"
echo "CPython 3.14 suite: $(tail -n 1 "$root/root/pytest.log")"
echo "3.14 stage done in $((SECONDS - started)) s"
exit "$status"
