"""Scores back to the platform's gradebook (LTI AGS) from a real platform: a completion's
score arrives once, through a line item the tool finds or makes; the platform down and
back, or throttling, loses nothing and never lets an older score win."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.lti.conftest import ADMIN_KEY, settled
from tests.lti.flow import launch
from tests.lti.platform import INSTRUCTOR, LaunchSpec, PeerPlatform, registered
from tests.lti.test_launch_e2e import launch_data
from tests.processes import ServerProcess, started
from tests.realtime.harness import Client, Endpoint, Running, api, of_type
from tests.realtime.test_cluster_e2e import SECRET, Node
from tests.realtime.test_session_e2e import FILL_BLANK


@dataclass
class Link:
    """A placed assessment: its id, and its instructor's token from the launch."""

    assessment: str
    teacher: str

    async def grades(self, tool: Endpoint) -> list[dict[str, Any]]:
        """The link's scores, as its instructor sees them."""
        response = await api(
            tool, "GET", f"/api/assessments/{self.assessment}/grades", self.teacher
        )
        assert response.status_code == 200, response.text
        shown: list[dict[str, Any]] = response.json()["grades"]
        return shown


async def set_up(
    tool: Endpoint, platform: PeerPlatform, link: str = "link-1", **options: Any
) -> Link:
    """The instructor's launch, and the link's assessment saved through the API."""
    page = await launch(
        tool.base_url,
        platform,
        LaunchSpec(user_id="teacher-1", roles=[INSTRUCTOR], resource_link_id=link, grades=True),
    )
    data = launch_data(page.text)
    saved = await api(
        tool,
        "PUT",
        "/api/assessments",
        data["token"],
        {
            "platform_id": data["platformId"],
            "resource_link_id": link,
            "assessment_type": "fill_blank",
            "grading_schema": "mastery",
            "ai_config": {**FILL_BLANK, **options},
        },
    )
    assert saved.status_code == 200, saved.text
    return Link(saved.json()["id"], data["token"])


async def take(
    tool: Endpoint, platform: PeerPlatform, user: str, answers: list[str], link: str = "link-1"
) -> str:
    """A learner's launch and attempt, to completion; returns the conversation id."""
    page = await launch(
        tool.base_url, platform, LaunchSpec(user_id=user, resource_link_id=link, grades=True)
    )
    data = launch_data(page.text)
    client = await Client.connect(tool, data["conversationId"], data["token"])
    await client.until(of_type("welcome"))
    for number, answer in enumerate(answers, start=1):
        await client.send({"type": "send", "client_msg_id": f"{user}-{number}", "content": answer})
        await client.until(of_type("ack"))
    await client.send({"type": "complete"})
    await client.until(of_type("completed"))
    await client.close()
    conversation: str = data["conversationId"]
    return conversation


async def test_a_completion_sends_its_score_to_a_line_item_the_tool_makes(
    tool: Running, platform: PeerPlatform
) -> None:
    await set_up(tool, platform)
    await take(tool, platform, "student-1", ["Paris", "5", "4"])
    (score,) = await platform.gradebook.taken.until(1)
    (lineitem,) = platform.gradebook.lineitems.values()
    assert lineitem["resourceLinkId"] == "link-1" and lineitem["scoreMaximum"] == 100
    assert score["lineitem"] == lineitem["id"]
    assert score["userId"] == "student-1"
    assert (score["scoreGiven"], score["scoreMaximum"]) == (100, 100)
    assert (score["activityProgress"], score["gradingProgress"]) == ("Completed", "FullyGraded")
    assert "100% under mastery, passed" in score["comment"]
    assert score["timestamp"].endswith("+00:00")


async def test_scores_made_while_the_platform_is_down_arrive_once_and_the_newest_wins(
    tool: Running, platform: PeerPlatform
) -> None:
    outcomes = settled(tool)
    await set_up(tool, platform, new_attempt="automatic")  # a relaunch starts the next
    platform.gradebook.failing = "down"
    first = await take(tool, platform, "student-1", ["Lyon", "Marseille", "4"])  # 50%
    await take(tool, platform, "student-2", ["Paris", "4"])
    await take(tool, platform, "student-1", ["Paris", "4"])  # a second attempt: 100%
    # Each completion is tried as it comes (the platform answers 503) or, for the first
    # attempt once the second is waiting, superseded unsent.
    await platform.gradebook.requests.until(2)
    platform.gradebook.failing = None
    done = await outcomes.until(5)  # every row settled: sent, superseded, or retried
    by_outcome = sorted(outcome for _, outcome in done)
    assert by_outcome.count("sent") == 2 and by_outcome.count("superseded") == 1
    superseded = next(entry for entry, outcome in done if outcome == "superseded")
    assert superseded.conversation_id == first
    taken = platform.gradebook.taken.events
    assert sorted((s["userId"], s["scoreGiven"]) for s in taken) == [
        ("student-1", 100),
        ("student-2", 100),
    ]
    metrics = (await api(tool, "GET", "/metrics", None)).text
    assert 'tutorchat_grades_total{outcome="superseded"} 1.0' in metrics
    assert 'tutorchat_grades_total{outcome="sent"} 2.0' in metrics


