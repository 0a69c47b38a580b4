#!/usr/bin/env bash
# Start PostgreSQL, Redis and RabbitMQ on this machine if any of them is down (local development and CI).
# Elsewhere, point DATABASE_URL / REDIS_URL / RABBITMQ_URL at running services, or use docker-compose.yml.
set -uo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # name port seconds
  local i
  for ((i = 0; i < $3 * 2; i++)); do up "$2" && return 0; sleep 0.5; done
  echo "ensure-services: $1 did not come up on port $2" >&2
  return 1
}

status=0
if ! up 5432; then
  echo "ensure-services: starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  wait_for PostgreSQL 5432 60 || status=1
fi
if ! up 6379; then
  echo "ensure-services: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  wait_for Redis 6379 30 || status=1
fi
if ! up 5672; then
  echo "ensure-services: starting RabbitMQ"
  rabbitmq-server -detached || true
  wait_for RabbitMQ 5672 90 || status=1
  sleep 3  # the port opens a moment before the broker accepts connections
fi
exit $status
