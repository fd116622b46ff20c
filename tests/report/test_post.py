"""``report NAME --post OWNER/REPO#N`` against a local GitHub API over real HTTP: the comment is
created once and then updated in place (found by its hidden marker, across pages), and every
refusal is one line and exit 2 with nothing posted and the token never shown."""

from __future__ import annotations

import os
import re
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from buglab import model
from buglab.cli import main
from buglab.report import post
from tests.conftest import RESULTS, ROOT
from tests.github import TOKEN, Failure, FakeGitHub, fake_github

NAME = "jinja2-soft-unicode"
ISSUE = "pallets/jinja#1609"
GH_VARIABLES = (
    "GH_TOKEN",
    "GITHUB_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
    "GITHUB_API_URL",
    "GH_HOST",
)


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeGitHub]:
    """The local API holding ISSUE, and a caller whose only token is GH_TOKEN (no gh CLI)."""
    for name in GH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "no-gh"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    with fake_github(ISSUE) as server:
        yield server


def report(
    server: FakeGitHub, tmp_path: Path, *extra: str, name: str = NAME, issue: str = ISSUE
) -> int:
    argv = ["--root", str(ROOT), "report", name, "--results", str(RESULTS)]
    argv += ["--html", str(tmp_path / "page.html"), "--post", issue, "--api-url", server.url]
    return main([*argv, *extra])


def one_error(capsys: pytest.CaptureFixture[str]) -> str:
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.startswith("buglab: error:")]
    assert len(lines) == 1, err
    assert TOKEN not in out + err
    return lines[0]


