"""Airflow DAG for the nightly dedup run (Airflow 2.4+ and 3.x).

Copy this file into the DAGs folder of an Airflow that runs on a machine with the dedup checkout
(default /opt/dedup, with its .venv: ``make setup``). One task runs the same command as cron and
systemd, through the wrapper, for the run's logical date::

    /opt/dedup/jobs/dedup-nightly.sh --config /etc/dedup/prod.yaml --date {{ ds }}

``{{ ds }}`` is the logical date. The schedule is a *data-interval* cron timetable, so the
logical date is the start of the day that just ended: the run at 02:30 UTC on the 27th gets
``ds = 26th``, the night whose stories are processed, the same night the wrapper picks on its own
under cron. (A plain cron string would mean a trigger timetable in Airflow 3, where ``ds`` is the
day of the run itself.)
Backfills and reruns of a past date therefore rewrite that night (each night is replaced whole).
Exit 1 or 2 fails the task (one retry, for a lock held by a late manual run). dedup's own log
lines go to the wrapper's per-night log in DEDUP_LOG_DIR; the task log gets the wrapper's summary
line and, on failure, the end of that log.

Settings, from the environment of the Airflow worker (and scheduler): DEDUP_HOME (the checkout,
/opt/dedup), DEDUP_CONFIG (/etc/dedup/prod.yaml), DEDUP_LOG_DIR (/var/log/dedup),
DEDUP_START_DATE (the first night Airflow may run, YYYY-MM-DD; default 2000-01-01, so a backfill
or a cleared run of any real night runs: Airflow creates no run before start_date and reports
such a backfill as done) and DEDUP_CATCHUP (true: Airflow runs every missed night from the start
date, oldest first; default false: only the latest). ``dag_settings`` reads them.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone


def dag_settings(env=os.environ) -> dict:
    """The DAG's ``start_date`` (UTC midnight) and ``catchup`` from DEDUP_START_DATE / DEDUP_CATCHUP.

    Raises ValueError naming the variable for a value it cannot read (Airflow shows it as the
    DAG's import error), rather than scheduling from a guessed date."""
    raw = env.get("DEDUP_START_DATE", "").strip() or "2000-01-01"
    try:
        start = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        raise ValueError(f"DEDUP_START_DATE must be a date, YYYY-MM-DD: {raw!r}") from None
    flag = env.get("DEDUP_CATCHUP", "").strip().lower() or "false"
    if flag not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError(f"DEDUP_CATCHUP must be true or false: {flag!r}")
    return {"start_date": start, "catchup": flag in ("true", "1", "yes")}


from airflow import DAG  # noqa: E402 - dag_settings above needs no Airflow (tests read it without)
from airflow.timetables.interval import CronDataIntervalTimetable

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator

DEDUP_HOME = os.environ.get("DEDUP_HOME", "/opt/dedup")
DEDUP_CONFIG = os.environ.get("DEDUP_CONFIG", "/etc/dedup/prod.yaml")
DEDUP_LOG_DIR = os.environ.get("DEDUP_LOG_DIR", "/var/log/dedup")

# Ends in "{{ ds }}", not ".sh": Airflow would otherwise read the command as a template file name.
COMMAND = f"{DEDUP_HOME}/jobs/dedup-nightly.sh --config {DEDUP_CONFIG} --date {{{{ ds }}}}"

with DAG(
    dag_id="dedup_nightly",
    description="Deduplicate the night's syndicated wire stories (dedup run)",
    schedule=CronDataIntervalTimetable("30 2 * * *", timezone="UTC"),
    **dag_settings(),  # start_date, catchup
    max_active_runs=1,  # dedup holds a lock per state folder; a second run would exit 1
    default_args={"retries": 1, "retry_delay": timedelta(minutes=20)},
    tags=["dedup"],
) as dag:
    dedup_run = BashOperator(
        task_id="dedup_run",
        bash_command=COMMAND,
        env={"DEDUP_LOG_DIR": DEDUP_LOG_DIR},
        append_env=True,
        execution_timeout=timedelta(hours=4),
    )
