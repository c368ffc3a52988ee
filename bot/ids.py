"""Callback, action and block ids: one place, so handlers and builders never disagree."""

from __future__ import annotations

from enum import StrEnum


class Callback(StrEnum):
    PROJECT_NEW = "project_new"
    PROJECT_EDIT = "project_edit"
    KEYUSER_ADD = "keyuser_add"
    KEYUSER_EDIT = "keyuser_edit"
    KEYUSER_IMPORT = "keyuser_import"


class Action(StrEnum):
    HOME_NEW_PROJECT = "home_new_project"
    HOME_ADD_KEYUSER = "home_add_keyuser"
    HOME_SHOW_REGISTER = "home_show_register"
    HOME_EDIT_PROJECT = "home_edit_project"
    REGISTER_EDIT_KEYUSER = "register_edit_keyuser"
    REGISTER_REMOVE_KEYUSER = "register_remove_keyuser"
    # Inputs whose value the handler reads (block ids equal the service's field names).
    INPUT = "value"
