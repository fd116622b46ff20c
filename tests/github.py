"""A local stand-in for GitHub's REST API: the issue-comment endpoints the lab uses, over real
HTTP on 127.0.0.1, with GitHub's status codes, headers and pagination.

- ``GET /repos/O/R/issues/N/comments`` (``per_page``, ``page``, a ``Link`` header to the next
  page), ``POST`` to the same path (201), ``PATCH /repos/O/R/issues/comments/ID`` (200);
- ``Authorization: Bearer TOKEN`` is checked (401 ``Bad credentials`` otherwise);
- an issue that does not exist is 404; a body over 65,536 characters is 422;
- ``fail`` makes the next requests answer with a given status and headers (403, a rate limit,
  ...); ``drop_next_post`` creates the comment and then closes the connection unanswered.

``python -m tests.github [PORT]`` serves one on its own, printing each comment it receives,
for trying ``watch`` and ``report --post`` by hand.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "ghp_test_0123456789abcdefTOKEN"
LIMIT = 65_536
#: GitHub Enterprise serves the same paths under /api/v3
LIST = re.compile(r"(?:/api/v3)?/repos/([^/]+)/([^/]+)/issues/(\d+)/comments\Z")
ONE = re.compile(r"(?:/api/v3)?/repos/([^/]+)/([^/]+)/issues/comments/(\d+)\Z")


@dataclass
class Failure:
    """The answer to the next request (of ``method``, when given) instead of the real one."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    method: str = ""


@dataclass
class Request:
    method: str
    path: str
    authorization: str
    body: dict[str, Any] | None


@dataclass
class FakeGitHub:
    """What the server holds and saw; tests change ``fail`` and read the rest."""

    url: str = ""
    token: str = TOKEN
    issues: set[tuple[str, str, int]] = field(default_factory=set)
    comments: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    fail: list[Failure] = field(default_factory=list)  # answered first, in order
    drop_next_post: bool = False
    per_page_cap: int = 100
    login: str = "buglab-bot"
    echo: bool = False  # print each comment received (by hand, python -m tests.github)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on(self, issue: str) -> list[dict[str, Any]]:
        """The comments of ``owner/repo#n``, oldest first."""
        owner, rest = issue.split("/", 1)
        repo, number = rest.split("#")
        return [c for c in self.comments if c["issue"] == (owner, repo, int(number))]

    def methods(self) -> list[str]:
        return [r.method for r in self.requests]


def _handler(state: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, status: int, data: object, headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            parts = urlsplit(self.path)
            with state.lock:
                state.requests.append(
                    Request(method, self.path, self.headers.get("Authorization", ""), body)
                )
                failing = [f for f in state.fail if f.method in ("", method)]
                if failing:
                    state.fail.remove(failing[0])
                    self._answer(failing[0].status, failing[0].body, failing[0].headers)
                    return
                if self.headers.get("Authorization") != f"Bearer {state.token}":
                    self._answer(401, {"message": "Bad credentials", "status": "401"})
                    return
                self._route(method, parts.path, parse_qs(parts.query), body)

        def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> None:
            listing, one = LIST.match(path), ONE.match(path)
            if listing and method in ("GET", "POST"):
                key = (listing[1], listing[2], int(listing[3]))
                if key not in state.issues:
                    self._answer(404, {"message": "Not Found", "status": "404"})
                elif method == "GET":
                    self._list(path, key, query)
                else:
                    self._create(key, body)
                return
            if one and method == "PATCH":
                found = [c for c in state.comments if c["id"] == int(one[3])]
                if not found or found[0]["issue"][:2] != (one[1], one[2]):
                    self._answer(404, {"message": "Not Found", "status": "404"})
                    return
                if not self._valid(body):
                    return
                found[0]["body"] = body["body"]
                if state.echo:
                    print(f"--- comment {found[0]['id']} updated:\n{body['body']}")
                    sys.stdout.flush()
                self._answer(200, self._shown(found[0]))
                return
            self._answer(404, {"message": "Not Found", "status": "404"})

        def _list(self, path: str, key: tuple[str, str, int], query: dict[str, list[str]]) -> None:
            per_page = min(int(query.get("per_page", ["30"])[0]), state.per_page_cap)
            page = int(query.get("page", ["1"])[0])
            mine = [c for c in state.comments if c["issue"] == key]
            shown = mine[(page - 1) * per_page : page * per_page]
            headers = {}
            if page * per_page < len(mine):
                headers["Link"] = (
                    f'<{state.url}{path}?per_page={per_page}&page={page + 1}>; rel="next"'
                )
            self._answer(200, [self._shown(c) for c in shown], headers)

        def _valid(self, body: Any) -> bool:
            text = body.get("body") if isinstance(body, dict) else None
            if not isinstance(text, str) or not text:
                self._answer(
                    422,
                    {
                        "message": "Validation Failed",
                        "errors": [
                            {"resource": "IssueComment", "code": "missing_field", "field": "body"}
                        ],
                    },
                )
                return False
            if len(text.encode("utf-16-le")) // 2 > LIMIT:
                self._answer(
                    422,
                    {
                        "message": "Validation Failed",
                        "errors": [
                            {
                                "resource": "IssueComment",
                                "code": "custom",
                                "field": "body",
                                "message": f"body is too long (maximum is {LIMIT} characters)",
                            }
                        ],
                    },
                )
                return False
            return True

        def _create(self, key: tuple[str, str, int], body: Any) -> None:
            if not self._valid(body):
                return
            number = 1000 + len(state.comments) + 1
            comment = {"id": number, "issue": key, "body": body["body"], "user": state.login}
            state.comments.append(comment)
            if state.echo:
                print(f"--- comment {number} on {key[0]}/{key[1]}#{key[2]}:\n{body['body']}")
                sys.stdout.flush()
            if state.drop_next_post:
                state.drop_next_post = False
                self.close_connection = True
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)  # created, but the answer is lost
                return
            self._answer(201, self._shown(comment))

        def _shown(self, comment: dict[str, Any]) -> dict[str, Any]:
            owner, repo, number = comment["issue"]
            return {
                "id": comment["id"],
                "url": f"{state.url}/repos/{owner}/{repo}/issues/comments/{comment['id']}",
                "html_url": f"https://github.example/{owner}/{repo}/issues/{number}"
                f"#issuecomment-{comment['id']}",
                "body": comment["body"],
                "user": {"login": comment["user"], "type": "Bot"},
            }

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

    return Handler


@contextmanager
def fake_github(*issues: str, token: str = TOKEN) -> Iterator[FakeGitHub]:
    """A server holding ``issues`` (``owner/repo#n``), each with no comment yet."""
    state = FakeGitHub(token=token)
    for issue in issues:
        owner, rest = issue.split("/", 1)
        repo, number = rest.split("#")
        state.issues.add((owner, repo, int(number)))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:  # pragma: no cover - by hand
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    state = FakeGitHub(echo=True)
    state.issues.add(("buglab-demo", "upstream", 1))
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(state))
    state.url = f"http://127.0.0.1:{port}"
    print(f"fake GitHub API at {state.url}, issue buglab-demo/upstream#1, token {TOKEN}")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
