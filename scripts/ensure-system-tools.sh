#!/usr/bin/env bash
# Installs the OS tools the test suite uses to check the Evolution server kit (caddy, shellcheck)
# when they are missing. Idempotent; does nothing (and needs no network) when both are present.
set -euo pipefail

missing=()
command -v caddy >/dev/null 2>&1 || missing+=(caddy)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "need ${missing[*]}: run as root or install them with your package manager" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
