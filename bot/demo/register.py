"""Act 1: a PM creates the project and registers six key users of different roles."""

from __future__ import annotations

from bot.demo.stage import CHANNEL, CONSULTANT, PM, Stage

KEY_USERS = [
    # user, role, department, module, influence, interest
    ("UMAR0006", "sponsor", "Finance", "", "high", "high"),
    ("UANA0003", "decision_maker", "Accounting", "FI", "high", "medium"),
    ("UWEI0004", "key_user", "Procurement", "MM", "medium", "high"),
    ("ULUC0005", "business_representative", "Sales", "SD", "low", "high"),
    ("UJON0007", "system_administrator", "IT", "BASIS", "medium", "low"),
    ("UPRI0008", "key_user", "Human Resources", "HCM", "low", "medium"),
]


def play(stage: Stage) -> None:
    slack = stage.slack
    stage.act("Act 1 — the project and its key-user register")

    stage.step(PM, "types `/project new` in #erp-rollout and sees the form:")
    slack.slash_command(PM, "/project", "new", channel_id=CHANNEL)
    stage.show_view(stage.emulator.open_views(PM)[-1])

    stage.step(PM, "submits it with a code that has spaces and a digest time of '9am':")
    response = slack.submit_view(
        PM,
        {
            "name": "S/4HANA Finance & Logistics rollout",
            "code": "erp 2027",
            "channel_id": CHANNEL,
            "pm_ids": [PM],
            "digest_time": "9am",
            "timezone": "Europe/Berlin",
            "digest_weekday": "0",
        },
    )
    for block_id, message in (response.json or {}).get("errors", {}).items():
        stage.say(f"    ! {block_id}: {message}")
    stage.say("    (the form stays open; nothing was stored)")

    stage.step(PM, "corrects the code to ERP and the time to 09:00, and submits:")
    slack.submit_view(
        PM,
        {
            "name": "S/4HANA Finance & Logistics rollout",
            "code": "ERP",
            "channel_id": CHANNEL,
            "pm_ids": [PM],
            "digest_time": "09:00",
            "timezone": "Europe/Berlin",
            "digest_weekday": "0",
        },
    )
    stage.show_new_messages()

    stage.step(PM, "runs `/keyuser add` and sees the register form:")
    slack.slash_command(PM, "/keyuser", "add", channel_id=CHANNEL)
    stage.show_view(stage.emulator.open_views(PM)[-1])
    for index, (user_id, role, department, module, influence, interest) in enumerate(KEY_USERS):
        if index:
            slack.slash_command(PM, "/keyuser", "add ERP", channel_id=CHANNEL)
        values = {
            "user_id": user_id,
            "role": role,
            "department": department,
            "influence": influence,
            "interest": interest,
        }
        if module:
            values["module"] = module
        if user_id == "UPRI0008":
            values["cadence_days"] = "21"
            values["notes"] = "Joins from Bangalore; prefers afternoon slots (CET)."
        stage.step(PM, f"registers {stage.name(user_id)} as {role.replace('_', ' ')}:")
        slack.submit_view(PM, values)
        stage.show_new_messages()

    stage.step(PM, "runs `/keyuser list ERP`:")
    slack.slash_command(PM, "/keyuser", "list ERP", channel_id=CHANNEL)
    stage.show_new_messages()

    stage.step(PM, "moves the project on with `/project phase ERP blueprint`:")
    slack.slash_command(PM, "/project", "phase ERP blueprint", channel_id=CHANNEL)
    stage.show_new_messages()

    stage.step(CONSULTANT, "(not a PM) tries `/keyuser remove ERP @anna.fi`:")
    slack.slash_command(
        CONSULTANT, "/keyuser", "remove ERP <@UANA0003|anna.fi>", channel_id=CHANNEL
    )
    stage.show_new_messages()

    stage.step(PM, "exports the register with `/keyuser export ERP`:")
    slack.slash_command(PM, "/keyuser", "export ERP", channel_id=CHANNEL)
    stage.show_new_messages()
    files = stage.emulator.files
    if files:
        content = files[-1]["content"].decode("utf-8")
        stage.say("    " + "\n    ".join(content.splitlines()[:4]) + "\n    …")

    stage.step(PM, "opens Liaison's Home tab:")
    slack.open_home(PM)
    stage.show_home(PM)
    stage.show_new_messages()

    stage.step("UWEI0004", "(a key user) opens Liaison's Home tab:")
    slack.open_home("UWEI0004")
    stage.show_home("UWEI0004")
    stage.show_new_messages()
