#!/usr/bin/env bash
# Debian's chromium for the browser test (tests/test_full_run.py opens the HTML report
# in it through Playwright, which is told its path: Playwright's own browser download,
# `playwright install`, is never used). Under CI=true that test fails without it.
set -euo pipefail
echo "== Debian's chromium for the browser test =="
if [[ -x /usr/bin/chromium ]]; then
    /usr/bin/chromium --version
    exit 0
fi
sudo=""
[[ $EUID -eq 0 ]] || sudo=sudo
$sudo apt-get update -qq
# With its recommended fonts: a report drawn without them is not what a user sees.
$sudo apt-get install -y -qq chromium
/usr/bin/chromium --version
