"""The listener skeleton: arguments read as people type them, usage made from the same table in both
languages, and every command and form of the app declared through it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot import manifest
from bot.app import LISTENER_MODULES
from bot.i18n import LOCALES, catalog_keys
from handlers.listeners import (
    CODE,
    NUMBER,
    PERSON,
    TEXT,
    Command,
    Form,
    choice,
    fit,
    usage,
    words_of,
)

ROOT = Path(__file__).resolve().parent.parent


def read(args: tuple, text: str) -> dict[str, str] | None:
    return fit(args, words_of(text), text)


def test_an_optional_code_is_left_out_before_it_is_tried() -> None:
    listing = (CODE, choice("filter", "open", "overdue", "all"))
    assert read(listing, "") == {}
    assert read(listing, "open") == {"filter": "open"}
    assert read(listing, "ERP") == {"code": "ERP"}
    assert read(listing, "ERP OVERDUE") == {"code": "ERP", "filter": "overdue"}
    assert read(listing, "ERP open extra") is None
    numbered = (CODE, NUMBER)
    assert read(numbered, "3") == {"number": "3"}
    assert read(numbered, "erp 3") == {"code": "erp", "number": "3"}
    assert read(numbered, "erp") is None
    assert read(numbered, "3 4") is None


def test_free_text_is_kept_as_typed_and_a_person_is_a_mention() -> None:
    touch = (CODE, PERSON, choice("how", "call", "email"), TEXT)
    text = "ERP <@U123|pia> call  talked about\nthe cut-over"
    assert read(touch, text) == {
        "code": "ERP",
        "person": "<@U123|pia>",
        "how": "call",
        "text": "talked about\nthe cut-over",
    }
    assert read(touch, "<@U123> email") == {"person": "<@U123>", "how": "email"}
    assert read(touch, "ERP pia call") is None
    noted = (CODE, TEXT)
    assert read(noted, "ERP cut-over  moved") == {"code": "ERP", "text": "cut-over  moved"}
    assert read(noted, "") == {}


def commands() -> list[Command]:
    return [module.COMMAND for module in LISTENER_MODULES if hasattr(module, "COMMAND")]


def forms() -> list[Form]:
    return [form for module in LISTENER_MODULES for form in getattr(module, "FORMS", ())]


def test_every_slash_command_of_the_manifest_is_a_table() -> None:
    assert sorted(command.name for command in commands()) == sorted(manifest.ACTIVE_COMMANDS)


@pytest.mark.parametrize("locale", LOCALES)
def test_usage_names_every_subcommand_with_its_help_in_each_language(locale: str) -> None:
    keys = catalog_keys(locale)
    for command in commands():
        typed = f"/{command.name}"
        text = usage(locale, command, typed)
        for sub in command.subcommands:
            assert f"{command.catalog}.help.{sub.help_key}" in keys
            assert f"`{typed} {sub.verb}" in text
        if locale == "zh-CN":
            assert not re.search(r"\bCODE\b|@person|: ", text), text


def decorated_listeners(path: Path) -> list[str]:
    """`@app.command(...)` and `@app.view(...)` decorators in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(target, ast.Attribute) and target.attr in ("command", "view"):
                    found.append(f"{path.name}:{node.lineno} @{target.attr}")
    return found


def test_commands_and_forms_are_registered_only_by_the_skeleton() -> None:
    """No domain writes its own command dispatcher or form listener: it declares a table and
    forms, and `handlers/listeners.py` registers them (a form's callback id is declared once)."""
    found = [
        place
        for path in sorted((ROOT / "handlers").glob("*.py"))
        if path.name != "listeners.py"
        for place in decorated_listeners(path)
    ]
    assert found == []
    ids = [form.callback_id for form in forms()]
    assert len(ids) == len(set(ids)) and len(ids) >= 29


def raw_clicks(path: Path) -> list[str]:
    """`app.action(...)` and `app.shortcut(...)` listened to other than through `clicks(...)`."""
    tree = ast.parse(path.read_text())
    through_clicks = {
        id(node.args[0])
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "clicks" and node.args
    }
    return [
        f"{path.name}:{node.lineno} app.{node.func.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("action", "shortcut")
        and getattr(node.func.value, "id", "") == "app"
        and id(node) not in through_clicks
    ]


def test_buttons_and_shortcuts_are_registered_only_through_clicks() -> None:
    """Every button, menu choice and message shortcut is a `run(click)` under `clicks`, which
    acknowledges it, answers the clicking person and tells a refusal in words."""
    found = [
        place
        for path in sorted((ROOT / "handlers").glob("*.py"))
        if path.name != "listeners.py"
        for place in raw_clicks(path)
    ]
    assert found == []
