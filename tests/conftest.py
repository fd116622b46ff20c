"""Shared fixtures: the real repository, throwaway ones built in tmp_path, a fake index."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from buglab import model
from buglab.spec import scenario

ROOT = Path(__file__).resolve().parent.parent
SEED = "warnings-coverage-editable"
#: a snapshot of results/ (as measured on 2026-11-25): tests never read what the index serves
#: today or what the last run of the lab wrote
RESULTS = Path(__file__).resolve().parent / "data" / "results"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def seed() -> model.Scenario:
    return scenario.load(ROOT / "scenarios" / SEED / scenario.SCENARIO_FILE, ROOT)


def make_repo(tmp: Path, name: str, toml: str, files: dict[str, str] | None = None) -> Path:
    """A throwaway repository holding one scenario; returns its root."""
    folder = tmp / "scenarios" / name
    folder.mkdir(parents=True)
    (folder / scenario.SCENARIO_FILE).write_text(toml, encoding="utf-8")
    for relative, text in (files or {}).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp


@dataclass(frozen=True)
class FakeIndex:
    url: str
    asked: list[str]  # the projects asked for, in order


@contextmanager
def fake_index(
    pages: Mapping[str, Mapping[str, Any]], infos: Mapping[str, Mapping[str, Any]] | None = None
) -> Iterator[FakeIndex]:
    """A local index serving PEP 691 JSON ``pages`` by project name under ``/simple/`` and, as
    PyPI's JSON API does at ``/pypi/NAME/json``, each project's metadata ``infos`` (404 for any
    other), so its answers are fixed and no request leaves the machine."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            if parts[0] == "pypi" and len(parts) == 3 and parts[2] == "json":
                asked.append(f"pypi/{parts[1]}")
                self._answer((infos or {}).get(parts[1]), "info", "application/json")
                return
            name = parts[-1]
            asked.append(name)
            page = pages.get(name)
            self._answer({"name": name, **page} if page is not None else None, "", "")

        def _answer(self, data: Mapping[str, Any] | None, key: str, kind: str) -> None:
            if data is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind or "application/vnd.pypi.simple.v1+json")
            self.end_headers()
            self.wfile.write(json.dumps({key: data} if key else data).encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield FakeIndex(f"http://127.0.0.1:{server.server_address[1]}/simple", asked)
    finally:
        server.shutdown()
        server.server_close()
