"""The KaTeX the server ships beside the widget is the registry's, byte for byte: the
version pinned in tests/web/package.json (npm ci installs it there)."""

from __future__ import annotations

from pathlib import Path

from tests.required import unavailable

SHIPPED = Path(__file__).resolve().parents[2] / "realtime" / "web" / "static" / "widget" / "katex"
REGISTRY = Path(__file__).parent / "node_modules" / "katex" / "dist"


def test_the_shipped_katex_is_the_registrys() -> None:
    if not REGISTRY.exists():
        unavailable("KaTeX from npm is not installed (npm ci --prefix tests/web)")
    shipped = sorted(p.relative_to(SHIPPED) for p in SHIPPED.rglob("*") if p.is_file())
    assert {str(p) for p in shipped} >= {"katex.min.js", "katex.min.css", "LICENSE"}
    for path in shipped:
        source = REGISTRY.parent / path if path.name == "LICENSE" else REGISTRY / path
        assert (SHIPPED / path).read_bytes() == source.read_bytes(), path
    fonts = {p.name for p in (REGISTRY / "fonts").glob("*.woff2")}
    assert {p.name for p in (SHIPPED / "fonts").iterdir()} == fonts
