"""The HTML page in a real browser: Debian's chromium, headless, as ``.ci/run`` installs it.

The page is written by ``buglab report`` beside its markdown, loaded from disk with every
network feature off, and checked on the DOM chromium rendered (cells, outcomes, links, the
trigger) and on a screenshot (not blank: the outcome colours are there).
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from buglab.cli import main
from buglab.lab import store
from tests.conftest import RESULTS, ROOT, SEED

pytestmark = pytest.mark.slow

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: html.COLOURS of reproduced and passed cells, as RGB
RED, GREEN = (0xF8, 0xC9, 0xC4), (0xD9, 0xF2, 0xD9)


def browser() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no chromium on this machine: .ci/run installs Debian's (apt-get install chromium)")


def chromium(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [browser(), *FLAGS, f"--user-data-dir={profile}", *argv],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


class Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict[str, str]] = []
        self.hrefs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "td" and "cell" in found.get("class", "").split():
            self.cells.append(found)
        if tag == "a" and "href" in found:
            self.hrefs.append(found["href"])

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``buglab report`` of the seed, the page beside the markdown in a copy of results/."""
    folder = tmp_path_factory.mktemp("report")
    shutil.copy(RESULTS / f"{SEED}.json", folder / f"{SEED}.json")
    out = folder / "comment" / f"{SEED}.md"
    code = main(["--root", str(ROOT), "report", SEED, "--results", str(folder), "--out", str(out)])
    assert code == 0
    html = out.with_suffix(".html")
    assert html.exists()
    return html


def test_the_rendered_dom_has_every_cell_its_outcome_and_the_trigger(
    page: Path, tmp_path: Path
) -> None:
    done = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = Dom()
    dom.feed(done.stdout)
    result = store.read(RESULTS / f"{SEED}.json")
    assert len(dom.cells) == len(result.cells) == 72
    assert Counter(td["data-outcome"] for td in dom.cells) == Counter(
        c.outcome.value for c in result.cells
    )
    assert {td["data-cell"] for td in dom.cells} == {c.id for c in result.cells}
    outlined = [td for td in dom.cells if "in-trigger" in td["class"].split()]
    assert len(outlined) == 10 and {td["data-outcome"] for td in outlined} == {"reproduced"}
    text = " ".join("".join(dom.text).split())
    assert "install ∈ {editable, non-editable} and warnings = on and coverage = on" in text
    assert "sqlalchemy ∈ {1.4, 2.0} and warnings = on and coverage = on" in text
    logs = [h for h in dom.hrefs if h.startswith("../logs/")]  # the page is one folder down
    assert len(logs) == 72
    assert f"../logs/{SEED}/{result.cells[0].id}.log" in logs


def test_the_screenshot_shows_the_coloured_matrix(page: Path, tmp_path: Path) -> None:
    from PIL import Image

    shot = tmp_path / "page.png"
    done = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,900", page.as_uri())
    assert shot.exists(), done.stderr[-2000:]
    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24) or []
    pixels = {colour: count for count, colour in colours}
    assert len(pixels) > 50, "a blank page"
    assert pixels.get(RED, 0) > 500 and pixels.get(GREEN, 0) > 500, "no outcome colours on screen"
