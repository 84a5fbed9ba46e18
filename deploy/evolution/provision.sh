#!/usr/bin/env bash
# Provision a fresh Ubuntu 22.04 VPS (4 GB RAM or more) for Evolution API, and start the stack.
# Idempotent: every step checks before it changes anything, so running it twice changes nothing.
#
#   sudo ./provision.sh            (from this directory, after: cp .env.example .env; edit .env)
set -euo pipefail
cd "$(dirname "$0")"

log() { printf '==> %s\n' "$*"; }
[ "$(id -u)" -eq 0 ] || { echo "run as root (sudo ./provision.sh)" >&2; exit 1; }
[ -f .env ] || { echo "create .env first: cp .env.example .env, then replace every CHANGE_ME" >&2; exit 1; }
if grep -q '^[[:space:]]*[A-Za-z_][A-Za-z0-9_]*=.*CHANGE_ME' .env; then  # a setting's value, not the header comment
  echo ".env still has CHANGE_ME placeholders; generate secrets with: openssl rand -hex 32" >&2
  exit 1
fi
if grep -q '429683C4C977415CAAFCCE10F7D57E11' .env; then
  echo ".env carries Evolution's public example API key; generate your own" >&2
  exit 1
fi
domain=$(grep -E '^EVOLUTION_DOMAIN=' .env | cut -d= -f2-)
if [ -z "$domain" ] || [ "$domain" = "evo.example.com" ]; then
  echo "set EVOLUTION_DOMAIN in .env" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

log "Docker Engine and the compose plugin"
if ! command -v docker >/dev/null 2>&1 || ! docker compose version >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq ca-certificates curl gnupg
  install -m 0755 -d /etc/apt/keyrings
  if [ ! -f /etc/apt/keyrings/docker.gpg ]; then
    curl -fsSL https://download.docker.com/linux/ubuntu/gpg | gpg --dearmor -o /etc/apt/keyrings/docker.gpg
    chmod a+r /etc/apt/keyrings/docker.gpg
  fi
  # shellcheck disable=SC1091
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  echo "deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.gpg] https://download.docker.com/linux/ubuntu ${codename} stable" \
    > /etc/apt/sources.list.d/docker.list
  apt-get update -qq
  apt-get install -y -qq docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin
fi
systemctl is-enabled --quiet docker || systemctl enable --now docker

log "Firewall: SSH, HTTP, HTTPS only (Evolution's 8080 is never exposed)"
command -v ufw >/dev/null 2>&1 || apt-get install -y -qq ufw
for rule in 22/tcp 80/tcp 443/tcp; do
  ufw status | grep -qE "^${rule}[[:space:]]+ALLOW" || ufw allow "$rule" >/dev/null
done
ufw status | grep -q '^Status: active' || ufw --force enable >/dev/null

log "Unattended security updates"
dpkg -s unattended-upgrades >/dev/null 2>&1 || apt-get install -y -qq unattended-upgrades
auto=/etc/apt/apt.conf.d/20auto-upgrades
want='APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";'
[ "$(cat "$auto" 2>/dev/null)" = "$want" ] || printf '%s\n' "$want" > "$auto"

log "Swap (2 GB when there is none)"
if [ "$(swapon --show --noheadings | wc -l)" -eq 0 ]; then
  [ -f /swapfile ] || { fallocate -l 2G /swapfile; chmod 600 /swapfile; mkswap /swapfile >/dev/null; }
  swapon /swapfile
  grep -q '^/swapfile ' /etc/fstab || echo '/swapfile none swap sw 0 0' >> /etc/fstab
fi

log "Starting the stack"
docker compose pull --quiet
docker compose up -d

log "Checking https://${domain}/ (certificate issuance can take a minute)"
for _ in $(seq 1 30); do
  if curl -fsS --max-time 10 "https://${domain}/" | grep -q 'Welcome to the Evolution API'; then
    log "Evolution answers at https://${domain}/"
    exit 0
  fi
  sleep 10
done
echo "https://${domain}/ did not answer; check DNS and: docker compose logs caddy evolution" >&2
exit 1
