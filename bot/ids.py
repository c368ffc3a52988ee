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


class IssueId(StrEnum):
    """Callbacks and actions of issues (``bot/views/issues.py``, ``handlers/issues.py``)."""

    NEW_MODAL = "issue_new"
    ACTION_MODAL = "issue_action"
    RATING_MODAL = "issue_rating"
    LOG_FROM_MESSAGE = "log_issue_from_message"
    HOME_LOG = "issue_home_log"
    HOME_OPEN = "issue_home_open"
    HOME_LIST = "issue_home_list"  # a dashboard's open issues, value: project id
    # One action id per verb: ``issue_do_<verb>``; the button's value is ``<issue id>:<version>``.
    DO_PREFIX = "issue_do_"
    RATE = "issue_rate"
    RATE_COMMENT = "issue_rate_comment"
    RATE_REOPEN = "issue_rate_reopen"
    REMIND_TOMORROW = "issue_remind_tomorrow"
    SNOOZE_UNTIL = "issue_snooze_until"
    LIST_PAGE = "issue_list_page"
    DETAIL_MODAL = "issue_detail"
    # The channel card's overflow menu: an option's value is ``<action id>|<button value>``, the
    # verb buttons' (``issue_do_<verb>``) or ``issue_home_open`` (the details, with the reader's
    # own actions).
    MORE = "issue_more"


class RiskId(StrEnum):
    """Callbacks and actions of the risk register (``bot/views/risks.py``, ``handlers/risks.py``).
    A card's buttons carry ``<risk id>:<version>``; an action's button its action id."""

    NEW_MODAL = "risk_new"
    ASSESS_MODAL = "risk_assess"
    CLOSE_MODAL = "risk_close"
    ACTION_MODAL = "risk_action"
    LOG_FROM_MESSAGE = "log_risk_from_message"
    ASSESS = "risk_do_assess"
    CLOSE = "risk_do_close"
    REOPEN = "risk_do_reopen"
    ADD_ACTION = "risk_do_action"
    ACTION_TO_ISSUE = "risk_action_to_issue"
    OPEN = "risk_open"
    LIST_PAGE = "risk_list_page"
    HOME_LIST = "risk_home_list"  # the PM Home's "Project risks": value project id
    SETTINGS_MODAL = "risk_settings"
    IMPORT_MODAL = "risk_import"
    # A meeting summary's buttons: ``risk_from_meeting_<n>``, each with ``d:<outcome>:<index>``
    # (a decision) or ``a:<action item>``.
    FROM_MEETING = "risk_from_meeting"


class ApprovalId(StrEnum):
    """The shared approvals (``bot/views/approvals.py``, ``handlers/approvals.py``): a decider's
    buttons carry ``<approval id>``; the answer form's metadata the approval, answer and version."""

    ANSWER_MODAL = "approval_answer"
    APPROVE = "approval_approve"
    APPROVE_REMARKS = "approval_approve_remarks"
    REJECT = "approval_reject"
    QUESTION = "approval_question"
    OPEN = "approval_open"


class SignOffId(StrEnum):
    """Sign-offs (``bot/views/signoffs.py``, ``handlers/signoffs.py``). A view's buttons carry
    ``<sign-off id>:<version>``; a list page ``<project id>|<scope>|<page>``."""

    NEW_MODAL = "signoff_new"
    VERSION_MODAL = "signoff_version"
    NEW_VERSION = "signoff_new_version"
    OPEN = "signoff_open"
    LIST_PAGE = "signoff_list_page"


class ChangeId(StrEnum):
    """Change requests (``bot/views/changes.py``, ``handlers/changes.py``). A card's buttons carry
    ``<change id>:<version>``; a spawn button ``<change id>:<version>:<module>``."""

    NEW_MODAL = "change_new"
    EDIT_MODAL = "change_edit"
    SETTINGS_MODAL = "change_settings"
    FROM_ISSUE = "change_from_issue"
    SEND = "change_do_send"
    IMPLEMENTED = "change_do_implemented"
    VERIFIED = "change_do_verified"
    SPAWN_ISSUE = "change_spawn_issue"  # one a module: ``change_spawn_issue_<n>``
    SPAWN_TRAINING = "change_spawn_training"
    SPAWN_PLAN = "change_spawn_plan"
    OPEN = "change_open"
    LIST_PAGE = "change_list_page"


