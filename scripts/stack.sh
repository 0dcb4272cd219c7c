#!/usr/bin/env bash
# The local stack, without Docker: nats-server (JetStream, file storage, the users and permissions
# of deploy/nats/nats-server.conf), a private PostgreSQL 15 cluster (with a login role per
# service) and an S3 API server (moto), all on loopback, all state under $STACK_DIR, each with
# its PID recorded so `down` stops exactly what `up` started.
#
#   scripts/stack.sh up      start whatever is not running, create the database and the bucket,
#                            write $STACK_DIR/env and print it
#   scripts/stack.sh down    stop everything this stack started
#   scripts/stack.sh status  say what is running
#   scripts/stack.sh env     print the environment the services need (source-able)
#
# and Prometheus (deploy/prometheus/prometheus.yml: the services' /metrics and the alert rules).
#
# Ports and places come from the environment so a test stack can run beside a developer's own:
#   STACK_DIR (.stack)  NATS_PORT (14222)  NATS_MONITOR_PORT (18222)  PG_PORT (15432)
#   S3_PORT (19000)  S3_BUCKET (attachments)  DB_NAME (lol)  PROMETHEUS_PORT (19090)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

STACK_DIR="${STACK_DIR:-$REPO_ROOT/.stack}"
NATS_PORT="${NATS_PORT:-14222}"
NATS_MONITOR_PORT="${NATS_MONITOR_PORT:-18222}"
PG_PORT="${PG_PORT:-15432}"
S3_PORT="${S3_PORT:-19000}"
PROMETHEUS_PORT="${PROMETHEUS_PORT:-19090}"
S3_BUCKET="${S3_BUCKET:-attachments}"
DB_NAME="${DB_NAME:-lol}"
AWS_REGION="${AWS_REGION:-ap-northeast-2}"

mkdir -p "$STACK_DIR"
STACK_DIR="$(cd "$STACK_DIR" && pwd)"
PG_DATA="$STACK_DIR/postgres"

NATS_PASSWORDS="$STACK_DIR/nats-passwords.env"
NATS_PASSWORD_VARIABLES="NATS_ADMIN_PASSWORD NATS_API_PASSWORD NATS_EXTRACT_WORKER_PASSWORD NATS_CLEANUP_WORKER_PASSWORD NATS_SCHEDULER_PASSWORD NATS_OUTBOX_RELAY_PASSWORD"
SERVICE_DB_ROLES="lol_extract_worker lol_cleanup_worker lol_scheduler lol_outbox_relay lol_api"

# Each NATS user gets a random password on the first `up`, kept in $STACK_DIR for later runs.
nats_passwords() {
    # A user added since the file was written gets its password appended.
    (umask 077; touch "$NATS_PASSWORDS"; for variable in $NATS_PASSWORD_VARIABLES; do
        grep -q "^export $variable=" "$NATS_PASSWORDS" \
            || echo "export $variable=$(python3 -c 'import secrets; print(secrets.token_hex(16))')" >>"$NATS_PASSWORDS"
    done)
    cat "$NATS_PASSWORDS"
}

# The services' variables: NATS_URL and DATABASE_URL as the operator (admin, postgres), and each
# user's password; `scripts/demo.sh` shows how a service is started as its own user and role.
print_env() {
    nats_passwords
    cat <<ENV
export NATS_URL=nats://127.0.0.1:$NATS_PORT
export NATS_USER=admin
export NATS_PASSWORD=\$NATS_ADMIN_PASSWORD
export NATS_SERVER_BIN=$(command -v nats-server || echo nats-server)
export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/$DB_NAME
export S3_ENDPOINT=http://127.0.0.1:$S3_PORT
export S3_BUCKET=$S3_BUCKET
export AWS_REGION=$AWS_REGION
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
ENV
}

start_nats() {
    local pidfile="$STACK_DIR/nats.pid"
    if ! is_running "$pidfile" nats-server; then
        mkdir -p "$STACK_DIR/nats"
        # shellcheck disable=SC1090
        (source <(nats_passwords) && exec nats-server --config "$REPO_ROOT/deploy/nats/nats-server.conf" --jetstream --store_dir "$STACK_DIR/nats" --addr 127.0.0.1 --port "$NATS_PORT" \
            --http_port "$NATS_MONITOR_PORT" --pid "$pidfile" --log "$STACK_DIR/nats.log") </dev/null >/dev/null 2>&1 &
        disown
    fi
    wait_for "nats-server (port $NATS_PORT)" 20 curl -fsS "http://127.0.0.1:$NATS_MONITOR_PORT/healthz?js-enabled-only=true"
    log "nats-server on 127.0.0.1:$NATS_PORT (monitoring :$NATS_MONITOR_PORT)"
}

