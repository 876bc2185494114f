#!/usr/bin/env python3
"""Writes Tests/DurableTests/Fixtures/cron.json: the next firing times of cron expressions in
several time zones, around daylight-saving changes, as the Python library cronsim (Debian cron's
behaviour) computes them. CronExpressionTests checks Durable's CronExpression against them.

Run once when the cases change: pip install cronsim==2.8 && scripts/cron-fixtures.py
"""
import json
import os
from datetime import datetime
from zoneinfo import ZoneInfo

from cronsim import CronSim

EXPRESSIONS = [
    "30 2 * * *", "0 1 * * *", "30 1 * * *", "15 1-3 * * *", "*/15 * * * *", "0 * * * *", "5/20 * * * *",
    "0 0 1 * *", "0 0 L * *", "0 9 * * MON-FRI", "0 9 * * 5L", "0 9 * * 1#2", "0 12 13 * FRI",
    "0 0 29 2 *", "@hourly", "@weekly", "@monthly", "0 30 2 * * *", "*/20 * * * * *", "0 22 * * SUN",
    "0 0 * * 7", "0 8-18/2 * JAN,MAR,OCT,NOV *", "45 23 L * *", "0 3 * * *",
]
# Each zone with starts a day before its changes of 2026 and one ordinary start.
ZONES = {
    "America/New_York": ["2026-01-15T10:00", "2026-03-07T12:00", "2026-10-31T12:00"],
    "Europe/Berlin": ["2026-03-28T12:00", "2026-10-24T12:00"],
    "Australia/Sydney": ["2026-04-04T12:00", "2026-10-03T12:00"],
    "Asia/Kolkata": ["2026-02-27T12:00"],
    "UTC": ["2026-12-30T12:00"],
}
COUNT = 12
# cronsim has no macros: they are evaluated as what they stand for.
MACROS = {"@hourly": "0 * * * *", "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *"}


def main() -> None:
    cases = []
    for zone, starts in ZONES.items():
        tz = ZoneInfo(zone)
        for start in starts:
            begin = datetime.fromisoformat(start).replace(tzinfo=tz)
            for expression in EXPRESSIONS:
                it = CronSim(MACROS.get(expression, expression), begin)
                times = [int(next(it).timestamp()) for _ in range(COUNT)]
                cases.append({"expression": expression, "zone": zone, "start": int(begin.timestamp()), "next": times})
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "Tests", "DurableTests", "Fixtures", "cron.json")
    with open(path, "w") as out:
        # One case per line.
        lines = ",\n".join(json.dumps(case) for case in cases)
        out.write('{"generator": "cronsim 2.8", "cases": [\n' + lines + "\n]}\n")
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    main()
