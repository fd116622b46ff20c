"""What a commit bisect searched, as values: the first-parent line between the two refs, the
merge searched inside, each commit's facts, the pull request a commit came in by, and links on
a known forge. Pure: git is asked by :mod:`buglab.bisect.commits` through the env wing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from buglab.env import Commit, Forge

#: how a pull request's number shows in a commit message, on the usual forges
PULL_PATTERNS = (
    re.compile(r"^Merge pull request #(\d+) from "),  # GitHub, a merge commit
    re.compile(r"\(#(\d+)\)\s*$"),  # GitHub, squashed or rebased: "Title (#123)"
    re.compile(r"^Merged in .*\(pull request #(\d+)\)"),  # Bitbucket
    re.compile(r"^Merge pull request '.*' \(#(\d+)\)"),  # Gitea, Forgejo
)
MERGE_REQUEST = re.compile(r"See merge request [\w./-]*!(\d+)")  # GitLab, in the body


def pull_number(commit: Commit) -> int | None:
    """The pull request a commit message names, or None."""
    for pattern in PULL_PATTERNS:
        found = pattern.search(commit.subject)
        if found:
            return int(found.group(1))
    found = MERGE_REQUEST.search(commit.body)
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class History:
    """The commits a bisect searched: ``line`` (the first-parent line from the old ref to the new
    one, both included) and, when the boundary on it was a merge, ``inside`` (the merge's first
    parent, the commits it brought in, and the merge). Labels are the short ids."""

    package: str
    repository: str  # as given (a path or URL), or the URL the index named
    forge: Forge | None
    refs: tuple[str, str]  # the two refs as given, oldest first, and what they named
    commits: Mapping[str, Commit]  # by label
    line: tuple[str, ...]
    merge: str | None = None
    inside: tuple[str, ...] = ()
    total: int = 0  # every commit after the old ref up to the new one, on any line

    @property
    def searched(self) -> tuple[str, ...]:
        """The candidates the answer's indices point at: inside the merge when it was searched."""
        return self.inside or self.line

    def pull(self, label: str) -> int | None:
        """The pull request a commit came in by: its own message (a squash, or a merge on the
        line), else the merge it was searched inside."""
        own = pull_number(self.commits[label])
        if own is not None or label not in self.inside or self.merge is None:
            return own
        return pull_number(self.commits[self.merge])

    def describe(self, label: str) -> str:
        """``7856c3d945 2021-11-05 "remove deprecated code"``"""
        commit = self.commits[label]
        return f'{commit.short} {commit.date[:10]} "{commit.subject}"'

    def links(self, label: str) -> list[str]:
        if self.forge is None:
            return []
        found = [self.forge.commit(self.commits[label].id)]
        number = self.pull(label)
        if number is not None:
            found.append(self.forge.pull(number))
        return found

    def came_in(self, label: str) -> str:
        """How the commit reached the line: ``pull request #261 (merged as 00ada4ba3a …)``."""
        number = self.pull(label)
        merged = ""
        if label in self.inside and self.merge is not None and label != self.merge:
            merged = f" (merged as {self.describe(self.merge)})"
        if number is not None:
            return f"pull request #{number}{merged}"
        if label in self.inside and label != self.merge:
            return f"inside merge {self.describe(self.merge or '')}"
        return "on the first-parent line (no pull request named)"

    def to_json(self) -> dict[str, Any]:
        def one(label: str) -> dict[str, Any]:
            c = self.commits[label]
            links = self.links(label)
            return {
                "id": c.id,
                "short": c.short,
                "date": c.date,
                "author": c.author,
                "subject": c.subject,
                "parents": list(c.parents),
                "pull_request": self.pull(label),
                "link": links[0] if links else None,
            }

        return {
            "repository": self.repository,
            "forge": self.forge.url if self.forge else None,
            "refs": list(self.refs),
            "total": self.total,
            "line": list(self.line),
            "merge": self.merge,
            "inside": list(self.inside),
            "commits": {label: one(label) for label in dict.fromkeys([*self.line, *self.inside])},
        }
