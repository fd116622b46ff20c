"""The comment on the upstream issue: posted once, then updated in place, through GitHub's REST
API (github.com, or GitHub Enterprise with ``--api-url``).

The lab's comment for a scenario starts with a hidden marker (an HTML comment naming the
scenario); posting again finds it among the issue's comments and updates it instead of adding
another, and sends nothing when its text is already the same. A request that fails is never
retried: a POST whose answer was lost may have created the comment, and the next run finds it by
its marker. Every failure is one :class:`PostError` line that never holds the token.

Three endpoints with JSON bodies need no client library: the standard library's ``urllib``
brings proxies and the system's certificates; PyGithub or requests would add dependencies and
retries of their own (a retried POST is a second comment).
"""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import json
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from buglab import __version__, model
from buglab.errors import BuglabError
from buglab.report import templates

GITHUB_API = "https://api.github.com"
API_VERSION = "2022-11-28"
PER_PAGE = 100
MAX_PAGES = 50  # 5,000 comments: a thread longer than that is not searched further
TIMEOUT = 30.0  # seconds per request
TOKEN_VARIABLES = ("GH_TOKEN", "GITHUB_TOKEN")
#: the variables the GitHub CLI reads for a GitHub Enterprise host
ENTERPRISE_TOKEN_VARIABLES = ("GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN")


class PostError(BuglabError):
    """A comment that could not be posted (or looked for); the CLI prints it as one line."""


@dataclass(frozen=True)
class Token:
    """A token and where it came from; only ``source`` is ever shown."""

    value: str = field(repr=False)
    source: str  # "GH_TOKEN", "GITHUB_TOKEN", "gh auth token"


@dataclass(frozen=True)
class Posted:
    action: str  # "created", "updated" or "unchanged" (nothing sent)
    url: str  # the comment on GitHub


def marker(scenario: str) -> str:
    """The hidden first line that makes a comment the lab's own for ``scenario``."""
    return f"<!-- buglab: scenario {scenario} -->"


def with_marker(scenario: str, text: str) -> str:
    return f"{marker(scenario)}\n{text}"


def parse_issue(text: str, option: str = "--post") -> model.IssueRef:
    try:
        return model.IssueRef.parse(text)
    except ValueError as exc:
        raise PostError(f"{option} {exc}") from None


# -- where to, and with which token ----------------------------------------------------------


def api_url(given: str | None, caller: Mapping[str, str]) -> str:
    """``--api-url``; else Actions' ``GITHUB_API_URL``; else the GitHub CLI's host (``GH_HOST``);
    else github.com. The token goes only over https, or plain http to this machine."""
    url = given or caller.get("GITHUB_API_URL") or ""
    host = caller.get("GH_HOST", "")
    if not url and host and host not in ("github.com", "api.github.com"):
        url = f"https://{host}/api/v3"
    url = (url or GITHUB_API).rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise PostError(f"--api-url {url!r}: expected https://HOST[/api/v3]")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise PostError(
            f"--api-url {url!r}: the token would cross the network unencrypted; use https"
        )
    return url


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def web_host(api: str) -> str:
    """The host the GitHub CLI knows the API by: github.com for api.github.com."""
    host = urllib.parse.urlsplit(api).hostname or ""
    return "github.com" if host == "api.github.com" else host


def find_token(caller: Mapping[str, str], api: str) -> Token | None:
    """``GH_TOKEN``, ``GITHUB_TOKEN`` (and for an Enterprise host the CLI's enterprise
    variables), else what ``gh auth token`` prints for the API's host; None when none is set."""
    host = web_host(api)
    names: tuple[str, ...] = TOKEN_VARIABLES
    if host != "github.com":
        names = (*ENTERPRISE_TOKEN_VARIABLES, *TOKEN_VARIABLES)
    for name in names:
        value = caller.get(name, "").strip()
        if value:
            return Token(value, name)
    try:
        found = subprocess.run(
            ["gh", "auth", "token", "--hostname", host],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
            env=dict(caller),
        )
    except (OSError, subprocess.TimeoutExpired):
        return None  # no GitHub CLI, or it hung: as if it had no token
    value = found.stdout.strip()
    if found.returncode != 0 or not value or any(c.isspace() for c in value):
        return None
    return Token(value, "gh auth token")


def need_token(caller: Mapping[str, str], api: str) -> Token:
    token = find_token(caller, api)
    if token is None:
        raise PostError(
            f"no GitHub token: set GH_TOKEN (or GITHUB_TOKEN), or log in with `gh auth login "
            f"--hostname {web_host(api)}`; nothing was posted"
        )
    return token


