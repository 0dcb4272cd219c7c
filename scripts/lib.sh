# Shared by the scripts in this folder: paths, ports and small helpers. Source it, don't run it.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

# pip puts console scripts (nats-server, moto_server) beside the interpreter; make sure they are
# found even where that folder is not on PATH.
PY_SCRIPTS="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null || true)"
if [ -n "$PY_SCRIPTS" ] && [[ ":$PATH:" != *":$PY_SCRIPTS:"* ]]; then
    PATH="$PY_SCRIPTS:$PATH"
fi
export PATH

log() { printf '\033[1m[%s]\033[0m %s\n' "$(basename "$0" .sh)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# wait_for DESCRIPTION SECONDS COMMAND...: retry COMMAND every 0.1 s until it succeeds.
wait_for() {
    local what="$1" seconds="$2"; shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || die "$what did not come up within ${seconds}s"
        sleep 0.1
    done
}

# is_running PIDFILE PROGRAM: the process recorded in PIDFILE is alive and is PROGRAM (its
# command line names it). A stale PIDFILE's number may since belong to anything, even the caller.
is_running() {
    [ -f "$1" ] || return 1
    local pid; pid="$(cat "$1")"
    kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}
