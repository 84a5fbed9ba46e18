#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium for the status page test when it is missing.
# Idempotent; does nothing (and needs no network) when a Chromium binary is already present.
# Prints the binary's path on stdout.
set -euo pipefail

for candidate in "${CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    echo "$candidate"
    exit 0
  fi
done

if [ "$(id -u)" -ne 0 ]; then
  echo "need chromium: run as root or install it with your package manager" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# A lock held by another installer (a parallel test run) is waited for, not fought.
apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium >&2
echo /usr/bin/chromium
