"""``tutorchat lti ...``: the operator's commands for LTI, on the database directly
(``DATABASE_URL``), with the server running or not."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from persistence.database import database_url_from_env
from persistence.errors import NotFound
from persistence.store import Store, open_store
from realtime.keys import minting_secret
from realtime.lti.dynamic_registration import registration_url
from realtime.lti.registry import InvalidRegistration, Registration, described, register
from realtime.lti.signing import rotate
from realtime.settings import Settings

__all__ = ["add_lti_commands"]


def add_lti_commands(commands: Any) -> None:
    """Add ``lti`` and its subcommands to the ``tutorchat`` parser's subcommands."""
    lti = commands.add_parser("lti", help="register LTI platforms, rotate the tool's key")
    lti.add_argument("--database-url", default=None, help="default: $DATABASE_URL")
    actions = lti.add_subparsers(required=True, metavar="ACTION")

    add = actions.add_parser("register", help="register a platform (an LMS), or update it")
    add.add_argument("--issuer", required=True, help="the platform's issuer (iss)")
    add.add_argument("--client-id", required=True, help="the tool's client id on the platform")
    add.add_argument(
        "--deployment-id", action="append", default=[], help="repeatable: its deployments"
    )
    add.add_argument("--auth-login-url", required=True, help="the OIDC authorization endpoint")
    add.add_argument("--auth-token-url", required=True, help="the OAuth 2 token endpoint")
    add.add_argument("--jwks-url", required=True, help="the platform's public key set")
    add.add_argument(
        "--token-audience", default=None, help="the token endpoint's aud, if not its URL"
    )
    add.add_argument(
        "--id", default=None, help="the tenant's platform id (default: the issuer's host)"
    )
    add.set_defaults(action=_register)

    deployment = actions.add_parser("add-deployment", help="add a deployment to a platform")
    deployment.add_argument("platform", help="the platform id")
    deployment.add_argument("deployment_id")
    deployment.set_defaults(action=_add_deployment)

    listing = actions.add_parser("platforms", help="the registered platforms, as JSON")
    listing.set_defaults(action=_platforms)

    remove = actions.add_parser("remove", help="unregister a platform (its courses' data stays)")
    remove.add_argument("platform", help="the platform id")
    remove.set_defaults(action=_remove)

    link = actions.add_parser(
        "registration-url",
        help="a link a platform's administrator gives the LMS (LTI Dynamic Registration)",
    )
    link.add_argument(
        "--url", default=None, help="the server's public address (default: $TUTORCHAT_PUBLIC_URL)"
    )
    link.add_argument("--hours", type=float, default=24.0, help="validity (default: 24)")
    link.set_defaults(run=_registration_url)

    keys = actions.add_parser(
        "rotate-key", help="make a new signing key; the old one stays published for a day"
    )
    keys.set_defaults(action=_rotate_key)
    lti.set_defaults(run=_run)


def _registration_url(args: argparse.Namespace) -> int:
    base = args.url or Settings.from_env().public_url
    if not base:
        sys.stderr.write("tutorchat lti: give --url (or set TUTORCHAT_PUBLIC_URL)\n")
        return 2
    secret = minting_secret()
    if secret is None:
        return 2
    print(registration_url(secret, base, lifetime=timedelta(hours=args.hours)))
    return 0


def _run(args: argparse.Namespace) -> int:
    action: Callable[[Store, argparse.Namespace], Awaitable[Any]] = args.action

    async def run() -> Any:
        async with open_store(database_url_from_env(args.database_url)) as store:
            return await action(store, args)

    try:
        shown = asyncio.run(run())
    except (InvalidRegistration, NotFound) as wrong:
        sys.stderr.write(f"tutorchat lti: {wrong}\n")
        return 2
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    return 0


async def _register(store: Store, args: argparse.Namespace) -> Any:
    platform = await register(
        store,
        Registration(
            issuer=args.issuer,
            client_id=args.client_id,
            auth_login_url=args.auth_login_url,
            auth_token_url=args.auth_token_url,
            jwks_url=args.jwks_url,
            token_audience=args.token_audience,
            deployment_ids=tuple(args.deployment_id),
            platform_id=args.id,
        ),
    )
    return described(platform, await store.platforms.deployments(platform.id))


async def _add_deployment(store: Store, args: argparse.Namespace) -> Any:
    await store.platforms.add_deployment(args.platform, args.deployment_id)
    platform = await store.platforms.get(args.platform)
    return described(platform, await store.platforms.deployments(platform.id))


async def _platforms(store: Store, args: argparse.Namespace) -> Any:
    return [
        described(platform, await store.platforms.deployments(platform.id))
        for platform in await store.platforms.all()
    ]


async def _remove(store: Store, args: argparse.Namespace) -> Any:
    await store.platforms.remove(args.platform)
    return {"removed": args.platform}


async def _rotate_key(store: Store, args: argparse.Namespace) -> Any:
    key = await rotate(store.tool_keys)
    return {"kid": key.kid, "created_at": key.created_at.isoformat()}