class PollId(StrEnum):
    """Callbacks and actions of polls (``bot/views/polls.py``, ``handlers/polls.py``)."""

    NEW_MODAL = "poll_new"  # step 1: settings
    QUESTIONS_MODAL = "poll_questions"  # step 2..n: add questions, then create
    ANSWER_MODAL = "poll_answer_modal"
    ANSWER = "poll_answer"  # DM button: open the answer modal
    HOME_NEW = "poll_home_new"  # a new project's next step, value: project id
    EDIT = "poll_edit"  # DM button of an answered poll
    # DM rating buttons: ``poll_rate:<question id>:<value>`` (unique within their block).
    RATE_PREFIX = "poll_rate:"


class CalendarId(StrEnum):
    """Actions of the calendar-event core (``bot/views/calendar.py``, ``handlers/calendar.py``).

    The button's value is the event id as JSON (``{"e": 12}``): a claim, checked against the
    clicking person's invitation."""

    RSVP_PREFIX = "calendar_rsvp_"  # + accepted | maybe | declined
    CHECK_IN = "calendar_check_in"
    # The Home tab's answer menu of an event: each option's value is ``<answer>:<event id>``.
    HOME_RSVP = "calendar_home_rsvp"


class TrainingId(StrEnum):
    """Callbacks and actions of trainings (``bot/views/trainings.py``,
    ``bot/views/training_sessions.py``, ``handlers/trainings.py``).

    Button values carry a project, module, quiz or event id: a claim, checked against the clicking
    person's rights before anything happens."""

    MODULE_MODAL = "training_module"
    QUESTION_MODAL = "training_question"
    QUIZ_MODAL = "training_quiz"
    QUIZ_ANSWER_MODAL = "training_quiz_answer"
    PRACTICAL_MODAL = "training_practical"
    IMPORT_MODAL = "training_import"
    SESSION_MODAL = "training_session"
    RESCHEDULE_MODAL = "training_reschedule"
    ROLL_CALL_MODAL = "training_roll_call"
    USE_STANDARD = "training_use_standard"
    HOME_CURRICULUM = "training_home_curriculum"  # a new project's next step: project id
    ADD_MODULE = "training_add_module"
    EDIT_MODULE = "training_edit_module"
    DELETE_MODULE = "training_delete_module"
    MODULE_NOTICE = "training_module_notice"
    EXPORT_CURRICULUM = "training_export_curriculum"
    IMPORT_CURRICULUM = "training_import_curriculum"
    TAKE_QUIZ = "training_take_quiz"
    READINESS_PAGE = "training_readiness_page"
    EXPORT_READINESS = "training_export_readiness"
    ROLL_CALL = "training_roll_call_open"
    END_USER_MODAL = "training_end_user"
    END_USER_EDIT_MODAL = "training_end_user_edit"
    END_USER_IMPORT_MODAL = "training_end_user_import"
    END_USER_SESSION_MODAL = "training_end_user_session"
    END_USERS_PAGE = "training_end_users_page"  # value: project id:page


class DigestId(StrEnum):
    """Callbacks and actions of the digest and the dashboards (``bot/views/digest.py``,
    ``bot/views/home.py``, ``handlers/digest.py``)."""

    SETTINGS_MODAL = "digest_settings"
    OPEN_DASHBOARD = "digest_open_dashboard"  # value: project id
    REMIND_OWNERS = "digest_remind_owners"  # value: project id
    # The channel copy's menu (the PMs' actions, which its other readers may not use):
    # ``<action id>|<project id>``; reminding from it asks first in this form.
    MORE = "digest_more"
    REMIND_MODAL = "digest_remind"
    # Home "show more": value ``<section>:<project id>:<page>``.
    HOME_PAGE = "dashboard_page"
    HOME_PAGE_BACK = "dashboard_page_back"  # "Show less": same value, another id in its block
    HOME_PICK_PROJECT = "dashboard_pick_project"
    HOME_SETTINGS = "digest_home_settings"  # a new project's next step, value: project id


class PlanId(StrEnum):
    """Callbacks and actions of the communication plan (``bot/views/commplan.py``)."""

    PLAN_MODAL = "plan_view"
    ENTRY_MODAL = "plan_entry"
    DONE_MODAL = "plan_done"
    REPORT_MODAL = "plan_report"
    USE_TEMPLATE = "plan_use_template"
    ADD = "plan_add"
    EDIT = "plan_edit"
    REMOVE = "plan_remove"
    PAGE = "plan_page"
    # Buttons of the owner's due DM; the value is the occurrence id.
    DUE_DONE = "plan_due_done"
    DUE_SNOOZE = "plan_due_snooze"
    DUE_SCHEDULE = "plan_due_schedule"
    DUE_DRAFT = "plan_due_draft"
    # A due item's overflow menu (snooze, schedule a meeting): ``<action id>|<occurrence id>``.
    DUE_MORE = "plan_due_more"