def test_a_second_post_updates_the_comment_and_a_third_sends_nothing(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    github.comments.append(
        {"id": 1, "issue": ("pallets", "jinja", 1609), "body": "me too", "user": "someone"}
    )
    assert report(github, tmp_path) == 0
    assert github.methods() == ["GET", "POST"]
    (mine,) = [c for c in github.on(ISSUE) if c["user"] == "buglab-bot"]
    assert mine["body"].startswith(f"{post.marker(NAME)}\n## Jinja2 2.x fails to import")
    assert all(r.authorization == f"Bearer {TOKEN}" for r in github.requests)
    _, err = capsys.readouterr()
    assert f"{NAME}: comment posted on {ISSUE}: https://github.example/pallets/jinja" in err

    assert report(github, tmp_path, "--only", "jinja2=2.11") == 0
    assert github.methods()[2:] == ["GET", "PATCH"]
    assert len(github.on(ISSUE)) == 2  # the user's and the lab's: nothing posted twice
    assert "jinja2 = 2.11" in github.on(ISSUE)[1]["body"]
    assert github.on(ISSUE)[0]["body"] == "me too"
    assert "comment updated on" in capsys.readouterr().err

    assert report(github, tmp_path, "--only", "jinja2=2.11") == 0
    assert github.methods()[4:] == ["GET"]
    assert "comment already up to date" in capsys.readouterr().err


def test_each_scenario_has_its_own_comment_found_on_any_page(
    github: FakeGitHub, tmp_path: Path
) -> None:
    issue = ("pallets", "jinja", 1609)
    github.per_page_cap = 30  # GitHub may give fewer than asked: the Link header is followed
    github.comments += [
        {"id": i, "issue": issue, "body": f"comment {i}", "user": "someone"} for i in range(70)
    ]
    assert report(github, tmp_path) == 0
    assert report(github, tmp_path, name="warnings-coverage-editable") == 0
    assert github.methods() == ["GET", "GET", "GET", "POST"] * 2
    github.requests.clear()
    assert report(github, tmp_path, "--only", "toolchain=latest") == 0
    assert github.methods() == ["GET", "GET", "GET", "PATCH"]
    assert github.requests[-1].path.endswith(f"/issues/comments/{github.on(ISSUE)[70]['id']}")
    ours = [c["body"].split("\n", 1)[0] for c in github.on(ISSUE) if c["user"] == "buglab-bot"]
    assert ours == [post.marker(NAME), post.marker("warnings-coverage-editable")]


def test_dry_run_prints_the_request_and_sends_nothing(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert report(github, tmp_path, "--dry-run", issue="pallets/jinja#1") == 0
    out, err = capsys.readouterr()
    assert github.requests == []
    lines = out.splitlines()
    assert lines[0] == f"dry run: nothing is sent to {github.url}"
    assert lines[1] == "token: from GH_TOKEN (not shown)"
    assert f"1. GET {github.url}/repos/pallets/jinja/issues/1/comments?per_page=100" in out
    assert f"else POST {github.url}/repos/pallets/jinja/issues/1/comments" in out
    assert "   Authorization: Bearer <token, not shown>" in lines
    assert lines[lines.index(post.marker(NAME)) + 1].startswith("## Jinja2 2.x")
    assert TOKEN not in out + err
    # the status line counts what GitHub would count: the body as sent, with its marker
    (sent,) = re.findall(r"TEXT \(([\d,]+) characters\)", out)
    assert f"comment of {sent} characters with its marker" in err


def test_dry_run_needs_no_token(
    github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GH_TOKEN")
    assert report(github, tmp_path, "--dry-run") == 0
    assert github.requests == []


def rate_limited(reset: int) -> Failure:
    return Failure(
        403,
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
        {"message": "API rate limit exceeded for user ID 1."},
    )


REFUSALS = {
    "401": (
        Failure(401, body={"message": "Bad credentials"}),
        "GitHub refused the token from GH_TOKEN (401: Bad credentials); nothing was posted",
    ),
    "403 forbidden": (
        Failure(
            403,
            {"x-accepted-github-permissions": "issues=write; pull_requests=write"},
            {"message": "Resource not accessible by personal access token"},
            method="POST",
        ),
        f"GitHub forbids the token from GH_TOKEN to comment on {ISSUE} (403: Resource not "
        "accessible by personal access token); it needs issues=write; pull_requests=write; "
        "nothing was posted",
    ),
    "secondary rate limit": (
        Failure(429, {"retry-after": "60"}, {"message": "You have exceeded a secondary limit"}),
        "GitHub's secondary rate limit: retry after 60 s (429: You have exceeded a secondary "
        "limit); nothing was posted",
    ),
    "422": (
        Failure(
            422,
            body={
                "message": "Validation Failed",
                "errors": [{"field": "body", "code": "custom", "message": "body is too long"}],
            },
            method="POST",
        ),
        f"GitHub refused the comment for {ISSUE} (422: Validation Failed: body is too long); "
        "nothing was posted",
    ),
    "renamed repository": (
        Failure(301, {"Location": "https://api.github.com/repositories/42/issues/1609/comments"}),
        f"GitHub answered 301 for {ISSUE}, moved to https://api.github.com/repositories/42/"
        "issues/1609/comments: write its new name; nothing was posted",
    ),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_a_refusal_is_one_line_and_posts_nothing(
    case: str, github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failure, line = REFUSALS[case]
    github.fail.append(failure)
    assert report(github, tmp_path) == 2
    assert one_error(capsys) == f"buglab: error: {line}"
    assert github.comments == []


def test_rate_limit_says_when_it_resets(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reset = int(time.time()) + 25 * 60
    github.fail.append(rate_limited(reset))
    assert report(github, tmp_path) == 2
    at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(reset))
    assert one_error(capsys) == (
        f"buglab: error: GitHub's rate limit for this token is used up until {at} UTC (in 25 "
        "min) (403: API rate limit exceeded for user ID 1.); nothing was posted"
    )
    assert [r.method for r in github.requests] == ["GET"]


def test_a_wrong_token_is_refused_by_the_server_and_never_shown(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    github.token = "another-token"
    assert report(github, tmp_path) == 2
    assert one_error(capsys).endswith("(401: Bad credentials); nothing was posted")


def test_an_unknown_issue_is_404(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert report(github, tmp_path, issue="pallets/jinja#2") == 2
    assert one_error(capsys) == (
        "buglab: error: GitHub has no issue pallets/jinja#2 that the token from GH_TOKEN can "
        "see (404: Not Found): check the name, and that the token may read that repository; "
        "nothing was posted"
    )


def test_no_token_is_one_line_before_anything_is_sent(
    github: FakeGitHub,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GH_TOKEN")
    assert report(github, tmp_path) == 2
    assert one_error(capsys) == (
        "buglab: error: no GitHub token: set GH_TOKEN (or GITHUB_TOKEN), or log in with `gh "
        "auth login --hostname 127.0.0.1`; nothing was posted"
    )
    assert github.requests == []
    assert not (tmp_path / "page.html").exists()


def test_network_down_is_one_line(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there once the socket is closed
    argv = ["--root", str(ROOT), "report", NAME, "--results", str(RESULTS), "--html"]
    argv += [str(tmp_path / "p.html"), "--post", ISSUE, "--api-url", f"http://127.0.0.1:{port}"]
    assert main(argv) == 2
    line = one_error(capsys)
    assert line.startswith(f"buglab: error: cannot reach http://127.0.0.1:{port} (")
    assert line.endswith("); nothing was posted")


def test_a_post_whose_answer_is_lost_is_not_duplicated_by_the_next_run(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    github.drop_next_post = True
    assert report(github, tmp_path) == 2
    assert "the comment may have been created; run again, which updates it" in one_error(capsys)
    assert report(github, tmp_path) == 0
    assert github.methods() == ["GET", "POST", "GET"]  # found by its marker, already the same
    assert len(github.on(ISSUE)) == 1


def test_the_token_comes_from_the_github_cli_for_the_api_host(
    github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GH_TOKEN")
    asked = tmp_path / "asked"
    gh = Path(os.environ["PATH"]) / "gh"
    gh.write_text(f'#!/bin/sh\necho "$@" > {asked}\necho {TOKEN}\n', encoding="utf-8")
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    assert report(github, tmp_path) == 0
    assert asked.read_text() == "auth token --hostname 127.0.0.1\n"
    assert github.methods() == ["GET", "POST"]


def test_enterprise_paths_under_api_v3(github: FakeGitHub, tmp_path: Path) -> None:
    argv = ["--root", str(ROOT), "report", NAME, "--results", str(RESULTS), "--html"]
    argv += [str(tmp_path / "p.html"), "--post", ISSUE, "--api-url", f"{github.url}/api/v3/"]
    assert main(argv) == 0
    assert [r.path.split("?")[0] for r in github.requests] == [
        "/api/v3/repos/pallets/jinja/issues/1609/comments"
    ] * 2


@pytest.mark.parametrize(
    ("given", "caller", "expected"),
    [
        (None, {}, "https://api.github.com"),
        (None, {"GH_HOST": "github.com"}, "https://api.github.com"),
        (None, {"GH_HOST": "git.example.com"}, "https://git.example.com/api/v3"),
        (None, {"GITHUB_API_URL": "https://ghe.example/api/v3"}, "https://ghe.example/api/v3"),
        ("https://ghe.example/api/v3/", {"GH_HOST": "x.example"}, "https://ghe.example/api/v3"),
        ("http://localhost:8080", {}, "http://localhost:8080"),
    ],
)
def test_the_api_url(given: str | None, caller: dict[str, str], expected: str) -> None:
    assert post.api_url(given, caller) == expected


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("http://ghe.example/api/v3", "the token would cross the network unencrypted; use https"),
        ("ftp://ghe.example", "expected https://HOST[/api/v3]"),
    ],
)
def test_an_api_url_that_would_leak_the_token_is_refused(given: str, problem: str) -> None:
    with pytest.raises(post.PostError, match=re.escape(problem)):
        post.api_url(given, {})


def test_options_that_need_post_say_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(ROOT), "report", NAME, "--results", str(RESULTS), "--dry-run"]) == 2
    assert one_error(capsys) == "buglab: error: --dry-run and --api-url go with --post OWNER/REPO#N"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("pallets/jinja", "expected OWNER/REPO#NUMBER"),
        ("https://github.com/pallets/jinja/issues/1609", "(write pallets/jinja#1609)"),
        ("pallets/jinja#0", "expected OWNER/REPO#NUMBER"),
        ("pal lets/jinja#3", "expected OWNER/REPO#NUMBER"),
        ("pallets/..#3", "expected OWNER/REPO#NUMBER"),
    ],
)
def test_issue_references(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        model.IssueRef.parse(text)
    assert str(model.IssueRef.parse("pallets/jinja.py#12")) == "pallets/jinja.py#12"


def test_a_comment_deleted_between_the_look_and_the_update(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert report(github, tmp_path) == 0
    github.fail.append(Failure(404, body={"message": "Not Found"}, method="PATCH"))
    assert report(github, tmp_path, "--only", "jinja2=3.0") == 2
    assert one_error(capsys) == (
        f"buglab: error: the lab's comment on {ISSUE} was deleted meanwhile (404: Not Found); "
        "run again"
    )


def test_a_look_up_that_is_not_a_list_of_comments_posts_nothing(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    github.fail.append(Failure(200, body={"message": "a captive portal"}, method="GET"))
    assert report(github, tmp_path) == 2
    assert one_error(capsys) == (
        f"buglab: error: {github.url} answered the look-up for {ISSUE}'s comments with "
        "something that is not a list of comments; nothing was posted"
    )
    assert github.methods() == ["GET"]
