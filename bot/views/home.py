"""The App Home tab: a key user's projects and a PM's dashboards, assembled from parts.

Slack refuses a Home tab of more than 100 blocks, so every part is bounded whatever the data:
lists show a page and a "Show more" button, a PM with many projects sees a few dashboards and a
picker for the rest, and ``home_view`` keeps the whole within the limit.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block

from bot.i18n import plain, t
from bot.ids import Action, IssueId
from bot.services.digest import readiness_percent
from bot.views import common as ui
from bot.views.keyusers import role_label
from bot.views.projects import phase_label
from storage.models import KeyUser, Project

# Projects listed one block each for a key user; the rest are counted.
KEY_USER_PROJECTS_SHOWN = 5


def key_user_part(
    locale: str, user_id: str, memberships: list[tuple[Project, KeyUser]]
) -> list[Block]:
    """The projects the person is a key user of, each with their card (what they have open,
    answered and learnt there)."""
    from bot.ids import CardId

    blocks: list[Block] = [
        ui.section(
            t(
                locale,
                "home.keyuser_line",
                code=project.code,
                name=project.name,
                role=role_label(locale, key_user.role),
                module=key_user.module or "",
                phase=phase_label(locale, project.phase),
                channel=project.channel_id,
            ),
            accessory=ui.button(
                plain(locale, "home.your_card"), CardId.OPEN, f"{project.id}:{user_id}"
            ),
            block_id=f"keyuser_project_{project.id}",
        )
        for project, key_user in memberships[:KEY_USER_PROJECTS_SHOWN]
    ]
    if len(memberships) > KEY_USER_PROJECTS_SHOWN:
        more = len(memberships) - KEY_USER_PROJECTS_SHOWN
        blocks.append(ui.context(t(locale, "common.more", count=more)))
    return ui.titled(plain(locale, "home.keyuser_title"), blocks)


def welcome_part(
    locale: str, commands: dict[str, str], *, has_anything: bool, manages_projects: bool
) -> list[Block]:
    """The welcome for newcomers; the "New project" button for them and for PMs."""
    blocks: list[Block] = []
    if not has_anything:
        blocks.append(
            ui.section(
                t(
                    locale,
                    "home.welcome",
                    project=commands["project"],
                    features=ui.built_features(locale),
                )
            )
        )
    elif not manages_projects:
        return blocks
    blocks.append(
        ui.actions(
            ui.button(plain(locale, "home.new_project"), Action.HOME_NEW_PROJECT),
            block_id="home_global",
        )
    )
    return blocks


def home_view(parts: list[list[Block]]) -> dict[str, Any]:
    """The parts, divided, within Slack's 100 blocks: a part that would not fit whole is left out
    (the dashboards come first for a PM, and each part is paged, so this is a last resort)."""
    blocks: list[Block] = []
    for part in parts:
        if not part:
            continue
        needed = len(part) + (1 if blocks else 0)
        if len(blocks) + needed > ui.VIEW_BLOCK_LIMIT:
            continue
        if blocks:
            blocks.append(ui.divider())
        blocks.extend(part)
    return ui.home(blocks)


# ------------------------------------------------------------------------ the PM dashboard

RISK_PAGE = 8  # key users at risk per page of a dashboard
MAX_DASHBOARDS = 2  # projects shown in full; a picker offers the others


def _figure(value: float | None, unit: str = "") -> str:
    return "—" if value is None else f"{value:.0f}{unit}"


def _figures(locale: str, dashboard: Any, *, in_modal: bool) -> list[Block]:
    """A dashboard's figures, the open issues they count and the key users at risk."""
    from bot.i18n import render
    from bot.ids import DigestId

    project = dashboard.project
    issues, poll, risk = dashboard.issues, dashboard.poll, dashboard.at_risk
    readiness = readiness_percent(dashboard.extra.get("readiness"))
    blocks: list[Block] = []
    blocks.append(
        ui.info(
            t(
                locale,
                "dashboard.key_users",
                total=sum(dashboard.quadrants.values()),
                counts=" · ".join(
                    plain(
                        locale,
                        "units.count_of",
                        label=plain(locale, f"quadrants.{q.value}"),
                        count=n,
                    )
                    for q, n in dashboard.quadrants.items()
                ),
            )
            + "\n"
            + t(
                locale,
                "dashboard.pm_figures",
                open=issues.open_now,
                overdue=issues.overdue_now,
                breaches=issues.breaches.now,
                csat=_figure(poll.latest.csat if poll else None, "%"),
                nps=_figure(poll.latest.nps if poll else None),
                debt=dashboard.debt,
                readiness=readiness,
            ),
            f"figures_{project.id}",
        ),
    )
    blocks += open_issue_lines(locale, project, dashboard)
    lines = render(locale, "digest/risk_lines.j2", data=risk) if risk.people else ""
    title = t(locale, "dashboard.at_risk_title", total=risk.total)
    body = lines or t(locale, "dashboard.at_risk_none")
    # Each person at risk is acted on from the contacts list below (log a contact, their card).
    blocks.append(ui.info(f"{title}\n{body}", f"at_risk_{project.id}"))
    if risk.total > RISK_PAGE:
        first, last = risk.offset + 1, risk.offset + len(risk.people)
        paging = []
        if last < risk.total:
            paging.append(
                ui.button(
                    plain(locale, "dashboard.show_more"),
                    DigestId.HOME_PAGE,
                    f"risk:{project.id}:{risk.offset // RISK_PAGE + 1}",
                )
            )
        if risk.offset:
            paging.append(
                ui.button(
                    plain(locale, "dashboard.show_less"),
                    DigestId.HOME_PAGE_BACK,
                    f"risk:{project.id}:{risk.offset // RISK_PAGE - 1}",
                )
            )
        blocks.append(
            ui.context(t(locale, "dashboard.page", first=first, last=last, total=risk.total))
        )
        if not in_modal:
            blocks.append(ui.actions(*paging, block_id=f"risk_pages_{project.id}"))
    return blocks


