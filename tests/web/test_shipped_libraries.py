"""The libraries the server ships (KaTeX beside the widget, Chart.js beside the console)
are the registry's, byte for byte: the versions pinned in tests/web/package.json, which
``npm ci --prefix tests/web`` installs there."""

from __future__ import annotations

from pathlib import Path

from tests.required import unavailable

STATIC = Path(__file__).resolve().parents[2] / "realtime" / "web" / "static"
MODULES = Path(__file__).parent / "node_modules"


def _registry(package: str) -> Path:
    installed = MODULES / package
    if not installed.exists():
        unavailable(f"{package} from npm is not installed (npm ci --prefix tests/web)")
    return installed


def test_the_shipped_katex_is_the_registrys() -> None:
    registry = _registry("katex")
    shipped = STATIC / "widget" / "katex"
    for name in ("katex.min.js", "katex.min.css"):
        assert (shipped / name).read_bytes() == (registry / "dist" / name).read_bytes(), name
    assert (shipped / "LICENSE").read_bytes() == (registry / "LICENSE").read_bytes()
    fonts = {p.name: p.read_bytes() for p in (registry / "dist" / "fonts").glob("*.woff2")}
    assert {p.name: p.read_bytes() for p in (shipped / "fonts").iterdir()} == fonts


def test_the_shipped_chart_js_is_the_registrys() -> None:
    registry = _registry("chart.js")
    shipped = STATIC / "console"
    assert (shipped / "chart.umd.min.js").read_bytes() == (
        registry / "dist" / "chart.umd.min.js"
    ).read_bytes()
    assert (shipped / "chart.LICENSE.md").read_bytes() == (registry / "LICENSE.md").read_bytes()
