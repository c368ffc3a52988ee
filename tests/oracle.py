"""A consistency oracle: the figures the digest, the PM's Home tab and the lists show, worked out
again from the rows in plain SQL and Python, written for the tests from the product's rules (not
the services' queries), and read back from what Slack shows.

``Rows.load`` reads a project's rows once; every ``Rows`` method answers for an instant ``now``
(every figure is "as of" a moment: the covered ISO week from ``date.isocalendar()``, overdue at
``now``, contacts up to ``now``). The ``read_*`` functions parse the rendered text.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from storage.db import Database

OPEN = ("new", "acknowledged", "in_progress", "reopened")
CONTACTS = ("contact.call", "contact.email", "contact.face_to_face")
REPLIES = ("issue.ack", "issue.start", "issue.update", "issue.resolve")
CADENCE = {("high", "high"): 7, ("high", "low"): 14, ("low", "high"): 14}
WEEK = timedelta(days=7)


def aware(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def loaded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def median_hours(seconds: list[float]) -> float | None:
    return round(statistics.median(seconds) / 3600, 1) if seconds else None


def cadence(influence: str, interest: str, override: int | None) -> int:
    high = ("high" if influence == "high" else "low", "high" if interest == "high" else "low")
    return override or CADENCE.get(high, 30)


@dataclass(frozen=True)
class Week:
    label: str
    first: date
    last: date
    start: datetime  # Monday 00:00 local, in UTC
    end: datetime  # the next Monday 00:00 local, in UTC
    previous_start: datetime


def covered_week(moment: datetime, timezone: str) -> Week:
    """The ISO week that ended last before ``moment`` in ``timezone``, from ``isocalendar``."""
    zone = ZoneInfo(timezone)
    today = moment.astimezone(zone).date()
    sunday = today - timedelta(days=today.isoweekday())
    monday = sunday - timedelta(days=6)
    year, number, weekday = monday.isocalendar()
    assert weekday == 1 and sunday.isocalendar() == (year, number, 7)

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)

    return Week(
        label=f"{year}-W{number:02d}",
        first=monday,
        last=sunday,
        start=midnight(monday),
        end=midnight(sunday + timedelta(days=1)),
        previous_start=midnight(monday - WEEK),
    )


@dataclass
class IssueCounts:
    open: int
    overdue: int
    past_service_level: int
    opened: int
    resolved: int
    breaches: int
    first_response_hours: float | None
    resolution_hours: float | None


@dataclass
class Round:
    round_number: int
    invited: int
    answered: int
    csat: float | None
    nps: float | None

    @property
    def response_rate(self) -> float:
        return 100.0 * self.answered / self.invited if self.invited else 0.0


@dataclass
class Tally:
    title: str
    invited: int
    answers: dict[str, int] = field(default_factory=dict)


@dataclass
class Rows:
    """Every row of one project the figures count, read once in plain SQL."""

    project: dict[str, Any]
    issues: list[dict[str, Any]]
    key_users: list[dict[str, Any]]
    members: set[str]
    interactions: list[dict[str, Any]]
    polls: list[dict[str, Any]]
    participants: list[dict[str, Any]]
    responses: list[dict[str, Any]]
    questions: dict[int, str]
    ballots: dict[int, list[dict[str, Any]]]
    events: list[dict[str, Any]]
    invitations: list[dict[str, Any]]
    modules: list[dict[str, Any]]
    sessions: list[dict[str, Any]]
    quizzes: list[dict[str, Any]]
    practicals: list[dict[str, Any]]

    @classmethod
    def load(cls, source: Database | Connection, code: str) -> Rows:
        """The rows of project ``code``, read through ``source`` (a connection: inside its
        transaction, as the code under test sees them)."""
        if isinstance(source, Database):
            with source.engine.connect() as connection:
                return cls.load(connection, code)
        connection = source

        def rows(sql: str, **params: Any) -> list[dict[str, Any]]:
            return [dict(row._mapping) for row in connection.execute(text(sql), params)]

        [project] = rows("SELECT * FROM project WHERE code = :code", code=code)
        of = {"p": project["id"]}
        polls = rows("SELECT * FROM poll WHERE project_id = :p", **of)
        in_polls = "SELECT id FROM poll WHERE project_id = :p"
        in_events = "SELECT id FROM calendarevent WHERE project_id = :p"
        return cls(
            project=project,
            issues=rows("SELECT * FROM issue WHERE project_id = :p", **of),
            key_users=rows("SELECT * FROM keyuser WHERE project_id = :p", **of),
            members={
                row["user_id"]
                for row in rows("SELECT user_id FROM projectmember WHERE project_id = :p", **of)
            },
            interactions=rows("SELECT * FROM interaction WHERE project_id = :p", **of),
            polls=polls,
            participants=rows(f"SELECT * FROM pollparticipant WHERE poll_id IN ({in_polls})", **of),
            responses=rows(f"SELECT * FROM pollresponse WHERE poll_id IN ({in_polls})", **of),
            questions={
                row["id"]: row["kind"]
                for row in rows(
                    f"SELECT id, kind FROM pollquestion WHERE poll_id IN ({in_polls})", **of
                )
            },
            ballots={
                row["poll_id"]: loaded(row["ballots"])
                for row in rows(f"SELECT * FROM ballotbox WHERE poll_id IN ({in_polls})", **of)
            },
            events=rows("SELECT * FROM calendarevent WHERE project_id = :p", **of),
            invitations=rows(f"SELECT * FROM invitation WHERE event_id IN ({in_events})", **of),
            modules=rows("SELECT * FROM trainingmodule WHERE project_id = :p", **of),
            sessions=rows("SELECT * FROM trainingsession WHERE project_id = :p", **of),
            quizzes=rows(
                "SELECT a.* FROM quizattempt a JOIN quizround r ON r.id = a.round_id"
                " WHERE r.project_id = :p",
                **of,
            ),
            practicals=rows("SELECT * FROM practicalassessment WHERE project_id = :p", **of),
        )

    @property
    def timezone(self) -> str:
        return str(self.project["timezone"])

    def week(self, now: datetime) -> Week:
        return covered_week(now, self.timezone)

    # ------------------------------------------------------------------------------ issues

    def issue_counts(self, now: datetime, start: datetime, end: datetime) -> IssueCounts:
        """Open, overdue and past a service level at ``now``; opened, resolved, deadlines missed
        and the median hours to first response and to resolution in [start, end)."""
        live = [row for row in self.issues if row["deleted_at"] is None]

        def at(row: dict[str, Any], name: str) -> datetime | None:
            return aware(row[name])

        def within(moment: datetime | None) -> bool:
            return moment is not None and start <= moment < end

        def late(deadline: datetime | None, *done: datetime | None) -> bool:
            """A deadline of the window passed before any of ``done`` (answered, resolved or
            closed: a closed issue is due nothing more)."""
            return within(deadline) and not any(
                moment is not None and moment <= deadline  # type: ignore[operator]
                for moment in done
            )

        open_rows = [row for row in live if row["status"] in OPEN]
        overdue = [row for row in open_rows if (at(row, "due_at") or now + WEEK) <= now]
        unanswered = [
            row
            for row in open_rows
            if at(row, "first_response_at") is None
            and (at(row, "first_response_due_at") or now + WEEK) <= now
        ]
        breaches = sum(
            late(
                at(row, "first_response_due_at"), at(row, "first_response_at"), at(row, "closed_at")
            )
            + late(at(row, "due_at"), at(row, "resolved_at"), at(row, "closed_at"))
            for row in live
        )
        first = [
            (at(row, "first_response_at") - at(row, "created_at")).total_seconds()  # type: ignore[operator]
            for row in live
            if within(at(row, "first_response_at"))
        ]
        resolution = [
            (at(row, "resolved_at") - at(row, "created_at")).total_seconds()  # type: ignore[operator]
            for row in live
            if within(at(row, "resolved_at"))
        ]
        return IssueCounts(
            open=len(open_rows),
            overdue=len(overdue),
            past_service_level=len({id(row) for row in overdue + unanswered}),
            opened=sum(within(at(row, "created_at")) for row in live),
            resolved=len(resolution),
            breaches=breaches,
            first_response_hours=median_hours(first),
            resolution_hours=median_hours(resolution),
        )

    def overdue_refs(self, now: datetime) -> set[str]:
        """The keys (``ERP-12``) of the open issues past their due time at ``now``."""
        return {
            f"{self.project['code']}-{row['number']}"
            for row in self.issues
            if row["deleted_at"] is None and row["status"] in OPEN and aware(row["due_at"]) <= now  # type: ignore[operator]
        }

    # ------------------------------------------------------------------------------- polls

    def latest_rounds(self, now: datetime) -> list[Round]:
        """The latest round (closed ones first) opened by ``now`` and the earlier rounds of its
        series, oldest first."""
        candidates = [
            poll
            for poll in self.polls
            if poll["status"] != "scheduled" and aware(poll["opens_at"]) <= now  # type: ignore[operator]
        ]
        if not candidates:
            return []
        latest = max(
            candidates, key=lambda p: (p["status"] == "closed", aware(p["opens_at"]), p["id"])
        )
        series = sorted(
            (
                poll
                for poll in self.polls
                if poll["series_id"] == latest["series_id"]
                and poll["round_number"] <= latest["round_number"]
                and poll["status"] != "scheduled"
            ),
            key=lambda p: p["round_number"],
        )
        return [self.round_figures(poll) for poll in series]

    def round_figures(self, poll: dict[str, Any]) -> Round:
        invited = [row for row in self.participants if row["poll_id"] == poll["id"]]
        if poll["anonymous"]:  # ballots name nobody: who answered is only on the invitation
            answered = sum(bool(row["answered"]) for row in invited)
            answers = self.ballots.get(poll["id"], [])
        else:  # the invited people who have an answer stored
            mine = [r for r in self.responses if r["poll_id"] == poll["id"]]
            answered = len({r["user_id"] for r in mine} & {row["user_id"] for row in invited})
            answers = [loaded(r["answers"]) for r in mine]
        ratings, scores = [], []
        for answer in answers:
            for key, value in answer.items():
                kind = self.questions.get(int(key))
                if isinstance(value, bool) or not isinstance(value, int):
                    continue
                if kind == "rating":
                    ratings.append(value)
                elif kind == "nps":
                    scores.append(value)
        hidden = poll["anonymous"] and answered < 3
        csat = 100.0 * sum(v >= 4 for v in ratings) / len(ratings) if ratings else None
        nps = (
            100.0 * (sum(v >= 9 for v in scores) - sum(v <= 6 for v in scores)) / len(scores)
            if scores
            else None
        )
        return Round(
            poll["round_number"],
            len(invited),
            answered,
            None if hidden else csat,
            None if hidden else nps,
        )

    # ---------------------------------------------------------------------------- readiness

    def readiness(self) -> dict[str, tuple[int, int]]:
        """Per module name: (ready, trainees) by the rule: hours attended (present or late, in
        sessions not cancelled) of at least 80 % of the planned hours, the latest quiz passed,
        and the latest practical passed where the module has one."""
        active = [row for row in self.key_users if row["removed_at"] is None]
        cancelled = {e["id"] for e in self.events if e["status"] != "scheduled"}
        hours: dict[tuple[int, str], float] = {}
        for session in self.sessions:
            if session["event_id"] in cancelled:
                continue
            for invitation in self.invitations:
                if invitation["event_id"] == session["event_id"] and invitation["attendance"] in (
                    "present",
                    "late",
                ):
                    key = (session["module_id"], invitation["user_id"])
                    hours[key] = hours.get(key, 0.0) + float(session["hours"])

        def latest(rows: list[dict[str, Any]], moment: str) -> dict[tuple[int, int], bool]:
            found: dict[tuple[int, int], tuple[Any, int, bool]] = {}
            for row in rows:
                if row[moment] is None or row["key_user_id"] is None:
                    continue
                key = (row["module_id"], row["key_user_id"])
                mark = (row[moment], row["id"], bool(row["passed"]))
                if key not in found or mark[:2] > found[key][:2]:
                    found[key] = mark
            return {key: mark[2] for key, mark in found.items()}

        quizzes = latest(self.quizzes, "submitted_at")
        practicals = latest(self.practicals, "period")
        result = {}
        for module in self.modules:
            roles = loaded(module["audience_roles"]) or []
            trainees = [row for row in active if not roles or row["role"] in roles]
            ready = [
                row
                for row in trainees
                if hours.get((module["id"], row["user_id"]), 0.0) + 1e-9
                >= 0.8 * float(module["planned_hours"])
                and quizzes.get((module["id"], row["id"]), False)
                and (not module["has_practical"] or practicals.get((module["id"], row["id"])))
            ]
            result[module["name"]] = (len(ready), len(trainees))
        return result

    # ------------------------------------------------------------------- contacts and risks

    def last_contacts(self, now: datetime) -> dict[str, datetime | None]:
        """Each active key user's last human contact up to ``now``: a contact logged, a PM's or
        team member's reply to their issue (from the touchpoints), or the start of a meeting or
        training session the roll call says they came to, or their check-in if earlier (from the
        invitations)."""
        ids = {row["id"]: row["user_id"] for row in self.key_users if row["removed_at"] is None}
        found: dict[str, datetime | None] = dict.fromkeys(ids.values())
        for row in self.interactions:
            user = ids.get(row["key_user_id"])
            moment = aware(row["at"])
            if user is None or not row["touchpoint"] or moment > now:  # type: ignore[operator]
                continue
            human = row["kind"] in CONTACTS or (
                row["kind"] in REPLIES
                and row["actor_id"] in self.members
                and row["actor_id"] != user
            )
            if human and (found[user] is None or moment > found[user]):  # type: ignore[operator]
                found[user] = moment
        # A meeting or training session they came to, as the roll call says now: at its start,
        # or at their check-in if that was earlier.
        starts = {event["id"]: aware(event["starts_at"]) for event in self.events}
        for invitation in self.invitations:
            user, moment = invitation["user_id"], starts[invitation["event_id"]]
            if user not in found or invitation["attendance"] not in ("present", "late"):
                continue
            checked_in = aware(invitation["checked_in_at"])
            moment = min(moment, checked_in) if checked_in else moment  # type: ignore[type-var]
            if moment <= now and (found[user] is None or moment > found[user]):  # type: ignore[operator]
                found[user] = moment
        return found

    def in_debt(self, now: datetime) -> dict[str, int]:
        """Key users whose last contact (or registration) is older than their cadence, with the
        whole days since."""
        contacts = self.last_contacts(now)
        debt = {}
        for row in self.key_users:
            if row["removed_at"] is not None:
                continue
            since = contacts[row["user_id"]] or aware(row["created_at"])
            days = cadence(row["influence"], row["interest"], row["cadence_days"])
            if now > since + timedelta(days=days):  # type: ignore[operator]
                debt[row["user_id"]] = (now - since).days  # type: ignore[operator]
        return debt

    def at_risk(self, now: datetime) -> dict[str, dict[str, Any]]:
        """Active key users at risk at ``now`` with their reasons: satisfaction falling between
        the last two rounds of the latest named series, issues they reported past the service
        level, sessions or meetings missed and quizzes failed in the last 28 days, engagement
        debt."""
        active = {row["user_id"] for row in self.key_users if row["removed_at"] is None}
        reasons: dict[str, dict[str, Any]] = {}

        def add(user: str, reason: str, detail: Any) -> None:
            if user in active:
                reasons.setdefault(user, {})[reason] = detail

        named = [
            p
            for p in self.polls
            if not p["anonymous"]
            and p["status"] != "scheduled"
            and p["round_number"] > 1
            and aware(p["opens_at"]) <= now  # type: ignore[operator]
        ]
        if named:
            latest = max(named, key=lambda p: (aware(p["opens_at"]), p["id"]))
            before = [
                p
                for p in self.polls
                if p["series_id"] == latest["series_id"]
                and p["round_number"] == latest["round_number"] - 1
            ]
            averages = [self.rating_averages(latest["id"])] + [
                self.rating_averages(p["id"]) for p in before
            ]
            if len(averages) == 2:
                for user, new in averages[0].items():
                    old = averages[1].get(user)
                    if old is not None and new < old:
                        add(user, "satisfaction_falling", (round(old, 1), round(new, 1)))
        zone = ZoneInfo(self.timezone)
        for row in self.issues:
            if row["deleted_at"] is not None or row["status"] not in OPEN:
                continue
            # Past a service level: its resolution time (the end of its due day), or its
            # first-response time without an answer; since the day the first one passed.
            missed = []
            if aware(row["due_at"]) <= now:  # type: ignore[operator]
                day = row["due_date"]
                missed.append(date.fromisoformat(day) if isinstance(day, str) else day)
            answer_due = aware(row["first_response_due_at"])
            if row["first_response_at"] is None and answer_due and answer_due <= now:
                missed.append(answer_due.astimezone(zone).date())
            if missed:
                count, since = reasons.get(row["reporter_id"], {}).get(
                    "issue_past_service_level", (0, min(missed))
                )
                add(
                    row["reporter_id"],
                    "issue_past_service_level",
                    (count + 1, min(since, *missed)),
                )
        since = now - timedelta(days=28)
        events = {e["id"]: e for e in self.events if e["status"] == "scheduled"}
        for invitation in self.invitations:
            event = events.get(invitation["event_id"])
            if event is None or invitation["attendance"] != "absent":
                continue
            if since < aware(event["ends_at"]) <= now:  # type: ignore[operator]
                reason = "missed_sessions" if event["kind"] == "training" else "missed_meetings"
                count = reasons.get(invitation["user_id"], {}).get(reason, 0)
                add(invitation["user_id"], reason, count + 1)
        for attempt in self.quizzes:
            submitted = aware(attempt["submitted_at"])
            if not attempt["passed"] and submitted and since < submitted <= now:
                count = reasons.get(attempt["user_id"], {}).get("failed_quizzes", 0)
                add(attempt["user_id"], "failed_quizzes", count + 1)
        for user, days in self.in_debt(now).items():
            add(user, "engagement_debt", days)
        return reasons

    def rating_averages(self, poll_id: int) -> dict[str, float]:
        values: dict[str, list[int]] = {}
        for response in self.responses:
            if response["poll_id"] != poll_id:
                continue
            for key, value in loaded(response["answers"]).items():
                if self.questions.get(int(key)) == "rating" and isinstance(value, int):
                    values.setdefault(response["user_id"], []).append(value)
        return {user: sum(v) / len(v) for user, v in values.items()}

    # ------------------------------------------------------------------------------ tallies

    def coming_tallies(self, start: datetime, end: datetime) -> list[Tally]:
        """Answers to the scheduled events starting in [start, end), by event start."""
        tallies = []
        events = sorted(
            (
                e
                for e in self.events
                if e["status"] == "scheduled" and start <= aware(e["starts_at"]) < end  # type: ignore[operator]
            ),
            key=lambda e: (aware(e["starts_at"]), e["id"]),
        )
        for event in events:
            invited = [
                row
                for row in self.invitations
                if row["event_id"] == event["id"] and row["response"] != "removed"
            ]
            tally = Tally(event["title"], len(invited))
            for row in invited:
                tally.answers[row["response"]] = tally.answers.get(row["response"], 0) + 1
            tallies.append(tally)
        return tallies


# ---------------------------------------------------------------------------- what Slack shows


def number(value: str) -> float | None:
    value = value.strip()
    if value == "—":
        return None
    if value.endswith(" min"):
        return float(value[:-4]) / 60
    return float(value.rstrip("%h ").strip())


HOURS = 0.051  # hours are shown to a tenth
PERCENT = 0.5  # percentages (and NPS) are shown as whole numbers


def near(shown: float | None, expected: float | None, tolerance: float = HOURS) -> bool:
    if shown is None or expected is None:
        return shown is expected
    return abs(shown - expected) <= tolerance


@dataclass
class DigestFigures:
    week: str
    open: int
    overdue: int
    past_service_level: int
    opened: int
    resolved: int
    breaches: int
    first_response_hours: float | None
    resolution_hours: float | None
    response_rate: float | None = None
    answered: int | None = None
    invited: int | None = None
    csat: float | None = None
    nps: float | None = None
    csat_trend: list[tuple[int, float | None]] = field(default_factory=list)
    readiness: dict[str, tuple[int, int]] = field(default_factory=dict)
    at_risk: int = 0
    named: dict[str, str] = field(default_factory=dict)  # user -> the reasons line
    coming: list[str] = field(default_factory=list)  # the coming week's lines


def read_digest(shown: str) -> DigestFigures:
    def one(pattern: str) -> re.Match[str]:
        found = re.search(pattern, shown)
        assert found, f"{pattern!r} not in {shown}"
        return found

    now = one(r"_Now:_ \*(\d+)\* open · \*(\d+)\* overdue · \*(\d+)\* past a service level")
    figures = DigestFigures(
        week=one(r"\*Week (\d{4}-W\d\d)\*")[1],
        open=int(now[1]),
        overdue=int(now[2]),
        past_service_level=int(now[3]),
        opened=int(one(r"• Opened: \*(\d+)\*")[1]),
        resolved=int(one(r"• Resolved: \*(\d+)\*")[1]),
        breaches=int(one(r"• Service-level deadlines missed: \*(\d+)\*")[1]),
        first_response_hours=number(one(r"• Median time to first response: \*([^*]+)\*")[1]),
        resolution_hours=number(one(r"• Median time to resolution: \*([^*]+)\*")[1]),
    )
    rate = re.search(r"• Response rate: \*([^*]+)\* \((\d+) of (\d+)\)", shown)
    if rate:
        figures.response_rate = number(rate[1])
        figures.answered, figures.invited = int(rate[2]), int(rate[3])
        figures.csat = number(one(r"• CSAT: \*([^*]+)\*")[1])
        figures.nps = number(one(r"• NPS: \*([^*]+)\*")[1])
        trend = re.search(r"• Trend of CSAT: (.+)", shown)
        if trend:
            figures.csat_trend = [
                (int(n), number(v)) for n, v in re.findall(r"round (\d+): ([^ ]+)", trend[1])
            ]
    for name, _share, ready, trainees in re.findall(
        r"• ([^\n:]+): \*([^*]+)\* ready \((\d+) of (\d+)\)", shown
    ):
        figures.readiness[name] = (int(ready), int(trainees))
    risk = re.search(r"\*Key users at risk now\* — (\d+)", shown)
    figures.at_risk = int(risk[1]) if risk else 0
    figures.named = dict(re.findall(r"• <@(\w+)>: ([^\n]+)", shown))
    coming = shown.split("*The coming week*")
    if len(coming) > 1:
        figures.coming = re.findall(r"• [^\n]+— [^\n]+", coming[1].split("\n\n:")[0])
    return figures


@dataclass
class HomeFigures:
    open: int
    overdue: int
    breaches: int
    csat: float | None
    nps: float | None
    debt: int
    readiness: int | None
    at_risk: int
    named: dict[str, str]


def read_home(shown: str) -> HomeFigures:
    found = re.search(
        r"\*Open issues\* (\d+) · \*Overdue\* (\d+) · \*Breaches in the last 7 days\* (\d+)\n"
        r"\*Last CSAT\* ([^ ]+) · \*NPS\* ([^ ]+) · \*In engagement debt\* (\d+)"
        r"(?: · \*Readiness\* (\d+)%)?",
        shown,
    )
    assert found, shown
    risk = re.search(r"\*Key users at risk\* \((\d+)\)", shown)
    assert risk, shown
    return HomeFigures(
        open=int(found[1]),
        overdue=int(found[2]),
        breaches=int(found[3]),
        csat=number(found[4]),
        nps=number(found[5]),
        debt=int(found[6]),
        readiness=None if found[7] is None else int(found[7]),
        at_risk=int(risk[1]),
        named=dict(re.findall(r"• <@(\w+)>: ([^\n]+)", shown)),
    )


def reasons_line(reasons: dict[str, Any]) -> set[str]:
    """The words of the reasons the digest and the Home tab write, from the oracle's reasons
    (as a set: their order is the service's)."""
    words = set()
    for reason, detail in reasons.items():
        if reason == "satisfaction_falling":
            words.add(f"satisfaction falling ({detail[0]} → {detail[1]})")
        elif reason == "issue_past_service_level":
            count, since = detail
            words.add(
                f"{count} issue{'' if count == 1 else 's'} past the service level"
                f" since {since:%d %b}"
            )
        elif reason == "engagement_debt":
            words.add(f"not contacted for {detail} days")
        elif reason == "missed_sessions":
            words.add(f"missed {detail} training session{'' if detail == 1 else 's'}")
        elif reason == "missed_meetings":
            words.add(f"missed {detail} meeting{'' if detail == 1 else 's'}")
        elif reason == "failed_quizzes":
            words.add(f"failed {detail} quiz{'' if detail == 1 else 'zes'}")
    return words


def shown_reasons(line: str) -> set[str]:
    return {part.strip() for part in line.split("; ")}


# ------------------------------------------------------------------- a seeded project at random


def seed_project(
    runtime: Any,
    *,
    seed: int,
    team: str,
    pm: str,
    channel: str,
    now: datetime,
    key_users: int = 80,
    issues: int = 300,
) -> str:
    """A project with ``key_users`` key users, ``issues`` issues, polls, trainings, meetings,
    quizzes and contacts drawn at random (``seed`` fixed), every moment before ``now``; bulk
    inserts of rows, as ``bench/digest.py`` seeds. Returns the project's code."""
    import random
    import uuid

    from sqlalchemy import insert

    from bot.services import projects as project_service
    from bot.services import trainings as training_service
    from storage.models import (
        BallotBox,
        CalendarEvent,
        Interaction,
        Invitation,
        Issue,
        KeyUser,
        Poll,
        PollParticipant,
        PollQuestion,
        PollResponse,
        PracticalAssessment,
        QuizAttempt,
        QuizRound,
        TrainingSession,
    )

    rng = random.Random(seed)
    with runtime.unit(team, pm) as ctx:
        project = project_service.create_project(
            ctx=ctx,
            data=project_service.ProjectInput(
                name="Seeded rollout",
                code="ERP",
                pm_ids=[pm],
                channel_id=channel,
                timezone="Europe/Berlin",
            ),
        )
        project_id = project.id
        training_service.adopt_standard_curriculum(ctx=ctx, project=project)
        modules = list(training_service.modules_of(ctx, project_id))

    def before(days: float, low: float = 0.0) -> datetime:
        return now - timedelta(days=rng.uniform(low, days))

    people = [f"UR{index:07d}" for index in range(key_users)]
    with runtime.database.session() as session:
        levels = ("high", "medium", "low")
        session.execute(
            insert(KeyUser),
            [
                {
                    "team_id": team,
                    "project_id": project_id,
                    "user_id": user,
                    "role": rng.choice(("key_user", "key_user", "system_administrator", "sponsor")),
                    "influence": rng.choice(levels),
                    "interest": rng.choice(levels),
                    "cadence_days": rng.choice((None, None, None, 10)),
                    "preferred_channel": "dm",
                    "created_at": before(90, 20),
                    "updated_at": before(20),
                    "removed_at": before(5) if rng.random() < 0.05 else None,
                }
                for user in people
            ],
        )
        ids = dict(
            session.execute(
                text("SELECT user_id, id FROM keyuser WHERE project_id = :p"), {"p": project_id}
            ).all()
        )
        rows = []
        for number in range(1, issues + 1):
            created = before(40)
            answer_due = created + timedelta(hours=rng.choice((4, 8, 24, 48)))
            due = created + timedelta(days=rng.choice((1, 3, 5, 10)))
            answered = created + timedelta(hours=rng.uniform(0.2, 60))
            answered = answered if answered <= now and rng.random() < 0.75 else None
            resolved = None
            if answered is not None and rng.random() < 0.6:
                resolved = answered + timedelta(hours=rng.uniform(0.5, 200))
                resolved = resolved if resolved <= now else None
            status = (
                rng.choice(("resolved", "resolved", "closed"))
                if resolved
                else rng.choice(("acknowledged", "in_progress", "reopened"))
                if answered
                else "new"
            )
            closed = resolved if status == "closed" else None
            if resolved is None and rng.random() < 0.15:  # closed by a PM, never resolved
                status, closed = "closed", min(created + timedelta(hours=rng.uniform(1, 90)), now)
            rows.append(
                {
                    "team_id": team,
                    "project_id": project_id,
                    "number": number,
                    "title": f"Issue {number}",
                    "kind": "issue",
                    "priority": rng.choice(("P1", "P2", "P3", "P4")),
                    "status": status,
                    "reporter_id": rng.choice(people) if rng.random() < 0.9 else pm,
                    "owner_id": pm if rng.random() < 0.7 else None,
                    "created_by": pm,
                    "due_date": due.date(),
                    "due_at": due,
                    "first_response_due_at": answer_due,
                    "first_response_at": answered,
                    "resolved_at": resolved,
                    "closed_at": closed,
                    "created_at": created,
                    "updated_at": created,
                    "version": 1,
                    "deleted_at": before(2) if rng.random() < 0.02 else None,
                }
            )
        session.execute(insert(Issue), rows)
        kinds = (
            "contact.call",
            "contact.email",
            "issue.ack",
            "issue.update",
            "issue.resolve",
            "poll.answered",
            "issue.escalated",
            "issue.rated",
        )
        session.execute(
            insert(Interaction),
            [
                {
                    "team_id": team,
                    "project_id": project_id,
                    "key_user_id": ids[user],
                    "actor_id": rng.choice((pm, user, None)),
                    "kind": rng.choice(kinds),
                    "touchpoint": rng.random() < 0.95,
                    "detail": {},
                    "at": before(60),
                }
                for user in (rng.choice(people) for _ in range(2 * key_users))
            ],
        )

        # Polls: a named monthly series of four rounds, the last still open, and an anonymous
        # round.
        def add_round(
            series: str, number: int, opens: datetime, status: str, anonymous: bool
        ) -> None:
            poll = Poll(
                team_id=team,
                project_id=project_id,
                series_id=series,
                round_number=number,
                title="Pulse" if not anonymous else "Anonymous pulse",
                anonymous=anonymous,
                recurrence="none",  # the rounds are all here: no job adds one
                status=status,
                opens_at=opens,
                closes_at=opens + timedelta(days=3),
                created_by=pm,
                created_at=opens,
            )
            session.add(poll)
            session.flush()
            rating = PollQuestion(
                team_id=team, poll_id=poll.id, position=1, kind="rating", text="?"
            )
            nps = PollQuestion(team_id=team, poll_id=poll.id, position=2, kind="nps", text="?")
            session.add_all([rating, nps])
            session.flush()
            invited = rng.sample(people, k=key_users // 2)
            answered = [user for user in invited if rng.random() < 0.6]
            session.execute(
                insert(PollParticipant),
                [
                    {
                        "team_id": team,
                        "poll_id": poll.id,
                        "user_id": user,
                        "key_user_id": ids[user],
                        "answered": user in answered,
                    }
                    for user in invited
                ],
            )
            answers = [
                {str(rating.id): rng.randint(1, 5), str(nps.id): rng.randint(0, 10)}
                if rng.random() < 0.8
                else {str(rating.id): rng.randint(1, 5)}
                for _ in answered
            ]
            if anonymous:
                session.add(
                    BallotBox(id=uuid.uuid4().hex, team_id=team, poll_id=poll.id, ballots=answers)
                )
            else:
                session.execute(
                    insert(PollResponse),
                    [
                        {
                            "team_id": team,
                            "poll_id": poll.id,
                            "user_id": user,
                            "key_user_id": ids[user],
                            "answers": values,
                            "submitted_at": opens,
                            "updated_at": opens,
                        }
                        for user, values in zip(answered, answers, strict=True)
                    ],
                )

        named = uuid.uuid4().hex
        rounds = ((62, "closed"), (31, "closed"), (8, "closed"), (1, "open"))
        for number, (days, status) in enumerate(rounds, 1):
            add_round(named, number, now - timedelta(days=days), status, False)
        add_round(uuid.uuid4().hex, 1, now - timedelta(days=20), "closed", True)
        # Trainings of every module and meetings, in the past four weeks and the coming two.
        for index in range(24):
            starts = now + timedelta(days=rng.uniform(-28, 14))
            kind = "training" if index % 3 else "meeting"
            event = CalendarEvent(
                team_id=team,
                project_id=project_id,
                kind=kind,
                title=f"{kind} {index}",
                starts_at=starts,
                ends_at=starts + timedelta(hours=4),
                timezone="Europe/Berlin",
                organizer_id=pm,
                uid=uuid.uuid4().hex,
                created_by=pm,
                status="cancelled" if rng.random() < 0.1 else "scheduled",
                created_at=now - timedelta(days=40),
                updated_at=now - timedelta(days=40),
            )
            session.add(event)
            session.flush()
            if kind == "training":
                session.add(
                    TrainingSession(
                        team_id=team,
                        project_id=project_id,
                        module_id=rng.choice(modules).id,
                        event_id=event.id,
                        trainer_id=pm,
                        hours=rng.choice((4, 8)),
                    )
                )
            past = event.ends_at <= now and event.status == "scheduled"
            answers = ("accepted", "accepted", "maybe", "declined", "waitlisted", "pending")
            marks = ("present", "present", "late", "excused", "absent", None)
            invitations = [
                {
                    "team_id": team,
                    "event_id": event.id,
                    "user_id": user,
                    "response": rng.choice((*answers, "removed")),
                    "invited_at": now - timedelta(days=40),
                    "attendance": rng.choice(marks) if past else None,
                }
                for user in rng.sample(people, k=rng.randint(8, 24))
            ]
            session.execute(insert(Invitation), invitations)
            # The roll call's touchpoints, as the calendar logs them.
            attended = [i for i in invitations if i["attendance"] in ("present", "late")]
            if attended:
                session.execute(
                    insert(Interaction),
                    [
                        {
                            "team_id": team,
                            "project_id": project_id,
                            "key_user_id": ids[row["user_id"]],
                            "actor_id": pm,
                            "kind": f"{kind}_attended",
                            "touchpoint": True,
                            "detail": {"event_id": event.id},
                            "at": starts,
                        }
                        for row in attended
                    ],
                )
        for module in modules:
            attempts = []
            for repeat in range(2):  # a first round and a repeat: the latest attempt counts
                quiz = QuizRound(
                    team_id=team,
                    project_id=project_id,
                    module_id=module.id,
                    question_ids=[],
                    opens_at=now - timedelta(days=50 - 20 * repeat),
                    deadline=now - timedelta(days=1),
                    created_by=pm,
                    created_at=now - timedelta(days=50),
                )
                session.add(quiz)
                session.flush()
                for user in rng.sample(people, k=key_users // (2 + repeat)):
                    score = rng.randint(30, 100)
                    attempts.append(
                        {
                            "team_id": team,
                            "round_id": quiz.id,
                            "module_id": module.id,
                            "user_id": user,
                            "key_user_id": ids[user],
                            "answers": {},
                            "missed": [],
                            "score": score,
                            "passed": score >= 60,
                            "submitted_at": before(45),
                        }
                    )
            session.execute(insert(QuizAttempt), attempts)
            if module.has_practical:
                session.execute(
                    insert(PracticalAssessment),
                    [
                        {
                            "team_id": team,
                            "project_id": project_id,
                            "module_id": module.id,
                            "key_user_id": ids[user],
                            "user_id": user,
                            "period": rng.choice(("2026-10", "2026-11")),
                            "score": score,
                            "pass_mark": 60,
                            "passed": score >= 60,
                            "assessed_by": pm,
                            "assessed_at": before(30),
                        }
                        for user, score in (
                            (u, rng.randint(30, 100)) for u in rng.sample(people, k=key_users // 2)
                        )
                    ],
                )
        session.commit()
    return "ERP"


# ------------------------------------------------------------------------------ the verdicts


def digest_disagreements(shown: str, rows: Rows, now: datetime, *, names: bool = True) -> list[str]:
    """Every figure of a digest built at ``now`` that the rows do not bear out (empty: all
    agree). ``names``: the PMs' copy, which names the key users at risk and their reasons."""
    seen = read_digest(shown)
    week = rows.week(now)
    wrong: list[str] = []

    def check(what: str, shown_value: Any, expected: Any, *, close: float = 0.0) -> None:
        same = near(shown_value, expected, close) if close else shown_value == expected
        if not same:
            wrong.append(f"{what}: shown {shown_value!r}, rows say {expected!r}")

    check("week", seen.week, week.label)
    counts = rows.issue_counts(now, week.start, week.end)
    for name in ("open", "overdue", "past_service_level", "opened", "resolved", "breaches"):
        check(name, getattr(seen, name), getattr(counts, name))
    check(
        "median first response", seen.first_response_hours, counts.first_response_hours, close=HOURS
    )
    check("median resolution", seen.resolution_hours, counts.resolution_hours, close=HOURS)
    rounds = rows.latest_rounds(now)[-8:]
    if rounds:
        latest = rounds[-1]
        check(
            "answered of invited", (seen.answered, seen.invited), (latest.answered, latest.invited)
        )
        check("response rate", seen.response_rate, latest.response_rate, close=PERCENT)
        check("CSAT", seen.csat, latest.csat, close=PERCENT)
        check("NPS", seen.nps, latest.nps, close=PERCENT)
        if len(rounds) > 1:
            trend = [(r.round_number, r.csat) for r in rounds]
            if [n for n, _ in seen.csat_trend] != [n for n, _ in trend] or not all(
                near(a, b, PERCENT) for (_, a), (_, b) in zip(seen.csat_trend, trend, strict=True)
            ):
                wrong.append(f"CSAT trend: shown {seen.csat_trend}, rows say {trend}")
    else:
        check("response rate", seen.response_rate, None)
    modules = rows.readiness()
    expected_readiness = modules if any(t for _r, t in modules.values()) else {}
    check("readiness", seen.readiness, expected_readiness)
    risks = rows.at_risk(now)
    check("key users at risk", seen.at_risk, len(risks))
    if names:
        for user, line in seen.named.items():
            check(
                f"reasons of {user}",
                shown_reasons(line),
                reasons_line(risks.get(user, {})),
            )
        ranked = sorted(risks, key=lambda user: (-len(risks[user]), user))
        check("who is named", list(seen.named), ranked[: len(seen.named)])
    else:
        check("names in the channel", seen.named, {})
    tallies = rows.coming_tallies(now, now + WEEK)
    check("events of the coming week", len(seen.coming), min(len(tallies), 10))
    for line, tally in zip(seen.coming, tallies, strict=False):
        parts = re.findall(r"(\d+) (accepted|declined|not answered|maybe|on the waitlist)", line)
        told = sum(int(n) for n, _ in parts)
        check(f"answers to {tally.title} add up to the invited", told, tally.invited)
    return wrong


def home_disagreements(shown: str, rows: Rows, now: datetime) -> list[str]:
    """Every figure of the PM's Home tab at ``now`` that the rows do not bear out."""
    seen = read_home(shown)
    wrong: list[str] = []

    def check(what: str, shown_value: Any, expected: Any, tolerance: float = 0.0) -> None:
        same = near(shown_value, expected, tolerance) if tolerance else shown_value == expected
        if not same:
            wrong.append(f"Home {what}: shown {shown_value!r}, rows say {expected!r}")

    counts = rows.issue_counts(now, now - WEEK, now)
    check("open", seen.open, counts.open)
    check("overdue", seen.overdue, counts.overdue)
    check("breaches in the last 7 days", seen.breaches, counts.breaches)
    rounds = rows.latest_rounds(now)
    latest = rounds[-1] if rounds else None
    check("CSAT", seen.csat, latest and latest.csat, PERCENT)
    check("NPS", seen.nps, latest and latest.nps, PERCENT)
    check("in engagement debt", seen.debt, len(rows.in_debt(now)))
    modules = rows.readiness().values()
    trainees = sum(t for _r, t in modules)
    share = round(100 * sum(r for r, _t in modules) / trainees) if trainees else None
    check("readiness", seen.readiness, share)
    risks = rows.at_risk(now)
    check("key users at risk", seen.at_risk, len(risks))
    for user, line in seen.named.items():
        check(
            f"reasons of {user}",
            shown_reasons(line),
            reasons_line(risks.get(user, {})),
        )
    return wrong + contact_list_disagreements(shown, rows, now)


def stamp(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def contact_order(rows: Rows, now: datetime) -> list[tuple[str, int, int, bool]]:
    """Active key users as (user, last contact or registration, cadence in days, in debt), the
    longest without a contact first, as the Home tab and the nudge list them."""
    contacts, debt = rows.last_contacts(now), rows.in_debt(now)
    listed = []
    for row in rows.key_users:
        if row["removed_at"] is None:
            base = contacts[row["user_id"]] or aware(row["created_at"])
            days = cadence(row["influence"], row["interest"], row["cadence_days"])
            listed.append((row["user_id"], stamp(base) or 0, days, row["user_id"] in debt))
    return sorted(listed, key=lambda item: (item[1], item[0]))


LAST_CONTACT = re.compile(
    r"^(:warning: overdue for a contact · )?<@(\w+)> — (?:none since )?<!date\^(\d+)\^[^>]*>"
    r" · every (\d+) days$",
    re.M,
)


def contact_list_disagreements(shown: str, rows: Rows, now: datetime) -> list[str]:
    """The Home tab's "Last contact" list: who, when (only human contacts), the cadence and the
    warning of engagement debt (in words), the longest without a contact first (its first
    fifteen)."""
    seen = [
        (user, int(moment), int(days), bool(warning))
        for warning, user, moment, days in LAST_CONTACT.findall(shown)
    ]
    expected = contact_order(rows, now)[: len(seen)]
    if not seen or seen != expected:
        return [f"last contacts: shown {seen}, rows say {expected}"]
    return []


NUDGE_LINE = re.compile(
    r"<@(\w+)> — [^·]+ · every (\d+) days · (?:last contact|no contact since registration)"
    r" <!date\^(\d+)\^[^>]*> · in debt since <!date\^(\d+)\^"
)


def nudge_disagreements(shown: str, rows: Rows, now: datetime) -> list[str]:
    """A nudge DM: how many key users are in debt, and who, since when, longest first."""
    wrong = []
    count = re.search(r"(\d+) key users? of your projects", shown)
    debt = [item for item in contact_order(rows, now) if item[3]]
    if not count or int(count[1]) != len(debt):
        wrong.append(f"nudge count: shown {count and count[1]}, rows say {len(debt)}")
    seen = [(u, int(c), int(b), int(s)) for u, c, b, s in NUDGE_LINE.findall(shown)]
    expected = [(u, days, base, base + days * 86400) for u, base, days, _debt in debt]
    if seen != expected[: len(seen)] or len(seen) != min(len(expected), 20):
        wrong.append(f"nudged: shown {seen}, rows say {expected[:20]}")
    return wrong
