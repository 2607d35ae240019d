"""The QA review page (通话质检) in headless Chromium: a supervisor opens a call from the review
queue, sees the automatic proposal pre-filled, jumps in the recording by clicking a word, pins a
comment to that moment, and submits a post-call and a live score; an agent is sent to the desk.

The web app alone (``desk_app``); the call is written through the features' actions and its
automatic QA run the way the hub's QA service runs it, on a synthesised stereo recording.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from tests.e2e.conftest import AGENT, PASSWORD, ServedApp, log_in, screenshot
from tests.unit.qa.support import make_call
from tests.unit.qa.synth import planted_call
from tingyin.accounts.actions import create_user
from tingyin.config import Settings
from tingyin.qa.auto import QaRules, run_auto_qa
from tingyin.qa.checks import load_qa_checks
from tingyin.qa.scorecard import load_scorecard
from tingyin.store.models import QaEvaluation, User

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.timeout(120)

SUPERVISOR = "sup-qa"
CALL = "e2eqa" + "0" * 27


def expect(locator: Locator) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.fixture(scope="module")
def qa_call(desk_app: ServedApp) -> str:
    settings: Settings = desk_app.app.state.settings
    recording = planted_call(settings.recordings_dir / "qa" / "e2e.wav")
    with desk_app.db.session() as session:
        create_user(session, SUPERVISOR, PASSWORD, "supervisor", display_name="陈班长")
        agent_id = session.scalars(select(User.id).where(User.username == AGENT)).one()
    make_call(desk_app.db, CALL, agent_id=agent_id, recording="qa/e2e.wav")
    rules = QaRules(load_scorecard(), load_qa_checks())
    result = run_auto_qa(desk_app.db, rules, CALL, lambda _stored: recording)
    assert result is not None and "low_auto" in result.review_reasons
    return CALL


def test_a_supervisor_scores_a_call_on_the_review_page(
    page: Page, desk_app: ServedApp, qa_call: str
) -> None:
    base = desk_app.base_url
    log_in(page, base, SUPERVISOR, PASSWORD, then="/qa")
    queued = page.get_by_test_id("queue").locator("a")
    expect(queued).to_have_count(1)
    expect(queued.first).to_contain_text("自动低分")
    queued.first.click()
    page.wait_for_url(f"{base}/qa?call={qa_call}")
    expect(page.get_by_test_id("call-title")).to_have_text(qa_call)
    expect(page.get_by_test_id("call-meta")).to_contain_text("138****5678")
    expect(page.get_by_test_id("call-meta")).to_contain_text("坐席 王小听")
    expect(page.get_by_test_id("auto-total")).to_have_text("0.0")  # the planted 不知道
    expect(page.get_by_test_id("metrics")).to_contain_text("最长 5.0 秒")
    expect(page.locator("#findings li[data-check='no_forbidden']")).to_have_attribute(
        "data-passed", "false"
    )
    # Pre-filled from the automatic proposal; the items it cannot judge are left open.
    expect(page.get_by_test_id("answer-greeting-yes")).to_be_checked()
    expect(page.get_by_test_id("answer-no_forbidden-no")).to_be_checked()
    expect(page.get_by_test_id("answer-privacy-yes")).not_to_be_checked()
    page.wait_for_function("document.getElementById('audio').readyState >= 1")

    # Click a word: the recording jumps there, the clock and the segment follow.
    page.get_by_test_id("word").filter(has_text="不知道").click()
    expect(page.get_by_test_id("clock")).to_have_text("00:21")
    position = page.evaluate("document.getElementById('audio').currentTime")
    assert position == pytest.approx(21.2, abs=0.05)
    expect(page.locator("#segments li.current")).to_contain_text("不知道")

    page.get_by_test_id("comment-text").fill("此处使用了服务禁语")
    page.get_by_test_id("comment-add").click()
    expect(page.get_by_test_id("comments")).to_contain_text("00:21")
    expect(page.get_by_test_id("comments")).to_contain_text("此处使用了服务禁语")

    # A missing answer is caught before sending.
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("score-error")).to_contain_text("未评分")
    page.get_by_test_id("answer-privacy-yes").check()
    page.get_by_test_id("answer-remedy-na").check()
    page.get_by_test_id("answer-resolution-resolved").check()
    page.get_by_test_id("answer-no_forbidden-yes").check()  # the reviewer overrules the check
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("score-result")).to_contain_text("已解决")
    expect(page.get_by_test_id("scores").locator("li")).to_have_count(1)
    expect(page.get_by_test_id("queue").locator("a")).to_have_count(0)
    shot = screenshot(page, "qa-review.png")
    assert shot.stat().st_size > 20_000

    page.get_by_test_id("kind").select_option("live")
    page.get_by_test_id("answer-resolution-satisfied").check()
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("scores").locator("li")).to_have_count(2)
    with desk_app.db.session() as session:
        rows = session.scalars(
            select(QaEvaluation).where(QaEvaluation.call_id == qa_call, QaEvaluation.kind != "auto")
        ).all()
        assert sorted(r.kind for r in rows) == ["live", "post_call"]
        assert {r.resolution_level for r in rows} == {"resolved", "satisfied"}
        assert all(r.answers["no_forbidden"] == "yes" and r.total > 0 for r in rows)
    assert "13812345678" not in page.locator("body").inner_text()


def test_agents_are_sent_to_their_desk(page: Page, desk_app: ServedApp, qa_call: str) -> None:
    log_in(page, desk_app.base_url, AGENT, PASSWORD, then="")
    page.goto(f"{desk_app.base_url}/qa")
    page.wait_for_url(f"{desk_app.base_url}/desk")
