"""Mutation testing of the rules the tests must guard, with mutmut, one module at a time.

    pip install mutmut   # not a project dependency: this script is run by hand, never in CI
    python bench/mutation.py                        # every target below, 8 minutes each at most
    python bench/mutation.py --only delivery --minutes 15 --children 2

How it is scoped, so that a run fits on a small machine:

* Each target is one module (``bot/delivery.py``, ``bot/i18n.py``, ``bot/services/<domain>.py``,
  ``handlers/common.py`` whose ``workspace_of``/``refuse_form`` carry the handlers' permission
  checks) paired with the test files that exercise it; mutmut runs only those tests, and only
  mutates lines they cover (``mutate_only_covered_lines``).
* Each target runs in a throw-away copy of the project (mutmut writes ``mutants/`` and needs its
  own configuration), with ``--children`` worker processes and a wall-time limit: when the limit
  passes the run is stopped and the table counts what was decided so far (the rest is "not run").
* The score is killed / (killed + survived): timeouts count as killed (the mutant hung the tests),
  mutants no test reaches count as survived.

Printed: one row per module with mutants, killed, survived, not run and the score; with
``--survivors`` the surviving mutants' names (``mutmut show NAME`` in the printed folder gives the
diff).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# module to mutate -> test files that exercise it
TARGETS: dict[str, tuple[str, list[str]]] = {
    # The rules, without Slack: tests/test_delivery.py drives the same path through the emulator,
    # which costs a run about eight seconds for every mutant.
    "delivery": ("bot/delivery.py", ["tests/test_delivery_rules.py"]),
    "i18n": ("bot/i18n.py", ["tests/test_i18n.py", "tests/test_catalogs.py"]),
    "permissions": (
        "handlers/common.py",
        ["tests/test_handlers_common.py", "tests/test_flows_projects.py"],
    ),
    "projects": (
        "bot/services/projects.py",
        [
            "tests/test_services_project_rules.py",
            "tests/test_services_register.py",
            "tests/test_flows_projects.py",
        ],
    ),
    "keyusers": (
        "bot/services/keyusers.py",
        [
            "tests/test_services_register.py",
            "tests/test_services_keyuser_rules.py",
            "tests/test_flows_keyusers.py",
        ],
    ),
    "issues": (
        "bot/services/issues.py",
        ["tests/test_services_issues.py", "tests/test_services_issue_rules.py"],
    ),
    "issue_levels": (
        "bot/services/issue_levels.py",
        ["tests/test_services_issues.py", "tests/test_services_issue_rules.py"],
    ),
    "issue_followup": (
        "bot/services/issue_followup.py",
        [
            "tests/test_services_issues.py",
            "tests/test_services_issue_rules.py",
            "tests/test_jobs_issues.py",
        ],
    ),
    "polls": (
        "bot/services/polls.py",
        ["tests/test_services_polls.py", "tests/test_services_poll_rules.py"],
    ),
    "poll_closing": (
        "bot/services/poll_closing.py",
        ["tests/test_services_polls.py", "tests/test_services_poll_rules.py"],
    ),
    "poll_results": (
        "bot/services/poll_results.py",
        [
            "tests/test_services_polls.py",
            "tests/test_services_poll_rules.py",
            "tests/test_anonymity.py",
        ],
    ),
    "context": (
        "bot/services/context.py",
        ["tests/test_services_project_rules.py", "tests/test_services_register.py"],
    ),
    "readiness": (
        "bot/services/training_readiness.py",
        [
            "tests/test_services_readiness_rules.py",
            "tests/test_services_trainings.py",
            "tests/test_training_charts.py",
        ],
    ),
    "engagement": (
        "bot/services/engagement.py",
        [
            "tests/test_services_engagement_rules.py",
            "tests/test_services_commplan.py",
            "tests/test_services_register.py",
            "tests/test_home_dashboard.py",
        ],
    ),
    "recurrence": (
        "bot/services/recurrence.py",
        [
            "tests/test_services_recurrence_rules.py",
            "tests/test_services_commplan.py",
            "tests/test_services_meetings.py",
            "tests/test_services_polls.py",
        ],
    ),
    "training_sessions": (
        "bot/services/training_sessions.py",
        [
            "tests/test_services_training_sessions_rules.py",
            "tests/test_services_trainings.py",
            "tests/test_services_readiness_rules.py",
        ],
    ),
    "trainings": (
        "bot/services/trainings.py",
        [
            "tests/test_services_training_rules.py",
            "tests/test_services_trainings.py",
            "tests/test_services_readiness_rules.py",
        ],
    ),
    "training_quizzes": (
        "bot/services/training_quizzes.py",
        [
            "tests/test_services_training_rules.py",
            "tests/test_services_trainings.py",
            "tests/test_services_readiness_rules.py",
        ],
    ),
    "meetings": (
        "bot/services/meetings.py",
        ["tests/test_services_meetings.py", "tests/test_services_meeting_rules.py"],
    ),
    "meeting_outcomes": (
        "bot/services/meeting_outcomes.py",
        ["tests/test_services_meetings.py", "tests/test_services_meeting_rules.py"],
    ),
    "commplan": (
        "bot/services/commplan.py",
        ["tests/test_services_commplan.py", "tests/test_services_commplan_rules.py"],
    ),
    "digest": (
        "bot/services/digest.py",
        [
            "tests/test_services_digest.py",
            "tests/test_services_digest_rules.py",
            "tests/test_home_dashboard.py",
        ],
    ),
    "digest_schedule": (
        "bot/services/digest_schedule.py",
        ["tests/test_services_digest.py", "tests/test_services_digest_rules.py"],
    ),
}
COPIED = ("bot", "handlers", "storage", "tests", "pyproject.toml")
KILLED = {"killed", "timeout"}


def _config(module: str, tests: list[str]) -> str:
    test_list = "\n    ".join(t for t in tests if (ROOT / t).exists())
    return (
        "[mutmut]\n"
        "source_paths =\n    bot\n    handlers\n    storage\n"
        f"only_mutate =\n    {module}\n"
        f"pytest_add_cli_args_test_selection =\n    {test_list}\n"
        "mutate_only_covered_lines = true\n"
    )


def _copy(folder: Path) -> None:
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, folder / name)


def _results(folder: Path) -> dict[str, str]:
    """Mutant name -> status, from mutmut's own result files."""
    statuses: dict[str, str] = {}
    for meta in (folder / "mutants").rglob("*.meta"):
        data = json.loads(meta.read_text())
        for name, code in (data.get("exit_code_by_key") or {}).items():
            statuses[name] = _status(code)
    return statuses


