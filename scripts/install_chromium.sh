#!/usr/bin/env bash
# Install the browser the browser tests drive: Debian's chromium (never a browser that a tool
# downloads by itself, e.g. `playwright install`), plus CJK fonts so the zh pages render.
# Idempotent: does nothing when both are there. Needs root for apt-get; otherwise says what to run.
set -euo pipefail

PACKAGES=(chromium fonts-noto-cjk)
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q "install ok installed" || missing+=(fonts-noto-cjk)

if [ ${#missing[@]} -eq 0 ]; then
    echo "install_chromium: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) and fonts-noto-cjk present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install_chromium: missing ${missing[*]}; as root run:" >&2
    echo "    apt-get update && apt-get install -y ${PACKAGES[*]}" >&2
    exit 1
fi

# Another apt/dpkg (e.g. a set-up running in the background) may hold the lock: wait for it.
wait_for_apt() {
    local waited=0
    while fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock >/dev/null 2>&1; do
        if [ $waited -eq 0 ]; then echo "install_chromium: waiting for another apt/dpkg to finish..."; fi
        sleep 3
        waited=$((waited + 3))
        if [ $waited -ge 900 ]; then echo "install_chromium: apt lock still held after 15 min" >&2; exit 1; fi
    done
}

export DEBIAN_FRONTEND=noninteractive
wait_for_apt
apt-get update -q -o DPkg::Lock::Timeout=600
wait_for_apt
apt-get install -y -q -o DPkg::Lock::Timeout=600 "${missing[@]}"
/usr/bin/chromium --version
