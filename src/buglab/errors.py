"""One exception family: every error the user can cause prints as one line."""

from __future__ import annotations

from pathlib import Path


class BuglabError(Exception):
    """Base of every error the CLI turns into one line and exit status 2."""

    def __str__(self) -> str:
        return self.one_line()

    def one_line(self) -> str:
        return " ".join(str(self.args[0]).split()) if self.args else type(self).__name__


class ScenarioError(BuglabError):
    """A scenario file that cannot be used, naming the file, the key and the problem."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        super().__init__(path, key, problem)
        self.path = Path(path)
        self.key = key
        self.problem = problem

    def one_line(self) -> str:
        key = "".join(c if c.isprintable() else repr(c)[1:-1] for c in self.key)
        where = f"{self.path}: {key}" if key else str(self.path)
        return f"{where}: {' '.join(self.problem.split())}"


class UsageError(BuglabError):
    """A command line that cannot be carried out (unknown scenario, bad --only, bad --shard)."""


class ResultsError(BuglabError):
    """A results file that cannot be read or merged."""
