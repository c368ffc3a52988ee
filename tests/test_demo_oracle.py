"""The consistency oracle over the demo: every digest the scheduler posted in the demo's weeks,
the PM's preview and Home tab, read from what the emulator recorded, agree with the rows
recounted by ``tests/oracle.py`` as they stood when each was built; then, on the demo's database
as the digest act left it, at later instants of the movable clock."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.demo import ACTS, digest
from bot.demo.stage import CHANNEL, PM, Stage
from bot.services import digest as digest_service
from bot.settings import load_settings
from bot.views.common import TOOL_MODAL
from tests.flows import texts
from tests.oracle import Rows, digest_disagreements, home_disagreements


@dataclass
class Played:
    built: list[tuple[datetime, Rows]] = field(default_factory=list)  # each digest built
    posted: list[str] = field(default_factory=list)  # the digests in the channel, in order
    preview: tuple[datetime, str] | None = None  # the PM's preview in the digest act
    home: tuple[datetime, str] | None = None  # the PM's Home tab after the last digest
    later: list[tuple[datetime, str, str]] = field(default_factory=list)  # after the demo
    rows: Rows | None = None  # the final rows


def _digests(items: list[dict[str, Any]]) -> list[str]:
    return [texts([item]) for item in items if "_Now:_" in texts([item])]


def _previews(stage: Stage) -> list[str]:
    """The digest previews the PM was shown (in a tool's modal)."""
    views = [call.args.get("view") or {} for call in stage.emulator.calls]
    return _digests([view for view in views if view.get("callback_id") == TOOL_MODAL])


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Played:
    """The demo played once up to its digest act (the acts after it are not the digest's
    subject); each digest built is paired with the rows its unit of work saw."""
    seen = Played()
    build = digest_service.build_digest

    def recorded(ctx, project, *, now, **options):  # type: ignore[no-untyped-def]
        seen.built.append((now, Rows.load(ctx.session.connection(), project.code)))
        return build(ctx, project, now=now, **options)

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    with (
        pytest.MonkeyPatch.context() as patch,
        Stage.open(path, load_settings({}), io.StringIO()) as stage,
    ):
        patch.setattr(digest_service, "build_digest", recorded)
        for act in ACTS[: ACTS.index(digest)]:
            act.play(stage)
        asked = stage.clock.now()  # the digest act opens with the PM's preview
        digest.play(stage)
        patch.undo()
        [preview] = _previews(stage)
        seen.preview = (asked, preview)
        seen.posted = _digests(stage.emulator.messages(CHANNEL))
        seen.home = (stage.clock.now(), texts([stage.emulator.home(PM) or {}]))
        sent = stage.clock.now()
        for delay in (timedelta(hours=30), timedelta(days=4, hours=3), timedelta(days=9)):
            stage.clock.set(sent + delay)
            stage.slack.slash_command(PM, "/digest", "preview ERP", channel_id=CHANNEL)
            stage.slack.open_home(PM)
            seen.later.append(
                (
                    stage.clock.now(),
                    _previews(stage)[-1],
                    texts([stage.emulator.home(PM) or {}]),
                )
            )
        seen.rows = Rows.load(stage.database, "ERP")
    return seen


def test_every_digest_the_demo_posted_agrees_with_the_rows_when_it_was_built(
    played: Played,
) -> None:
    asked, preview = played.preview or (None, "")
    builds = [(now, rows) for now, rows in played.built if now != asked]
    assert len(played.posted) >= 5 and len(builds) == len(played.posted)
    for (now, rows), posted in zip(builds, played.posted, strict=True):
        assert digest_disagreements(posted, rows, now, names="<@" in posted) == [], now


def test_the_demos_preview_agrees_with_the_rows_at_the_moment_it_was_asked_for(
    played: Played,
) -> None:
    asked, preview = played.preview or (None, "")
    [(now, rows)] = [(now, rows) for now, rows in played.built if now == asked]
    assert digest_disagreements(preview, rows, now) == []


def test_the_pms_home_tab_after_the_demos_digest_agrees_with_the_rows(played: Played) -> None:
    at, home = played.home or (None, "")
    assert played.rows and at
    assert home_disagreements(home, played.rows, at) == []


def test_later_in_the_demos_weeks_the_preview_and_the_home_tab_still_agree_with_the_rows(
    played: Played,
) -> None:
    assert played.rows and len(played.later) == 3
    for at, preview, home in played.later:
        assert digest_disagreements(preview, played.rows, at) == [], at
        assert home_disagreements(home, played.rows, at) == [], at