async def test_a_score_set_by_hand_goes_to_the_gradebook_with_its_reason(
    tool: Running, platform: PeerPlatform
) -> None:
    link = await set_up(tool, platform)
    conversation = await take(tool, platform, "student-1", ["Lyon", "Marseille", "4"])
    (first,) = await platform.gradebook.taken.until(1)
    assert first["scoreGiven"] == 50
    answer = await api(
        tool,
        "POST",
        f"/api/conversations/{conversation}/score",
        link.teacher,
        {"score": 90, "reason": "Explained Paris in the oral"},
    )
    assert answer.status_code == 200, answer.text
    _, second = await platform.gradebook.taken.until(2)
    assert (second["userId"], second["scoreGiven"]) == ("student-1", 90)
    assert second["comment"] == "90%, set by the instructor: Explained Paris in the oral"


async def test_a_throttling_platform_gets_the_score_after_its_retry_after(
    tool: Running, platform: PeerPlatform
) -> None:
    outcomes = settled(tool)
    link = await set_up(tool, platform)
    platform.gradebook.failing = "throttle"
    await take(tool, platform, "student-1", ["Paris", "4"])
    ((_, outcome),) = await outcomes.until(1)
    assert outcome == "retry"
    (shown,) = await link.grades(tool)
    assert shown["status"] == "pending" and "HTTP 429" in shown["last_error"]
    platform.gradebook.failing = None
    assert (await outcomes.until(2))[1][1] == "sent"
    (score,) = platform.gradebook.taken.events
    assert score["scoreGiven"] == 100
    (shown,) = await link.grades(tool)
    assert shown["status"] == "sent" and shown["sent_at"] is not None


async def test_a_process_killed_mid_send_has_the_score_sent_by_the_next(
    database_url: str,
) -> None:
    """The score is on its way (the platform holds the request) when the process is
    killed; a new process sends it once the dead one's lease runs out."""
    env = {
        "DATABASE_URL": database_url,
        "TUTORCHAT_SECRET": SECRET,
        "TUTORCHAT_ADMIN_KEY": ADMIN_KEY,
        "TUTORCHAT_GRADE_LEASE_SECONDS": "2",
        "TUTORCHAT_HEARTBEAT_INTERVAL": "3600",
    }
    first = ServerProcess(env)
    async with started(first):
        node = Node(first)
        async with registered(node.base_url, ADMIN_KEY) as platform:
            await set_up(node, platform)
            platform.gradebook.failing = "hang"
            await take(node, platform, "student-1", ["Paris", "4"])
            await platform.gradebook.requests.until(1)  # mid-send
            await first.kill()
            platform.gradebook.failing = None
            platform.gradebook.released.set()
            second = ServerProcess(env)
            async with started(second):
                platform.tool_url = second.base_url  # where it fetches the tool's keys
                (score,) = await platform.gradebook.taken.until(1)
    assert (score["userId"], score["scoreGiven"]) == ("student-1", 100)
    assert len(platform.gradebook.taken.events) == 1


async def test_an_assessment_that_says_so_sends_a_score_after_every_graded_turn(
    tool: Running, platform: PeerPlatform
) -> None:
    await set_up(tool, platform, grade_each_turn=True)
    page = await launch(tool.base_url, platform, LaunchSpec(grades=True))
    data = launch_data(page.text)
    client = await Client.connect(tool, data["conversationId"], data["token"])
    await client.until(of_type("welcome"))
    await client.send({"type": "send", "client_msg_id": "t1", "content": "Paris"})
    (first,) = await platform.gradebook.taken.until(1)  # half done, in progress
    assert (first["activityProgress"], first["scoreGiven"]) == ("InProgress", 50)
    assert first["comment"].startswith("in progress: 50% under mastery")
    await client.send({"type": "send", "client_msg_id": "t2", "content": "4"})
    await client.until(of_type("completed"))
    await client.close()
    # The score after the last turn (in progress) may be superseded by the completion's
    # before it goes; the completion's arrives, and after every older one.
    taken = platform.gradebook.taken.events
    while taken[-1]["activityProgress"] != "Completed":
        taken = await platform.gradebook.taken.until(len(taken) + 1)
    assert (taken[-1]["scoreGiven"], taken[-1]["gradingProgress"]) == (100, "FullyGraded")
    stamps = [score["timestamp"] for score in taken]
    assert stamps == sorted(stamps)