class EngagementId(StrEnum):
    """Callbacks and actions of engagement (``bot/views/engagement.py``)."""

    TOUCH_MODAL = "engagement_touch"
    # Value ``<project id>:<user id>`` (the user may be empty: pick them in the form).
    LOG_CONTACT = "engagement_log_contact"
    SCHEDULE = "engagement_schedule"
    HOME_PLAN = "engagement_home_plan"


class MeetingId(StrEnum):
    """Callbacks and actions of meetings (``bot/views/meetings.py``, ``handlers/meetings.py``).

    Button values are event ids (or an action item's id): claims, checked against the person."""

    NEW_MODAL = "meeting_new"
    RESCHEDULE_MODAL = "meeting_reschedule"
    CANCEL_MODAL = "meeting_cancel"
    OUTCOME_MODAL = "meeting_outcome"
    RESCHEDULE = "meeting_do_reschedule"
    CANCEL = "meeting_do_cancel"
    OUTCOME = "meeting_record_outcome"
    ACTION_TO_ISSUE = "meeting_action_to_issue"


class DecisionId(StrEnum):
    """Callbacks and actions of the decision log (``bot/views/decisions.py``,
    ``handlers/decisions.py``). Buttons carry a project id: checked against the clicking person."""

    ADD_MODAL = "decision_add"
    ADD = "decision_open_add"  # value: project id
    # ``decision_list_page_previous`` / ``_next``; value ``<project id>|<page>``.
    LIST_PAGE = "decision_list_page"


class CardId(StrEnum):
    """Actions of the key user's card (``bot/views/keyuser_card.py``,
    ``handlers/keyuser_card.py``): values carry ``<key user id>|<page>``, checked against the
    clicking person's rights."""

    # The "Card of…" menu of the register and of the PM Home's key users: ``<project id>:<user>``
    OPEN = "keyuser_card_open"
    # ``keyuser_card_page_previous`` / ``_next``
    PAGE = "keyuser_card_page"


class ChecklistId(StrEnum):
    """Callbacks and actions of phase checklists and phase moves (``bot/views/phases.py``,
    ``handlers/phases.py``). An item's buttons carry its id; the checklist's buttons
    ``<project id>|<phase>|<page>``; a move's confirmation ``<project id>|<moves>|<phase>``."""

    ITEM_MODAL = "checklist_item"
    MARK_MODAL = "checklist_mark"
    ADD = "checklist_add"
    EDIT = "checklist_edit"
    MARK = "checklist_do_mark"
    REMOVE = "checklist_remove"
    TEMPLATE = "checklist_template"
    PAGE = "checklist_page"
    HOME_OPEN = "checklist_home_open"  # the PM Home's "Checklist": value project id
    MOVE = "phase_move_confirm"
    MOVE_CANCEL = "phase_move_cancel"


class GoLiveId(StrEnum):
    """Callbacks and actions of the go-live gate (``bot/views/golive.py``, ``handlers/golive.py``).
    The Home tab's button carries the project's id."""

    SETTINGS_MODAL = "golive_settings"
    SHOW = "golive_show"


class NotificationId(StrEnum):
    """Callbacks and actions of a person's notification settings (``bot/views/notifications.py``,
    ``handlers/notifications.py``). The form's metadata names whose settings it shows."""

    SETTINGS_MODAL = "notification_settings"
    OPEN_SETTINGS = "notification_settings_open"


# Buttons whose click cannot be undone or messages other people: each carries Slack's confirm
# dialog (``bot/views/common.py`` ``confirm_dialog``) naming what happens and to whom; in an
# overflow menu, whose one confirm covers the whole menu, such an option opens a confirming step
# instead (a form). ``tests/surfaces.py`` checks every message and view against this set.
CONFIRMED: frozenset[str] = frozenset(
    {
        f"{IssueId.DO_PREFIX}close",
        f"{IssueId.DO_PREFIX}delete",
        DigestId.REMIND_OWNERS,
        PlanId.REMOVE,
        ChecklistId.REMOVE,
        TrainingId.DELETE_MODULE,
        MeetingId.CANCEL,
        RiskId.CLOSE,
        ChangeId.SEND,
    }
)