# PostgreSQL refuses to run as root, so the cluster belongs to the `postgres` user.
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_postgres() {
    if [ ! -f "$PG_DATA/PG_VERSION" ]; then
        mkdir -p "$PG_DATA"
        [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$PG_DATA"
        chmod 700 "$PG_DATA"
        # trust on loopback only: a throwaway development cluster with no password to leak.
        as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
        touch "$STACK_DIR/postgres.log"
        [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$STACK_DIR/postgres.log"
        as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$STACK_DIR/postgres.log" -w -t 30 \
            -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories='$PG_DATA' -c max_connections=200" \
            start >/dev/null
    fi
    wait_for "postgres (port $PG_PORT)" 30 "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"
    if ! psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -q 1; then
        psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE \"$DB_NAME\""
    fi
    # The services' roles, able to log in (trust on loopback); the migrations grant them their
    # privileges and create them NOLOGIN where nobody did this first.
    for role in $SERVICE_DB_ROLES; do
        psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qtAc "SELECT 1 FROM pg_roles WHERE rolname = '$role'" | grep -q 1 \
            || psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE ROLE $role LOGIN"
    done
    log "postgres on 127.0.0.1:$PG_PORT (database $DB_NAME)"
}

start_s3() {
    local pidfile="$STACK_DIR/s3.pid"
    if ! is_running "$pidfile" moto_server; then
        moto_server -H 127.0.0.1 -p "$S3_PORT" </dev/null >"$STACK_DIR/s3.log" 2>&1 &
        echo $! >"$pidfile"
        disown
    fi
    wait_for "S3 API server (port $S3_PORT)" 30 curl -fsS "http://127.0.0.1:$S3_PORT/moto-api/"
    curl -fs -o /dev/null -I "http://127.0.0.1:$S3_PORT/$S3_BUCKET" || curl -fsS -X PUT "http://127.0.0.1:$S3_PORT/$S3_BUCKET" \
        -H "Content-Type: application/xml" \
        --data "<CreateBucketConfiguration><LocationConstraint>$AWS_REGION</LocationConstraint></CreateBucketConfiguration>" >/dev/null
    log "S3 API server on 127.0.0.1:$S3_PORT (bucket $S3_BUCKET)"
}

start_prometheus() {
    local pidfile="$STACK_DIR/prometheus.pid"
    if ! is_running "$pidfile" prometheus; then
        mkdir -p "$STACK_DIR/prometheus"
        prometheus --config.file="$REPO_ROOT/deploy/prometheus/prometheus.yml" --storage.tsdb.path="$STACK_DIR/prometheus" \
            --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" </dev/null >"$STACK_DIR/prometheus.log" 2>&1 &
        echo $! >"$pidfile"
        disown
    fi
    wait_for "Prometheus (port $PROMETHEUS_PORT)" 30 curl -fsS "http://127.0.0.1:$PROMETHEUS_PORT/-/ready"
    log "Prometheus on 127.0.0.1:$PROMETHEUS_PORT (alerts: /alerts)"
}

stop_pidfile() {
    local name="$1" pidfile="$2" program="$3"
    if is_running "$pidfile" "$program"; then
        local pid; pid="$(cat "$pidfile")"
        kill "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        log "stopped $name"
    fi
    rm -f "$pidfile"
}

case "${1:-}" in
    up)
        command -v nats-server >/dev/null && command -v moto_server >/dev/null && command -v prometheus >/dev/null \
            && [ -x "$PG_BIN/postgres" ] || "$REPO_ROOT/scripts/install-deps.sh"
        start_nats
        start_postgres
        start_s3
        start_prometheus
        print_env >"$STACK_DIR/env"
        print_env
        ;;
    down)
        stop_pidfile nats-server "$STACK_DIR/nats.pid" nats-server
        stop_pidfile "S3 API server" "$STACK_DIR/s3.pid" moto_server
        stop_pidfile Prometheus "$STACK_DIR/prometheus.pid" prometheus
        if [ -f "$PG_DATA/PG_VERSION" ] && as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
            as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
            log "stopped postgres"
        fi
        ;;
    status)
        is_running "$STACK_DIR/nats.pid" nats-server && echo "nats-server: running" || echo "nats-server: stopped"
        as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1 && echo "postgres: running" || echo "postgres: stopped"
        is_running "$STACK_DIR/s3.pid" moto_server && echo "S3 API server: running" || echo "S3 API server: stopped"
        is_running "$STACK_DIR/prometheus.pid" prometheus && echo "Prometheus: running" || echo "Prometheus: stopped"
        ;;
    env) print_env ;;
    *) echo "usage: $0 up|down|status|env" >&2; exit 2 ;;
esac
