"""The failover drill with its figures: three schedulers, kill -9, a terminated connection.

    python bench/schedulers.py --database-url postgresql://user@host:5432/throwaway

The database's public schema is dropped and migrated afresh. Printed: messages sent, missing and
duplicated (both must be 0), invitations per person, daily reminders, and each takeover time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.anonymous_answers import database_for  # noqa: E402
from bot.emulator.drill import run_drill  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a throwaway PostgreSQL database")
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--owners", type=int, default=10)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--month-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        database = database_for(args.database_url, folder, migrate=True)
        url = database.url
        database.dispose()
        figures = run_drill(
            url,
            users=args.users,
            owners=args.owners,
            days=args.days,
            month_seconds=args.month_seconds,
            log_dir=Path(folder),
        )
    print(figures.table())
    return 0 if figures.missing == 0 and figures.duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
