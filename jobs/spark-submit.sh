#!/usr/bin/env bash
# One night of dedup on Apache Spark, through spark-submit (README "Running on Spark").
#
#   spark-submit.sh [--config FILE] [--date YYYY-MM-DD] [--master URL] [-- more spark-submit options]
#
#   config   --config, else $DEDUP_CONFIG, else /etc/dedup/prod.yaml (its run.engine is forced to spark)
#   night    --date, else $DEDUP_RUN_DATE, else yesterday (UTC)
#   master   --master, else $SPARK_MASTER, else the config's spark.master, else local[*]
#            (yarn, k8s://https://..., spark://host:7077)
#   memory   the config's spark.conf spark.driver.memory, else in local mode half the machine's memory
#            (at least 1g, at most 31g), passed as --conf spark.driver.memory= (the driver JVM's heap is
#            fixed when spark-submit starts it); a --driver-memory or --conf after -- wins
#   python   $PYSPARK_PYTHON for driver and executors, else .venv/bin/python of this checkout, else
#            python3 on PATH; it must have dedup and pyspark (pip install 'dedup[spark]'). On a
#            cluster, ship an environment with dedup installed (see README) and point it there
#   submit   $SPARK_SUBMIT, else spark-submit on PATH, else the one beside that python, else the one
#            inside its pyspark package
#   -n, --dry-run  print the spark-submit command line and exit 0
#
# Everything after -- goes to spark-submit before the application (for example
# --num-executors 32 --executor-cores 4 --executor-memory 8g --archives env.tar.gz#env).
# Exit code: dedup's own (0 written, 1 run failed and nothing changed, 2 bad usage or config); a
# spark-submit or JVM that dies with another code (52: the driver JVM ran out of memory) exits 1 with
# one line saying so; spark-submit or pyspark not found exits 1.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
config="${DEDUP_CONFIG:-/etc/dedup/prod.yaml}"
night="${DEDUP_RUN_DATE:-}"
master="${SPARK_MASTER:-}"
dry=0
extra=()

while [ $# -gt 0 ]; do
    case "$1" in
        -c|--config) [ $# -ge 2 ] || { echo "spark-submit.sh: $1 needs a value" >&2; exit 2; }; config="$2"; shift 2 ;;
        -d|--date)   [ $# -ge 2 ] || { echo "spark-submit.sh: $1 needs a value" >&2; exit 2; }; night="$2"; shift 2 ;;
        --master)    [ $# -ge 2 ] || { echo "spark-submit.sh: $1 needs a value" >&2; exit 2; }; master="$2"; shift 2 ;;
        -n|--dry-run) dry=1; shift ;;
        -h|--help)   sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 0 ;;
        --)          shift; extra=("$@"); break ;;
        *)           echo "spark-submit.sh: unknown option $1 (--help for usage)" >&2; exit 2 ;;
    esac
done

[ -n "$night" ] || night="$(date -u -d yesterday +%F)"
say() { echo "spark-submit.sh: $*" >&2; }

py="${PYSPARK_PYTHON:-}"
if [ -z "$py" ]; then
    if [ -x "$root/.venv/bin/python" ]; then py="$root/.venv/bin/python"; else py="$(command -v python3 || true)"; fi
fi
[ -n "$py" ] || { say "no python found: set PYSPARK_PYTHON to a python with dedup[spark] installed"; exit 1; }
spark_pkg="$("$py" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))' 2>/dev/null || true)"
[ -n "$spark_pkg" ] || { say "$py cannot import pyspark: pip install 'dedup[spark]' into it, or set PYSPARK_PYTHON to a python that has it"; exit 1; }
submit="${SPARK_SUBMIT:-$(command -v spark-submit || true)}"
[ -n "$submit" ] || { [ -x "$(dirname "$py")/spark-submit" ] && submit="$(dirname "$py")/spark-submit"; } || true
[ -n "$submit" ] || submit="$spark_pkg/bin/spark-submit"
[ -x "$submit" ] || { say "spark-submit not found ($submit): pip install 'dedup[spark]' or set SPARK_SUBMIT"; exit 1; }
export PYSPARK_PYTHON="$py"
export PYSPARK_DRIVER_PYTHON="${PYSPARK_DRIVER_PYTHON:-$PYSPARK_PYTHON}"

# --master and the driver's memory from the config (what must be known before the JVM starts); a bad
# config stops here with dedup's own one line and exit 2.
rc=0
opts_text="$("$py" -m dedup.night.spark.session --config "$config" --run-date "$night" ${master:+--master "$master"})" || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 2 ] || say "$py cannot run dedup: pip install 'dedup[spark]' into it, or set PYSPARK_PYTHON to a python that has it"
[ "$rc" = 0 ] || exit $(( rc == 2 ? 2 : 1 ))
mapfile -t opts <<< "$opts_text"
cmd=("$submit" "${opts[@]}" --name "dedup $night" ${extra[@]+"${extra[@]}"}
     "$here/spark_main.py" run --config "$config" --run-date "$night" --engine spark)
if [ "$dry" = 1 ]; then printf '%q ' "${cmd[@]}"; echo; exit 0; fi

# Not exec: a spark-submit or JVM exit code outside 0/1/2 is turned into 1 with one line. Signals
# a scheduler sends the wrapper go on to spark-submit.
"${cmd[@]}" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP
while :; do  # a trapped signal interrupts wait: wait again until spark-submit has exited
    rc=0; wait "$child" || rc=$?
    kill -0 "$child" 2>/dev/null || break
done
case "$rc" in
    0|1|2) exit "$rc" ;;
    52) say "spark-submit exited 52: the driver JVM ran out of memory; raise spark.driver.memory (config spark.conf, or -- --driver-memory 8g); nothing was committed"; exit 1 ;;
    *) say "spark-submit exited $rc (the JVM or spark-submit failed, or was killed; its log above says why); nothing was committed"; exit 1 ;;
esac
