#!/usr/bin/env bash
# One night of dedup on Apache Spark, through spark-submit (README "Running on Spark").
#
#   spark-submit.sh [--config FILE] [--date YYYY-MM-DD] [--master URL] [-- more spark-submit options]
#
#   config   --config, else $DEDUP_CONFIG, else /etc/dedup/prod.yaml (its run.engine is forced to spark)
#   night    --date, else $DEDUP_RUN_DATE, else yesterday (UTC)
#   master   --master, else $SPARK_MASTER, else local[*] (yarn, k8s://https://..., spark://host:7077)
#   submit   $SPARK_SUBMIT, else spark-submit on PATH, else the .venv/bin/spark-submit that
#            pip install 'dedup[spark]' put beside this checkout
#   python   $PYSPARK_PYTHON for driver and executors, else .venv/bin/python of this checkout;
#            on a cluster, ship an environment with dedup installed (see README) and point it there
#
# Everything after -- goes to spark-submit before the application (for example
# --num-executors 32 --executor-cores 4 --executor-memory 8g --archives env.tar.gz#env).
# Exit code: dedup's own (0 written, 1 run failed and nothing changed, 2 bad usage or config).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
config="${DEDUP_CONFIG:-/etc/dedup/prod.yaml}"
night="${DEDUP_RUN_DATE:-}"
master="${SPARK_MASTER:-local[*]}"
extra=()

while [ $# -gt 0 ]; do
    case "$1" in
        -c|--config) [ $# -ge 2 ] || { echo "spark-submit.sh: $1 needs a value" >&2; exit 2; }; config="$2"; shift 2 ;;
        -d|--date)   [ $# -ge 2 ] || { echo "spark-submit.sh: $1 needs a value" >&2; exit 2; }; night="$2"; shift 2 ;;
        --master)    [ $# -ge 2 ] || { echo "spark-submit.sh: $1 needs a value" >&2; exit 2; }; master="$2"; shift 2 ;;
        -h|--help)   sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 0 ;;
        --)          shift; extra=("$@"); break ;;
        *)           echo "spark-submit.sh: unknown option $1 (--help for usage)" >&2; exit 2 ;;
    esac
done

[ -n "$night" ] || night="$(date -u -d yesterday +%F)"
submit="${SPARK_SUBMIT:-$(command -v spark-submit || true)}"
[ -n "$submit" ] || submit="$root/.venv/bin/spark-submit"
[ -x "$submit" ] || { echo "spark-submit.sh: spark-submit not found: pip install 'dedup[spark]' or set SPARK_SUBMIT" >&2; exit 1; }
export PYSPARK_PYTHON="${PYSPARK_PYTHON:-$root/.venv/bin/python}"
export PYSPARK_DRIVER_PYTHON="${PYSPARK_DRIVER_PYTHON:-$PYSPARK_PYTHON}"

exec "$submit" --master "$master" --name "dedup $night" ${extra[@]+"${extra[@]}"} \
    "$here/spark_main.py" run --config "$config" --run-date "$night" --engine spark