def _status(code: int | None) -> str:
    from mutmut.stats import status_by_exit_code  # mutmut's own reading of its exit codes

    status = str(status_by_exit_code[code])
    return "not run" if status == "not checked" else status


def run_target(name: str, minutes: float, children: int, keep: bool) -> dict[str, object]:
    module, tests = TARGETS[name]
    folder = Path(tempfile.mkdtemp(prefix=f"mutation-{name}-"))
    _copy(folder)
    (folder / "setup.cfg").write_text(_config(module, tests))
    env = dict(os.environ)
    env.pop("TEST_DATABASE_URL", None)  # SQLite: a mutant run must not touch a shared database
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "mutmut", "run", "--max-children", str(children)],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, stderr = process.communicate(timeout=minutes * 60)
        stopped = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        stopped = True
    statuses = _results(folder)
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    killed = counts.get("killed", 0) + counts.get("timeout", 0)
    survived = counts.get("survived", 0) + counts.get("no tests", 0)
    decided = killed + survived
    if not keep:
        survivors_folder = None
        shutil.rmtree(folder, ignore_errors=True)
    else:
        survivors_folder = str(folder)
    return {
        "target": name,
        "module": module,
        "mutants": len(statuses),
        "killed": killed,
        "survived": survived,
        "not run": len(statuses) - decided,
        "score": f"{100 * killed / decided:.0f} %" if decided else "-",
        "minutes": f"{(time.monotonic() - started) / 60:.1f}" + (" (limit)" if stopped else ""),
        "survivors": sorted(k for k, v in statuses.items() if v in ("survived", "no tests")),
        "folder": survivors_folder,
        "error": stderr.decode(errors="replace")[-400:] if not statuses else "",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(TARGETS), help="a target")
    parser.add_argument("--minutes", type=float, default=8.0, help="wall-time limit per target")
    parser.add_argument("--children", type=int, default=2, help="mutmut worker processes")
    parser.add_argument("--survivors", action="store_true", help="list surviving mutants")
    args = parser.parse_args()
    rows = [
        run_target(name, args.minutes, args.children, args.survivors)
        for name in (args.only or list(TARGETS))
    ]
    columns = ("target", "module", "mutants", "killed", "survived", "not run", "score", "minutes")
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in rows:
        print("  ".join(str(row[c]).ljust(w) for c, w in zip(columns, widths, strict=True)))
    killed = sum(int(str(r["killed"])) for r in rows)
    decided = killed + sum(int(str(r["survived"])) for r in rows)
    if decided:
        print(
            f"overall: {killed} of {decided} decided mutants killed "
            f"({100 * killed / decided:.0f} %)"
        )
    for row in rows:
        if row["error"]:
            print(f"{row['target']}: mutmut failed: {row['error']}")
        if args.survivors and row["survivors"]:
            print(f"\n{row['target']} survivors (mutmut show NAME, in {row['folder']}):")
            for survivor in row["survivors"]:
                print(f"  {survivor}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
