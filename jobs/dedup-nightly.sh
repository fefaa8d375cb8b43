#!/usr/bin/env bash
# Nightly wrapper around `dedup run`: picks the night, finds dedup, keeps a log per night.
# cron (jobs/crontab), systemd (jobs/dedup.service) and Airflow (jobs/airflow_dag.py) all call it;
# docs/operations.md explains the set-up.
#
#   dedup-nightly.sh [--config FILE] [--date YYYY-MM-DD] [--log-dir DIR] [-- more `dedup run` options]
#
#   night    --date, else $DEDUP_RUN_DATE, else yesterday (UTC): the day whose stories are processed
#   config   --config, else $DEDUP_CONFIG, else /etc/dedup/prod.yaml
#   dedup    $DEDUP_BIN, else .venv/bin/dedup of the checkout this script is in, else `dedup` on PATH
#   log      <log dir>/dedup-<night>.log, appended to (a rerun of a night adds to its log);
#            log dir: --log-dir, else $DEDUP_LOG_DIR, else /var/log/dedup.
#            Logs older than $DEDUP_LOG_KEEP_DAYS days (default 30) are deleted.
#
# Exit code: dedup's own (0 the night was written, 1 the run failed and nothing changed,
# 2 bad usage or config); 2 for bad options to this script; 1 when dedup cannot be found or
# started (never the shell's 126/127) or the log cannot be written. On success one line goes to stdout; on failure a line and the end of the
# log go to stderr (so cron mails only failures when stdout goes to /dev/null).
set -uo pipefail

usage() {
    sed -n '2,/^set -uo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
}

die_usage() {
    echo "dedup-nightly: $1 (--help for usage)" >&2
    exit 2
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
config="${DEDUP_CONFIG:-/etc/dedup/prod.yaml}"
night="${DEDUP_RUN_DATE:-}"
log_dir="${DEDUP_LOG_DIR:-/var/log/dedup}"
keep_days="${DEDUP_LOG_KEEP_DAYS:-30}"

while [ $# -gt 0 ]; do
    case "$1" in
        -c|--config)  [ $# -ge 2 ] || die_usage "$1 needs a value"; config="$2"; shift 2 ;;
        -d|--date)    [ $# -ge 2 ] || die_usage "$1 needs a value"; night="$2"; shift 2 ;;
        --log-dir)    [ $# -ge 2 ] || die_usage "$1 needs a value"; log_dir="$2"; shift 2 ;;
        -h|--help)    usage; exit 0 ;;
        --)           shift; break ;;
        *)            die_usage "unknown option: $1" ;;
    esac
done

if [ -z "$night" ]; then
    night="$(date -u -d yesterday +%F)"
fi
if ! [[ "$night" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || [ "$(date -u -d "$night" +%F 2>/dev/null)" != "$night" ]; then
    die_usage "not a date (YYYY-MM-DD): $night"
fi
[[ "$keep_days" =~ ^[0-9]+$ ]] || die_usage "DEDUP_LOG_KEEP_DAYS must be a whole number of days: $keep_days"

if [ -n "${DEDUP_BIN:-}" ]; then
    bin="$DEDUP_BIN"
elif [ -x "$here/../.venv/bin/dedup" ]; then
    bin="$(cd "$here/.." && pwd)/.venv/bin/dedup"
elif command -v dedup >/dev/null 2>&1; then
    bin="$(command -v dedup)"
else
    echo "dedup-nightly: cannot find dedup: set DEDUP_BIN, or run 'make setup' in $(cd "$here/.." && pwd)" >&2
    exit 1
fi
case "$bin" in
    */*) ;;
    *) bin="$(command -v "$bin" 2>/dev/null || echo "$bin")" ;;
esac
if ! [ -f "$bin" ] || ! [ -x "$bin" ]; then
    echo "dedup-nightly: cannot run dedup: $bin is not an executable file (set DEDUP_BIN, or run 'make setup')" >&2
    exit 1
fi

if ! mkdir -p "$log_dir" 2>/dev/null || ! [ -w "$log_dir" ]; then
    echo "dedup-nightly: cannot write logs to $log_dir (set --log-dir or DEDUP_LOG_DIR)" >&2
    exit 1
fi
log="$log_dir/dedup-$night.log"

# Rotation by date: drop the logs of nights run more than keep_days ago.
find "$log_dir" -maxdepth 1 -type f -name 'dedup-*.log' -mtime "+$keep_days" -delete 2>/dev/null || true

stamp() { date -u +%Y-%m-%dT%H:%M:%SZ; }
start=$(date +%s)
{
    echo "=== $(stamp) dedup-nightly: night $night, config $config, host $(hostname 2>/dev/null || echo ?), pid $$"
    echo "=== $bin run --config $config --run-date $night $*"
} >>"$log" 2>/dev/null || {
    echo "dedup-nightly: cannot write $log" >&2
    exit 1
}

"$bin" run --config "$config" --run-date "$night" "$@" >>"$log" 2>&1 </dev/null
rc=$?
if [ "$rc" -eq 126 ] || [ "$rc" -eq 127 ]; then
    # The shell could not start dedup (its interpreter missing or not executable for this user);
    # dedup itself exits only 0, 1 or 2. Documented: 1 when dedup cannot be run.
    echo "=== dedup could not be started (exit $rc from the shell): check $bin and its interpreter" >>"$log"
    rc=1
fi

echo "=== $(stamp) exit $rc after $(( $(date +%s) - start )) s" >>"$log"
if [ "$rc" -eq 0 ]; then
    echo "dedup-nightly: night $night written (log: $log)"
else
    case "$rc" in
        1) what="run failed, nothing was changed" ;;
        2) what="bad usage or config" ;;
        *) what="unexpected exit" ;;
    esac
    echo "dedup-nightly: night $night: exit $rc, $what; last lines of $log:" >&2
    tail -n 5 "$log" >&2
fi
exit "$rc"
