"""What a verified LTI 1.3 launch says, read from its id_token's claims.

The id_token's signature, issuer, audience, times and nonce are checked before this
(:mod:`realtime.lti.id_token`); here the LTI claims are: the version, the message type,
the deployment, the user, the roles, the resource link, and the optional context, grade
(AGS) and roster (NRPS) endpoints. A claim that is missing or of the wrong type refuses
the launch with a :class:`LaunchRefused` naming it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from persistence.schema import MAX_ID_CHARS
from realtime.lti.roles import map_roles

__all__ = ["LTI", "DeepLinking", "LaunchClaims", "LaunchRefused", "read_claims"]

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
VERSION = "1.3.0"
DEEP_LINKING = "https://purl.imsglobal.org/spec/lti-dl/claim/"
RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
MESSAGE_TYPES = frozenset({RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST})
MAX_CUSTOM = 50
# A launch without a context (a platform may place a tool outside any course) is a course
# of its own, named by its resource link.
NO_CONTEXT_PREFIX = "link:"


class LaunchRefused(Exception):
    """The launch cannot be accepted; the message says why, for the person launching."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DeepLinking:
    """A deep linking request's settings: where the tool's answer goes, and what the
    platform takes back."""

    return_url: str
    accept_types: frozenset[str]
    accept_multiple: bool
    data: str | None
    title: str | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LaunchClaims:
    """A launch's LTI claims, checked. A resource link launch has its
    ``resource_link_id``; a deep linking request has ``deep_linking`` instead."""

    message_type: str
    deployment_id: str
    user_id: str
    roles: frozenset[str]
    resource_link_id: str | None
    resource_link_title: str | None
    deep_linking: DeepLinking | None
    custom: dict[str, str]
    course_id: str
    course_title: str | None
    name: str | None
    lineitem_url: str | None
    lineitems_url: str | None
    ags_scopes: list[str] | None
    memberships_url: str | None
    return_url: str | None

    def to_json(self) -> dict[str, Any]:
        """The claims as JSON (to carry a checked launch across a confirmation)."""
        shown = dataclasses.asdict(self)
        shown["roles"] = sorted(self.roles)
        if self.deep_linking is not None:
            shown["deep_linking"]["accept_types"] = sorted(self.deep_linking.accept_types)
        return shown

    @classmethod
    def from_json(cls, shown: Mapping[str, Any]) -> LaunchClaims:
        """The claims :meth:`to_json` gave (from a token this server signed)."""
        values = dict(shown)
        values["roles"] = frozenset(values["roles"])
        linking = values.get("deep_linking")
        if linking is not None:
            values["deep_linking"] = DeepLinking(
                **{**linking, "accept_types": frozenset(linking["accept_types"])}
            )
        return cls(**values)


