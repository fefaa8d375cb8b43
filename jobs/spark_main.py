"""What spark-submit runs: the ``dedup`` command line, inside the driver spark-submit started.

    spark-submit [spark options] jobs/spark_main.py run --config prod.yaml --engine spark --run-date D

The engine finds the session spark-submit set up (its --master and --conf win over the config's
``spark`` section). jobs/spark-submit.sh wraps this with the night's date and sane defaults.
"""
import sys

from dedup.__main__ import main

if __name__ == "__main__":
    sys.argv[0] = "dedup"
    main()
