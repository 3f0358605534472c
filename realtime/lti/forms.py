"""The parameters of an LTI request: the query of a GET, the urlencoded body of a POST
(as OIDC's form_post sends them), each value bounded and free of NUL."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from realtime.lti.claims import LaunchRefused

__all__ = ["MAX_PARAMETER_CHARS", "parameters"]

# An id_token with a long roles claim and a few services is a few kilobytes; hints and
# URLs are shorter. The body as a whole is held to the server's body limit.
MAX_PARAMETER_CHARS = 64 * 1024
_FORM = "application/x-www-form-urlencoded"


async def parameters(request: Request) -> dict[str, str]:
    """The request's parameters (a POST's body over its query).

    Raises:
        LaunchRefused: a body that is not a form, or a value too long or with NUL.
    """
    found = dict(request.query_params)
    if request.method == "POST":
        kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if kind != _FORM:
            raise LaunchRefused(f"the request must be a form ({_FORM})")
        try:
            body = (await request.body()).decode()
        except UnicodeDecodeError:
            raise LaunchRefused("the form is not UTF-8") from None
        found.update(parse_qsl(body, keep_blank_values=True))
    for name, value in found.items():
        if "\x00" in name or "\x00" in value:
            raise LaunchRefused("the request's parameters must not contain NUL")
        if len(value) > MAX_PARAMETER_CHARS:
            raise LaunchRefused(f"the parameter {name[:40]!r} is too long")
    return found
