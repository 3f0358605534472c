"""The tool's keys: made on first use, published at /lti/jwks, rotated with the old key
kept published for a day, and what they sign verifies with what is published."""

from __future__ import annotations

from datetime import timedelta

import httpx
import jwt
from jwt import PyJWKSet

from persistence.store import Store
from realtime.lti.signing import RETIRED_KEY_KEPT, ToolSigner, rotate
from tests.limits import TIMEOUT
from tests.realtime.harness import Running


async def test_the_first_key_is_made_on_first_use_and_signs(store: Store) -> None:
    signer = ToolSigner(store.tool_keys)
    token = await signer.sign({"iss": "tool", "aud": "platform"})
    published = PyJWKSet.from_dict(await signer.key_set())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in published.keys if k.key_id == kid)
    assert jwt.decode(token, key.key, algorithms=["RS256"], audience="platform")["iss"] == "tool"
    assert await signer.key_set() == await ToolSigner(store.tool_keys).key_set()  # one key


async def test_a_rotation_signs_with_the_new_key_and_keeps_the_old_one_published(
    store: Store,
) -> None:
    signer = ToolSigner(store.tool_keys)
    old = await signer.key()
    new = await rotate(store.tool_keys)
    assert (await ToolSigner(store.tool_keys).key()).kid == new.kid
    published = {key["kid"] for key in (await signer.key_set())["keys"]}
    assert published == {old.kid, new.kid}
    later = await store.tool_keys.published(
        kept=RETIRED_KEY_KEPT, now=new.created_at + RETIRED_KEY_KEPT + timedelta(seconds=1)
    )
    assert [key.kid for key in later] == [new.kid]


async def test_retired_keys_are_forgotten_after_a_day(store: Store) -> None:
    await ToolSigner(store.tool_keys).key()
    newest = await rotate(store.tool_keys)
    forgotten = await store.tool_keys.forget_retired(
        kept=RETIRED_KEY_KEPT, now=newest.created_at + RETIRED_KEY_KEPT
    )
    assert forgotten == 1


async def test_the_key_set_is_served_with_public_keys_only(run: Running) -> None:
    async with httpx.AsyncClient(base_url=run.base_url, timeout=TIMEOUT) as client:
        response = await client.get("/lti/jwks")
    assert response.status_code == 200
    assert "max-age" in response.headers["cache-control"]
    (key,) = response.json()["keys"]
    assert {"kty", "n", "e", "kid", "alg", "use"} == set(key)  # no private part (d, p, q)
