"""Helpers shared by the browser tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
MOBILE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def shoot(page: Any, folder: Path, name: str) -> None:
    """Full-page screenshots at 390 px and 1280 px wide, then back to the current size."""
    size = page.viewport_size
    for label, viewport in (("390", MOBILE), ("1280", DESKTOP)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(size)


def log_in(page: Any, phone: str, password: str, next_path: str = "/") -> None:
    """Sign in through the form and wait for the page it sends us to."""
    page.goto("/login?next=" + next_path)
    page.fill("#phone", phone)
    page.fill("#password", password)
    page.click("#login")
    page.wait_for_url("**" + next_path)
