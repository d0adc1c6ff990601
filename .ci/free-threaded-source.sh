#!/usr/bin/env bash
# CI: fetch CPython's release tarball the Debian way, for `snakemake
# free_threaded_python`. Debian 13's source package python3.13 ships the unmodified
# release tarball as its orig tarball (upstream's .asc beside it); this machine's
# own apt sources say which mirror to use:
#   1. add a deb-src entry for trixie with the URI (and keyring) of the machine's
#      Debian entry, unless one is there already (parsed from
#      /etc/apt/sources.list.d/*.sources and sources.list, not hard-coded),
#   2. apt-get update for that entry alone, then `apt-get source --download-only
#      python3.13` in the cache folder (apt checks every file against the signed
#      Sources index); skipped when the tarball is there already,
#   3. print "<tarball path> <sha256>" (the sha256 from the signed .dsc) on stdout.
# Usage: .ci/free-threaded-source.sh CACHE_DIR    (progress on stderr)
# APT_ETC (default /etc/apt): where the apt sources are read and the entry written;
# SUDO: the command that runs apt-get update and writes there (empty as root).
set -euo pipefail
sudo=${SUDO:-}
cache=${1:?usage: $0 CACHE_DIR}
export APT_ETC=${APT_ETC:-/etc/apt}
package=python3.13
mkdir -p "$cache"
cd "$cache"

# What the machine's apt sources say: "present" if a trixie deb-src entry exists,
# else "<URI> <Signed-By or ->" of its Debian archive entry.
found=$(python3 - <<'PY'
import glob, os, re, sys

etc = os.environ["APT_ETC"]

paragraphs = []  # (types, uris, suites, signed_by)
for path in sorted(glob.glob(f"{etc}/sources.list.d/*.sources")):
    for block in re.split(r"\n\s*\n", open(path).read()):
        fields = {}
        for line in block.splitlines():
            if line.startswith("#") or ":" not in line:
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip()
        if fields.get("enabled", "yes").lower() == "no" or "uris" not in fields:
            continue
        paragraphs.append((fields.get("types", "").split(), fields["uris"].split(),
                           fields.get("suites", "").split(), fields.get("signed-by", "-")))
for path in [f"{etc}/sources.list", *sorted(glob.glob(f"{etc}/sources.list.d/*.list"))]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        m = re.match(r"\s*(deb|deb-src)\s+(?:\[([^]]*)\]\s+)?(\S+)\s+(\S+)", line)
        if m:
            signed = re.search(r"signed-by=(\S+)", m[2] or "")
            paragraphs.append(([m[1]], [m[3]], [m[4]], signed[1] if signed else "-"))
if any("deb-src" in t and "trixie" in s for t, _, s, _ in paragraphs):
    print("present")
    sys.exit()
for types, uris, suites, signed in paragraphs:
    # The main archive: not -security, -updates, -backports (other URIs or suites).
    if "deb" in types and any(not re.search(r"-(security|updates|backports)$", s)
                              for s in suites):
        for uri in uris:
            if not re.search(r"security", uri):
                print(uri.rstrip("/"), signed)
                sys.exit()
sys.exit("free-threaded-source: no Debian archive entry in this machine's apt sources")
PY
)

list=$APT_ETC/sources.list.d/weatherplot-trixie-src.sources
if [[ $found != present ]]; then
    read -r uri signed <<<"$found"
    echo "free-threaded-source: adding deb-src trixie from $uri ($list)" >&2
    {
        echo "Types: deb-src"
        echo "URIs: $uri"
        echo "Suites: trixie"
        echo "Components: main"
        [[ $signed == - ]] || echo "Signed-By: $signed"
    } | $sudo tee "$list" >/dev/null
fi

orig=$(ls "$package"_*.orig.tar.* 2>/dev/null | grep -v '\.asc$' | tail -1 || true)
if [[ -z $orig ]]; then
    if [[ -f $list ]]; then  # only the entry we added: quicker than every source
        $sudo apt-get update -qq -o Dir::Etc::sourcelist="$list" \
            -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 >&2
    else
        $sudo apt-get update -qq >&2
    fi
    apt-get source --download-only "$package" >&2
    orig=$(ls "$package"_*.orig.tar.* | grep -v '\.asc$' | tail -1)
fi
dsc=$(ls "$package"_*.dsc | tail -1)
# The sha256 Debian signed for it (apt verified the .dsc's signature on download).
sha256=$(awk -v f="$orig" '/^Checksums-Sha256:/ {on=1; next} /^[^ ]/ {on=0}
    on && $3 == f {print $1}' "$dsc")
[[ -n $sha256 ]] || { echo "free-threaded-source: $orig not listed in $dsc" >&2; exit 1; }
echo "$cache/$orig $sha256"