def project_dashboard(locale: str, dashboard: Any, *, in_modal: bool = False) -> list[Block]:
    """One project's dashboard (``bot.services.digest.ProjectDashboard``): at most 15 blocks
    (its figures and the open issues beside them, or a new project's next steps)."""
    from bot.i18n import render
    from bot.ids import DigestId
    from bot.views.digest import weekday_label

    project = dashboard.project
    issues = dashboard.issues
    blocks: list[Block] = [
        ui.header(plain(locale, "dashboard.pm_title", code=project.code, name=project.name)),
        ui.context(
            t(
                locale,
                "dashboard.pm_phase",
                phase=phase_label(locale, project.phase),
                channel=project.channel_id,
                day=weekday_label(locale, project.digest_weekday),
                time=project.digest_time,
            )
        ),
    ]
    if dashboard.setup is not None and not in_modal:
        # A project without key users: its next steps, not rows of zeros.
        blocks += setup_steps(locale, project, dashboard.setup)
    else:
        blocks += _figures(locale, dashboard, in_modal=in_modal)
    for name in ("coming_week", "readiness"):
        data = dashboard.extra.get(name)
        if data:
            text = render(locale, f"digest/{name}.j2", data=data, timezone=project.timezone)
            blocks.append(ui.info(text, f"{name}_{project.id}"))
    if in_modal:
        return blocks
    buttons = [
        ui.button(plain(locale, "home.add_keyuser"), Action.HOME_ADD_KEYUSER, str(project.id)),
        ui.button(plain(locale, "home.show_register"), Action.HOME_SHOW_REGISTER, str(project.id)),
        ui.button(plain(locale, "home.edit_project"), Action.HOME_EDIT_PROJECT, str(project.id)),
    ]
    if issues.open_now:
        buttons.append(
            ui.button(plain(locale, "dashboard.open_issues"), IssueId.HOME_LIST, str(project.id))
        )
    if issues.overdue_now:
        buttons.append(
            ui.button(
                plain(locale, "digest.remind_owners"),
                DigestId.REMIND_OWNERS,
                str(project.id),
                confirm=ui.confirmed(
                    locale,
                    "digest.confirm_remind",
                    count=issues.overdue_now,
                    code=project.code,
                ),
            )
        )
    blocks.append(ui.actions(*buttons, block_id=f"project_{project.id}"))
    return blocks


def open_issue_lines(locale: str, project: Project, dashboard: Any) -> list[Block]:
    """Under the figures, the first of the open issues they count (overdue first), each with
    Open; "Open issues" in the actions below lists them all. The count is the figure's."""
    from bot.views.issues import issue_line

    total = dashboard.issues.open_now
    if not total:
        return [ui.context(t(locale, "dashboard.no_open_issues", code=project.code))]
    blocks: list[Block] = [
        ui.section(
            issue_line(locale, project, issue, dashboard.issues.now),
            accessory=ui.button(
                plain(locale, "issues.home.open"), IssueId.HOME_OPEN, str(issue.id)
            ),
        )
        for issue in dashboard.open_issues
    ]
    more = total - len(dashboard.open_issues)
    if more > 0:
        blocks.append(ui.context(t(locale, "common.more", count=more)))
    return blocks


def setup_steps(locale: str, project: Project, steps: list[str]) -> list[Block]:
    """A new project's next steps, each with the button that takes it."""
    from bot.ids import DigestId, EngagementId, PollId, TrainingId
    from bot.views.digest import weekday_label

    actions = {
        "key_users": Action.HOME_ADD_KEYUSER,
        "poll": PollId.HOME_NEW,
        "training": TrainingId.HOME_CURRICULUM,
        "plan": EngagementId.HOME_PLAN,
        "digest": DigestId.HOME_SETTINGS,
    }
    blocks: list[Block] = [
        ui.context(t(locale, "home.setup.title", code=project.code)),
    ]
    for number, step in enumerate(steps, start=1):
        text = t(
            locale,
            f"home.setup.{step}",
            number=number,
            day=weekday_label(locale, project.digest_weekday),
            time=project.digest_time,
        )
        button = ui.button(
            plain(locale, f"home.setup_button.{step}"),
            actions[step],
            str(project.id),
            style="primary" if number == 1 else None,
        )
        blocks.append(ui.section(text, accessory=button, block_id=f"setup_{step}_{project.id}"))
    return blocks


def pm_dashboards(locale: str, dashboards: list[Any], all_projects: list[Project]) -> list[Block]:
    """The dashboards shown in full, then a picker of every managed project when there are more."""
    if not dashboards:
        return []
    from bot.ids import DigestId

    blocks: list[Block] = []
    for dashboard in dashboards:
        blocks += project_dashboard(locale, dashboard)
    if len(all_projects) > len(dashboards):
        from slack_sdk.models.blocks import StaticSelectElement
        from slack_sdk.models.blocks.basic_components import PlainTextObject

        options = [ui.option(str(p.id), f"{p.code} · {p.name}") for p in all_projects][:100]
        blocks.append(
            ui.section(
                t(
                    locale,
                    "dashboard.more_projects",
                    count=len(all_projects),
                    shown=len(dashboards),
                ),
                accessory=StaticSelectElement(
                    action_id=DigestId.HOME_PICK_PROJECT,
                    placeholder=PlainTextObject(text=plain(locale, "dashboard.pick_project")),
                    options=options,
                ),
            )
        )
    return blocks