def read_claims(claims: Mapping[str, Any]) -> LaunchClaims:
    """The LTI claims of a resource link launch or a deep linking request.

    Raises:
        LaunchRefused: a required claim is missing or wrong.
    """
    version = claims.get(LTI + "version")
    if version is None:
        raise LaunchRefused("the launch has no LTI version claim")
    if version != VERSION:
        raise LaunchRefused(f"the launch is LTI version {_shown(version)}; this tool speaks 1.3.0")
    message_type = claims.get(LTI + "message_type")
    if message_type is None:
        raise LaunchRefused("the launch has no message_type claim")
    if message_type not in MESSAGE_TYPES:
        raise LaunchRefused(f"this tool does not take {_shown(message_type)} messages")
    if not isinstance(claims.get(LTI + "target_link_uri"), str):
        raise LaunchRefused("the launch has no target_link_uri claim")
    roles = claims.get(LTI + "roles")
    if roles is None:
        raise LaunchRefused("the launch has no roles claim")
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise LaunchRefused("the roles claim must be a list of role URIs")
    context = claims.get(LTI + "context")
    if context is not None and not isinstance(context, Mapping):
        raise LaunchRefused("the context claim must be an object")
    resource_link_id, link_title, deep_linking = None, None, None
    if message_type == RESOURCE_LINK_REQUEST:
        link = claims.get(LTI + "resource_link")
        if not isinstance(link, Mapping):
            raise LaunchRefused("the launch has no resource_link claim")
        resource_link_id = _id(link.get("id"), "resource_link.id")
        link_title = _text(link.get("title"))
    else:
        deep_linking = _deep_linking(claims)
        if context is None:
            raise LaunchRefused("a deep linking request must come from a course (context)")
    ags = _object(claims.get(AGS_ENDPOINT))
    nrps = _object(claims.get(NRPS))
    scopes = ags.get("scope")
    return LaunchClaims(
        message_type=message_type,
        deployment_id=_id(claims.get(LTI + "deployment_id"), "deployment_id"),
        user_id=_id(claims.get("sub"), "sub"),
        roles=map_roles(roles),
        resource_link_id=resource_link_id,
        resource_link_title=link_title,
        deep_linking=deep_linking,
        custom=_custom(claims.get(LTI + "custom")),
        course_id=(
            _id(context.get("id"), "context.id")
            if context is not None
            else NO_CONTEXT_PREFIX + str(resource_link_id)
        ),
        course_title=_text(context.get("title")) if context is not None else None,
        name=_name(claims),
        lineitem_url=_text(ags.get("lineitem")),
        lineitems_url=_text(ags.get("lineitems")),
        ags_scopes=[s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else None,
        memberships_url=_text(nrps.get("context_memberships_url")),
        return_url=_text(_object(claims.get(LTI + "launch_presentation")).get("return_url")),
    )


def _deep_linking(claims: Mapping[str, Any]) -> DeepLinking:
    settings = claims.get(DEEP_LINKING + "deep_linking_settings")
    if not isinstance(settings, Mapping):
        raise LaunchRefused("the deep linking request has no deep_linking_settings claim")
    return_url = settings.get("deep_link_return_url")
    if not isinstance(return_url, str) or not return_url.startswith(("https://", "http://")):
        raise LaunchRefused("the deep linking request has no deep_link_return_url")
    types = settings.get("accept_types")
    accepted = (
        frozenset(t for t in types if isinstance(t, str))
        if isinstance(types, list)
        else frozenset()
    )
    if "ltiResourceLink" not in accepted:
        raise LaunchRefused("the platform does not accept an LTI resource link back")
    return DeepLinking(
        return_url=return_url,
        accept_types=accepted,
        accept_multiple=settings.get("accept_multiple") is not False,
        data=_text(settings.get("data")),
        title=_text(settings.get("title")),
    )


def _custom(value: object) -> dict[str, str]:
    """The custom parameters (strings only, a bounded few)."""
    if not isinstance(value, Mapping):
        return {}
    found = {}
    for name, item in list(value.items())[:MAX_CUSTOM]:
        text = _text(item)
        if isinstance(name, str) and text is not None:
            found[name[:MAX_ID_CHARS]] = text
    return found


def _id(value: object, claim: str) -> str:
    if value is None or value == "":
        raise LaunchRefused(f"the launch has no {claim} claim")
    if not isinstance(value, str):
        raise LaunchRefused(f"the {claim} claim must be a string")
    if "\x00" in value or len(value) > MAX_ID_CHARS:
        raise LaunchRefused(f"the {claim} claim must be at most {MAX_ID_CHARS} characters, no NUL")
    return value


def _text(value: object) -> str | None:
    """An optional string claim; anything else is ignored (it is only shown)."""
    if not isinstance(value, str) or "\x00" in value:
        return None
    return value[: MAX_ID_CHARS * 4]


def _object(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _name(claims: Mapping[str, Any]) -> str | None:
    """The user's name as the platform gives it, if it does (none is needed)."""
    given = " ".join(
        part for part in (_text(claims.get("given_name")), _text(claims.get("family_name"))) if part
    )
    return _text(claims.get("name")) or given or _text(claims.get("email"))


def _shown(value: object) -> str:
    return repr(value)[:80]
