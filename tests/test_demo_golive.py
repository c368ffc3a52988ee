"""The demo's act on final preparation, end users, the go-live gate and the go-live sign-off, in
English and Chinese: the gate before (FI go, MM at risk for its open P2 issue and 70 % of its end
users) and after (MM go), and the narration saying what the gate prints."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import PlayedDemo


def _act(played: PlayedDemo, title: str) -> tuple[str, str]:
    text = played.text  # run_demo returned 0
    return text, text[text.index(title) :]


def _between(text: str, start: str, end: str) -> str:
    begin = text.index(start)
    return text[begin : text.index(end, begin)]


def test_demo_golive_act_reads_the_gate_before_and_after_and_signs_go_live(
    played_demo: Callable[[str], PlayedDemo],
) -> None:
    text, act = _act(played_demo("en"), "Act 8 — final preparation")
    assert "*ERP* moved from _Business blueprint_ to _Final" in act
    assert "End users imported into *ERP*: 14 added, 0 rows rejected." in act
    assert "Attendance of *MM* saved (10 changed)." in act
    assert "Attendance of *MM* saved (3 changed)." in act  # the second session's roll call
    assert "(end user 10, not in Slack)" in act

    before = _between(act, "opens the go-live gate with", "plans a second session")
    assert "FI is go. MM is at risk" in " ".join(before.split())  # the narration, wrapped
    assert "*Go-live gate of ERP* (Final preparation): 1 go, 1 at risk, 3 no-go" in before
    mm = _between(before, ":large_yellow_circle: *MM*: at risk", ":large_green_circle: *FI*: go")
    assert "end users ready: 7 of 10 (70%, go from 80%)" in mm
    assert "open issues: 0 P1, 1 P2, 0 past their service level" in mm
    assert "user acceptance test not yet signed" in mm
    fi = _between(before, ":large_green_circle: *FI*: go", ":red_circle: *BASIS*")
    assert "key users ready: 1 of 1 (100%, go from 90%)" in fi
    assert "end users ready: 4 of 4 (100%, go from 80%)" in fi

    after = _between(act, "opens the go-live gate again", "to sign off the go-live")
    assert "MM is go now" in " ".join(after.split())
    assert "*Go-live gate of ERP* (Final preparation): 2 go, 0 at risk, 3 no-go" in after
    mm = _between(after, ":large_green_circle: *MM*: go", ":large_green_circle: *FI*: go")
    assert "end users ready: 10 of 10 (100%, go from 80%)" in mm
    assert "no open P1 or P2 issue" in mm and "user acceptance test signed" in mm

    assert "@wei.mm approved: Tested with the" in act and "now *signed*" in act
    assert "*Go-live gate when this version was made*: 2 go, 0 at risk, 3 no-go" in act
    assert ":large_green_circle: MM: go" in act
    assert "@maria.cfo approved: Go for MM and FI." in " ".join(act.split())
    assert "You approved *sign-off #3* (ERP). It is now approved." in act
    assert "Slack rules broken (Block Kit limits, scopes, late acks): 0" in text


def test_demo_golive_act_in_chinese(played_demo: Callable[[str], PlayedDemo]) -> None:
    text, act = _act(played_demo("zh-CN"), "第八幕：最终准备")
    before = _between(act, "打开上线关口。", "安排第二次培训")
    assert "ERP 上线关口（最终准备）：1 个可上线，1 个待观察，3 个不可上线" in before
    assert ":large_yellow_circle: MM：待观察" in before
    assert "最终用户就绪：10 人中 7 人（70%，≥ 80% 可上线）" in before
    assert "未关闭的问题：P1 0 个，P2 1 个，超出服务级别 0 个" in before
    assert ":large_green_circle: FI：可上线" in before
    after = _between(act, "再次打开上线关口", "签核上线")
    assert "ERP 上线关口（最终准备）：2 个可上线，0 个待观察，3 个不可上线" in after
    assert ":large_green_circle: MM：可上线" in after
    assert "最终用户就绪：10 人中 10 人（100%，≥ 80% 可上线）" in after
    assert "本版本创建时的上线关口：2 个可上线，0 个待观察，3 个不可上线" in act
    assert "@周敏已批准：MM和FI上线。" in "".join(act.split()) and "签核结果：已签核" in act
    assert "Act " not in text and "DM to" not in text
    assert "违反 Slack 规则（Block Kit 限制、权限范围、超时确认）的次数：0" in text
