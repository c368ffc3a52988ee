"""Liaison promises only what is built: the manifest's description, the channel greeting and the
Home tab's welcome name the capabilities whose commands are active, and nothing else."""

from __future__ import annotations

import pytest

from bot import manifest
from bot.settings import load_settings
from bot.views.common import built_features, channel_posts

UNBUILT_WORDS = {"training": "training", "meeting": "meeting", "digest": "digest"}


def test_the_manifest_names_only_active_capabilities() -> None:
    built = manifest.build_manifest(load_settings({}))["display_information"]
    description = built["long_description"].lower()
    for name, word in UNBUILT_WORDS.items():
        if name not in manifest.ACTIVE_COMMANDS:
            assert word not in description, name
    for name in manifest.built_capabilities():
        assert manifest.CAPABILITY_PHRASES[name] in built["long_description"]


def test_a_capability_is_named_once_its_command_is_active(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manifest, "ACTIVE_COMMANDS", [*manifest.ACTIVE_COMMANDS, "digest"])
    assert "a weekly digest for the project managers" in manifest.long_description()
    assert channel_posts("en").endswith(" and the weekly digest")
    assert channel_posts("zh-CN").endswith("和每周摘要")
    assert built_features("en").endswith(" and a weekly digest")


def test_greetings_name_only_built_features() -> None:
    from bot.i18n import plain

    built = manifest.built_capabilities()
    for locale in ("en", "zh-CN"):
        welcome, posts = built_features(locale), channel_posts(locale)
        for name in manifest.CAPABILITY_PHRASES:
            assert (plain(locale, f"features.{name}") in welcome) == (name in built), name
            if name in manifest.CHANNEL_POSTS:
                said = plain(locale, f"channel_posts.{name}") in posts
                assert said == (name in built), name
