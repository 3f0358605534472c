"""LTI roles, as this server reads them: who is an instructor, who a learner.

A launch's roles claim holds role URIs (LIS vocabulary) of three kinds: roles in the
context (the course), which decide when there are any; institution roles; and system
roles. Context roles may come in the short form LTI 1.3 still allows ("Instructor" for
``http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor``), and with a sub-role
(``.../membership/Instructor#TeachingAssistant``), which carries its principal role.

Instructors are the course's instructors, administrators, content developers and managers,
teaching assistants included. Everyone else (learners, mentors, members, guests, an
unknown role, no role) launches as a learner: they take the assessment in their own
name, and see no one else's data.
"""

from __future__ import annotations

from collections.abc import Iterable

from realtime.auth import INSTRUCTOR, LEARNER

__all__ = ["map_roles"]

_CONTEXT = "http://purl.imsglobal.org/vocab/lis/v2/membership"
_INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person"
_SYSTEM = "http://purl.imsglobal.org/vocab/lis/v2/system/person"

_TEACHING_CONTEXT_ROLES = frozenset({"Instructor", "Administrator", "ContentDeveloper", "Manager"})
# Without any context role, an institution's teaching staff or a system administrator
# (a platform admin opening a course) is an instructor.
_TEACHING_INSTITUTION_ROLES = frozenset({"Instructor", "Faculty", "Administrator"})
_TEACHING_SYSTEM_ROLES = frozenset({"Administrator", "SysAdmin"})


def map_roles(claimed: Iterable[str]) -> frozenset[str]:
    """This server's roles for a launch's role URIs: ``Instructor``, else ``Learner``."""
    context: set[str] = set()
    institution: set[str] = set()
    system: set[str] = set()
    for role in claimed:
        kind, name = _read(role)
        {"context": context, "institution": institution, "system": system}.get(kind, set()).add(
            name
        )
    if context:
        teaching = bool(context & _TEACHING_CONTEXT_ROLES)
    else:
        teaching = bool(
            institution & _TEACHING_INSTITUTION_ROLES or system & _TEACHING_SYSTEM_ROLES
        )
    return frozenset({INSTRUCTOR if teaching else LEARNER})


def _read(role: str) -> tuple[str, str]:
    """(kind, principal role) of one role: ``("context", "Instructor")``."""
    for prefix, kind in ((_CONTEXT, "context"), (_INSTITUTION, "institution"), (_SYSTEM, "system")):
        if role.startswith(prefix):
            rest = role[len(prefix) :]
            # "#Instructor", or a sub-role "/Instructor#TeachingAssistant".
            if rest.startswith("#"):
                return kind, rest[1:]
            if rest.startswith("/"):
                return kind, rest[1:].partition("#")[0]
            return "unknown", role
    if ":" not in role and "/" not in role:  # a short context role
        return "context", role
    return "unknown", role
