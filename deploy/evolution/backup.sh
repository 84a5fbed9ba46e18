#!/usr/bin/env bash
# Back up Evolution's PostgreSQL (instances, sessions' creds, messages) and Redis (Signal session
# keys — losing them logs every number out). Keeps the newest $KEEP backups.
#
#   ./backup.sh [backup-dir]            e.g. from cron: 17 3 * * * /opt/evolution/backup.sh
#
# Restore (stop Evolution first so nothing writes meanwhile):
#   docker compose stop evolution
#   gunzip -c <dir>/postgres.sql.gz | docker compose exec -T postgres psql -U "$POSTGRES_USER" -d "$POSTGRES_DB"
#   docker compose stop redis
#   docker run --rm -v evolution_redis_data:/data -v <dir>:/backup alpine \
#     sh -c 'rm -rf /data/* && tar -xzf /backup/redis-data.tgz -C /data'
#   docker compose up -d
set -euo pipefail
cd "$(dirname "$0")"

root=${1:-/var/backups/evolution}
keep=${KEEP:-14}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
dir="$root/$stamp"
mkdir -p "$dir"
chmod 700 "$root"

set -a
# shellcheck disable=SC1091
. ./.env
set +a

docker compose exec -T postgres pg_dump -U "$POSTGRES_USER" -d "$POSTGRES_DB" --clean --if-exists \
  | gzip > "$dir/postgres.sql.gz"

before=$(docker compose exec -T redis redis-cli -a "$REDIS_PASSWORD" --no-auth-warning LASTSAVE | tr -d '\r')
docker compose exec -T redis redis-cli -a "$REDIS_PASSWORD" --no-auth-warning BGSAVE >/dev/null
for _ in $(seq 1 60); do
  now=$(docker compose exec -T redis redis-cli -a "$REDIS_PASSWORD" --no-auth-warning LASTSAVE | tr -d '\r')
  [ "$now" != "$before" ] && break
  sleep 1
done
docker compose exec -T redis tar -czf - -C /data . > "$dir/redis-data.tgz"

echo "backup written to $dir"
find "$root" -mindepth 1 -maxdepth 1 -type d | sort | head -n -"$keep" | xargs -r rm -rf