# -- the REST API ----------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is reported, never followed: the token must not go to another address."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: Message
    data: Any


class GitHub:
    """The three endpoints the lab uses: list, create and update an issue's comments."""

    def __init__(self, api: str, token: Token) -> None:
        self.api = api
        self.token = token
        self.opener = urllib.request.build_opener(_NoRedirect)

    def comments_url(self, issue: model.IssueRef) -> str:
        owner, repo = (urllib.parse.quote(p, safe="") for p in (issue.owner, issue.repo))
        return f"{self.api}/repos/{owner}/{repo}/issues/{issue.number}/comments"

    def find(self, issue: model.IssueRef, first_line: str) -> dict[str, Any] | None:
        """The oldest comment on the issue whose first line is ``first_line``."""
        url: str | None = f"{self.comments_url(issue)}?per_page={PER_PAGE}"
        for _ in range(MAX_PAGES):
            if url is None:
                break
            answer = self._send("GET", url, None, issue)
            if not isinstance(answer.data, list):
                # a proxy's page, say: nothing is known, and a POST could be a second comment
                raise PostError(
                    f"{self.api} answered the look-up for {issue}'s comments with something "
                    "that is not a list of comments; nothing was posted"
                )
            for item in answer.data:
                body = str(item.get("body") or "") if isinstance(item, dict) else ""
                if body.split("\n", 1)[0].rstrip("\r") == first_line:
                    return dict(item)
            url = self._next_page(answer.headers)
        if url is not None:
            raise PostError(
                f"{issue} has more than {MAX_PAGES * PER_PAGE:,} comments: not all were searched "
                "for the lab's own; nothing was posted"
            )
        return None

    def create(self, issue: model.IssueRef, body: str) -> dict[str, Any]:
        made = self._send("POST", self.comments_url(issue), body, issue).data
        return dict(made) if isinstance(made, dict) else {}

    def update(self, issue: model.IssueRef, comment: Mapping[str, Any], body: str) -> None:
        url = str(comment.get("url") or "")
        if not self._ours(url):
            owner, repo = (urllib.parse.quote(p, safe="") for p in (issue.owner, issue.repo))
            url = f"{self.api}/repos/{owner}/{repo}/issues/comments/{int(comment['id'])}"
        self._send("PATCH", url, body, issue)

    def _ours(self, url: str) -> bool:
        """A URL the token may be sent to: under the API's own address."""
        return url.startswith(f"{self.api}/")

    def _next_page(self, headers: Message) -> str | None:
        for part in (headers.get("Link") or "").split(","):
            found = re.match(r'\s*<([^>]+)>\s*;\s*rel="next"', part)
            if found and self._ours(found[1]):
                return found[1]
        return None

    def _send(self, method: str, url: str, body: str | None, issue: model.IssueRef) -> _Answer:
        data = json.dumps({"body": body}).encode() if body is not None else None
        headers = request_headers(self.token.value)
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self.opener.open(request, timeout=TIMEOUT) as response:
                return _Answer(response.status, response.headers, _json(response.read()))
        except urllib.error.HTTPError as exc:
            answer = _Answer(exc.code, exc.headers, _json(exc.read()))
            raise PostError(self._scrub(_refusal(method, answer, issue, self.token))) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            if method != "GET" and not isinstance(exc, urllib.error.URLError):
                done = "created" if method == "POST" else "updated"
                raise PostError(
                    self._scrub(
                        f"no answer from {self.api} to the {method} ({reason}): the comment may "
                        f"have been {done}; run again, which updates it instead of adding "
                        f"another"
                    )
                ) from None
            raise PostError(
                self._scrub(f"cannot reach {self.api} ({reason}); nothing was posted")
            ) from None

    def _scrub(self, text: str) -> str:
        return text.replace(self.token.value, "***") if self.token.value else text


def request_headers(token: str) -> dict[str, str]:
    return {
        "Accept": "application/vnd.github+json",
        "Authorization": f"Bearer {token}",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": f"buglab/{__version__}",
    }


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (UnicodeDecodeError, ValueError):
        return None


