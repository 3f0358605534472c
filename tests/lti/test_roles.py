"""LTI role URIs, read as a course reads them."""

from __future__ import annotations

import pytest

from realtime.auth import INSTRUCTOR, LEARNER
from realtime.lti.roles import map_roles

CONTEXT = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
SYSTEM = "http://purl.imsglobal.org/vocab/lis/v2/system/person#"


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        ([CONTEXT + "Instructor"], INSTRUCTOR),
        ([CONTEXT + "Learner"], LEARNER),
        (["Instructor"], INSTRUCTOR),  # the short form of a context role
        (["Learner"], LEARNER),
        ([CONTEXT + "ContentDeveloper"], INSTRUCTOR),
        ([CONTEXT + "Administrator"], INSTRUCTOR),
        (
            ["http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"],
            INSTRUCTOR,
        ),
        (["http://purl.imsglobal.org/vocab/lis/v2/membership/Learner#Learner"], LEARNER),
        ([CONTEXT + "Mentor"], LEARNER),
        ([CONTEXT + "Learner", CONTEXT + "Instructor"], INSTRUCTOR),
        ([INSTITUTION + "Faculty"], INSTRUCTOR),  # no context role: the institution's
        ([INSTITUTION + "Student"], LEARNER),
        ([SYSTEM + "Administrator"], INSTRUCTOR),
        # A context role decides: staff of the institution enrolled as a learner is one.
        ([INSTITUTION + "Instructor", CONTEXT + "Learner"], LEARNER),
        (["http://example.edu/roles#Wizard"], LEARNER),
        ([], LEARNER),
        ([CONTEXT + "Instructorish"], LEARNER),
    ],
)
def test_roles(roles: list[str], expected: str) -> None:
    assert map_roles(roles) == {expected}
