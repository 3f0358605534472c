"""axe-core (from npm, tests/web/package.json) run in a page or a frame: the page's
accessibility violations, as a list a test can assert empty and read when it is not.

Installed by ``npm ci --prefix tests/web`` (``.ci/run`` does it). Without it the tests
that use it skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Frame, Page

from tests.required import unavailable

__all__ = ["AXE", "checked", "violations"]

RESULTS = Path(__file__).resolve().parents[2] / "test-results"
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, and the best practices axe checks besides.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def require_axe() -> Path:
    if not AXE.exists():
        unavailable("axe-core is not installed (npm ci --prefix tests/web)")
    return AXE


async def violations(where: Page | Frame) -> list[str]:
    """Each violation as ``rule (impact): the first offending element``. The page's
    context must bypass its Content Security Policy (the checker is injected)."""
    await where.add_script_tag(path=require_axe())
    found: list[dict[str, Any]] = await where.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(result => result.violations)",
        TAGS,
    )
    return [
        f"{v['id']} ({v['impact']}): {v['nodes'][0]['html'][:120] if v['nodes'] else ''}"
        for v in found
    ]


async def checked(page: Page, state: str) -> None:
    """axe in light and in dark, with a screenshot of each in test-results/:
    ``<state>-<desktop|phone>[-dark].png``."""
    size = "desktop" if (page.viewport_size or {"width": 0})["width"] >= 1000 else "phone"
    RESULTS.mkdir(exist_ok=True)
    found: list[str] = []
    for scheme in ("light", "dark"):
        await page.emulate_media(color_scheme=scheme)
        found += [f"{scheme}: {v}" for v in await violations(page)]
        suffix = "-dark" if scheme == "dark" else ""
        await page.screenshot(path=RESULTS / f"{state}-{size}{suffix}.png", full_page=True)
    await page.emulate_media(color_scheme="light")
    assert found == [], "\n".join(found)