def _refusal(method: str, answer: _Answer, issue: model.IssueRef, token: Token) -> str:
    """GitHub's refusal as one line: what it means for this request, and GitHub's words."""
    data = answer.data if isinstance(answer.data, dict) else {}
    said = " ".join(str(data.get("message") or "").split())
    errors = data.get("errors")
    if isinstance(errors, list):
        details = [
            str(e.get("message") or f"{e.get('field', '')} {e.get('code', '')}".strip())
            if isinstance(e, dict)
            else str(e)
            for e in errors
        ]
        said = ": ".join(part for part in (said, "; ".join(details)) if part)
    why = f"{answer.status}{f': {said}' if said else ''}"
    nothing = "nothing was posted"
    headers = answer.headers
    if answer.status in (403, 429) and (headers.get("x-ratelimit-remaining") == "0"):
        return f"GitHub's rate limit for this token is used up {_until(headers)} ({why}); {nothing}"
    if answer.status in (403, 429) and headers.get("retry-after"):
        return (
            f"GitHub's secondary rate limit: retry after {headers['retry-after']} s ({why}); "
            f"{nothing}"
        )
    if answer.status == 401:
        return f"GitHub refused the token from {token.source} ({why}); {nothing}"
    if answer.status == 403:
        needs = headers.get("x-accepted-github-permissions")
        need = f"; it needs {needs}" if needs else ""
        return (
            f"GitHub forbids the token from {token.source} to {_verb(method)} on {issue} "
            f"({why}){need}; {nothing}"
        )
    if answer.status == 404 and method == "PATCH":
        return f"the lab's comment on {issue} was deleted meanwhile ({why}); run again"
    if answer.status == 404:
        return (
            f"GitHub has no issue {issue} that the token from {token.source} can see ({why}): "
            f"check the name, and that the token may read that repository; {nothing}"
        )
    if answer.status == 410:
        return f"issue {issue} is gone, or its repository has issues turned off ({why}); {nothing}"
    if answer.status == 422:
        return f"GitHub refused the comment for {issue} ({why}); {nothing}"
    if 300 <= answer.status < 400:
        moved = headers.get("Location") or "elsewhere"
        return f"GitHub answered {why} for {issue}, moved to {moved}: write its new name; {nothing}"
    return f"GitHub answered {why} to {method} for {issue}; {nothing}"


def _verb(method: str) -> str:
    return {"GET": "read comments", "POST": "comment", "PATCH": "edit its comment"}.get(
        method, method
    )


def _until(headers: Message) -> str:
    try:
        reset = int(headers.get("x-ratelimit-reset") or "")
    except ValueError:
        return "for now"
    at = dt.datetime.fromtimestamp(reset, dt.timezone.utc)
    minutes = max(0, round((reset - time.time()) / 60))
    return f"until {at:%Y-%m-%d %H:%M:%S} UTC (in {minutes} min)"


# -- the whole step --------------------------------------------------------------------------


def post(issue: model.IssueRef, scenario: str, text: str, api: str, token: Token) -> Posted:
    """Create the scenario's comment on ``issue``, or update the lab's earlier one."""
    github = GitHub(api, token)
    body = with_marker(scenario, text)
    found = github.find(issue, marker(scenario))
    if found is None:
        made = github.create(issue, body)
        return Posted("created", str(made.get("html_url") or made.get("url") or ""))
    url = str(found.get("html_url") or found.get("url") or "")
    if str(found.get("body") or "").replace("\r\n", "\n") == body:
        return Posted("unchanged", url)
    github.update(issue, found, body)
    return Posted("updated", url)


def dry_run(issue: model.IssueRef, scenario: str, text: str, api: str, token: Token | None) -> str:
    """What :func:`post` would send, request by request; nothing is sent (no request at all)."""
    url = GitHub(api, token or Token("", "")).comments_url(issue)
    body = with_marker(scenario, text)
    owner, repo = (urllib.parse.quote(p, safe="") for p in (issue.owner, issue.repo))
    headers = request_headers("<token, not shown>")
    found = (
        f"from {token.source} (not shown)"
        if token
        else "none found (GH_TOKEN, GITHUB_TOKEN, `gh auth token`): a real post stops here"
    )
    lines = [
        f"dry run: nothing is sent to {api}",
        f"token: {found}",
        f"1. GET {url}?per_page={PER_PAGE} (and each next page): the comment whose first line "
        f"is {marker(scenario)}",
        f"2. if found: PATCH {api}/repos/{owner}/{repo}/issues/comments/ID with the body below "
        f"(nothing, if it already says exactly this); else POST {url}",
        *(f"   {name}: {value}" for name, value in headers.items()),
        "   Content-Type: application/json",
        f'   body: {{"body": TEXT}}, TEXT ({templates.size(body):,} characters) being:',
        "",
        body,
    ]
    return "\n".join(lines)
