"""A package's history: its git repository, the commits between two refs, a commit's files.

``--repo`` a local repository (bare or not) is read where it is and never written to. A URL
(given, or the source repository the index names for the package) is cloned once, bare, into
the user's cache (``<cache>/repos/``) and fetched on every later use, never cloned again. A
commit's source tree is a throwaway clone that shares the repository's objects and checks the
commit out, so that a backend reading its version from git tags (setuptools-scm, hatch-vcs)
sees what it would in a developer's clone.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from buglab.env import index, proc
from buglab.errors import UsageError

READ_TIMEOUT = 120.0  # a local read: rev-parse, log, rev-list
FETCH_TIMEOUT = 1800.0  # a clone or fetch over the network
SEP = "\x1f"  # between the fields of one commit in ``git log`` output
END = "\x1e"  # after each commit
FIELDS = "%H%x1f%h%x1f%P%x1f%aI%x1f%an%x1f%s%x1f%b%x1e"
#: how a release is tagged, tried in this order ({v}: the version, {name}: the package)
TAG_SHAPES = ("{v}", "v{v}", "{name}-{v}", "{name}-v{v}", "{name}_{v}", "release-{v}")


@dataclass(frozen=True)
class Commit:
    id: str  # the full object name
    short: str  # git's abbreviation (at least 10 characters)
    parents: tuple[str, ...]
    date: str  # the author date, ISO 8601
    author: str
    subject: str
    body: str = ""

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


def git_env(base: Mapping[str, str]) -> dict[str, str]:
    """git sees the network and TLS settings it was given, no user or system configuration
    (which could change its output or ask for a password), and speaks English."""
    env = dict(base)
    env.update(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "true",
            "LC_ALL": "C",
        }
    )
    return env


class Repository:
    """A git repository on this machine, read with git itself."""

    def __init__(self, path: Path, origin: str, env: Mapping[str, str]) -> None:
        self.path = path
        self.origin = origin  # what the user gave (a path or URL), or the URL cloned
        self.env = dict(env)

    def git(self, *args: str, check: bool = True) -> str:
        argv = ["git", "-c", "safe.directory=*", "-C", str(self.path), *args]
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                env=self.env,
                timeout=READ_TIMEOUT,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UsageError(f"git {' '.join(args[:2])} in {self.path}: {exc}") from None
        if check and done.returncode != 0:
            error = (done.stderr.strip().splitlines() or ["failed"])[-1]
            raise UsageError(f"git {' '.join(args[:2])} in {self.path}: {error}")
        return done.stdout if done.returncode == 0 else ""

    def remote_url(self) -> str:
        """Where the repository came from (``remote.origin.url``), "" when it does not say."""
        return self.git("config", "--get", "remote.origin.url", check=False).strip()

    def commit(self, ref: str) -> Commit | None:
        """The commit ``ref`` names (a tag, a branch, an object name), or None."""
        if ref.startswith("-"):
            return None
        found = self._log(["--no-walk", f"{ref}^{{commit}}", "--"], check=False)
        return found[0] if found else None

    def find(self, ref: str, package: str) -> tuple[Commit, str] | None:
        """A release's tag in any of the usual shapes, else a commit: (commit, the ref used)."""
        names = [package, package.replace("-", "_"), package.replace("_", "-")]
        shapes = [s.format(v=ref, name=n) for s in TAG_SHAPES for n in dict.fromkeys(names)]
        for tag in dict.fromkeys(shapes):
            found = self.commit(f"refs/tags/{tag}")
            if found is not None:
                return found, tag
        found = self.commit(ref)
        return (found, ref) if found is not None else None

    def tags(self) -> list[str]:
        return self.git("tag", "--list").split()

    def is_ancestor(self, old: str, new: str) -> bool:
        argv = ["git", "-c", "safe.directory=*", "-C", str(self.path)]
        done = subprocess.run(
            [*argv, "merge-base", "--is-ancestor", old, new],
            capture_output=True,
            env=self.env,
            timeout=READ_TIMEOUT,
            check=False,
        )
        return done.returncode == 0

    def count(self, old: Commit, new: Commit) -> int:
        """Every commit after ``old`` up to ``new``, on any line."""
        return int(self.git("rev-list", "--count", f"{old.id}..{new.id}", "--").strip() or 0)

    def first_parent(self, old: Commit, new: Commit) -> tuple[Commit, ...]:
        """The commits after ``old`` up to ``new`` along ``new``'s first-parent line, oldest
        first: on a project that merges pull requests, the merges and direct commits."""
        return tuple(reversed(self._log(["--first-parent", f"{old.id}..{new.id}", "--"])))

    def inside(self, merge: Commit) -> tuple[Commit, ...]:
        """The commits a merge brought in, along the merged branch's first-parent line, oldest
        first (those its first parent did not already hold)."""
        if not merge.is_merge:
            return ()
        first, merged = merge.parents[0], merge.parents[1]
        return tuple(reversed(self._log(["--first-parent", f"{first}..{merged}", "--"])))

    def _log(self, args: Sequence[str], check: bool = True) -> list[Commit]:
        text = self.git("log", "--abbrev=10", f"--format={FIELDS}", *args, check=check)
        commits = []
        for record in text.split(END):
            fields = record.strip("\n").split(SEP)
            if len(fields) < 7:
                continue
            full, short, parents, date, author, subject, body = fields[:7]
            commits.append(
                Commit(full, short, tuple(parents.split()), date, author, subject, body.strip())
            )
        return commits

    def checkout(self, commit: Commit, dest: Path, log: Path) -> str:
        """``commit``'s files (and a ``.git`` sharing this repository's objects) in ``dest``;
        "" when done, else why not."""
        base = ["git", "-c", "safe.directory=*"]
        steps = [
            [*base, "clone", "--quiet", "--shared", "--no-checkout", str(self.path), str(dest)],
            [*base, "-C", str(dest), "checkout", "--quiet", "--detach", commit.id],
        ]
        for argv in steps:
            with log.open("a", encoding="utf-8") as sink:
                sink.write("$ " + proc.shown_argv(argv) + "\n")
            done = proc.run(argv, cwd=dest.parent, env=self.env, timeout=FETCH_TIMEOUT, log=log)
            if done.returncode != 0:
                lines = [line for line in done.output.splitlines() if line.strip()]
                return lines[-1] if lines else f"git exited with {done.returncode}"
        return ""


# -- where the repository is -----------------------------------------------------------------


def is_local(given: str) -> bool:
    return "://" not in given and not re.match(r"^[\w.-]+@[\w.-]+:", given)


def open_repository(
    given: str,
    cache: Path,
    env: Mapping[str, str],
    offline: bool,
    say: Callable[[str], None],
) -> Repository:
    """A local repository where it is; a URL cloned once into ``cache/repos`` and fetched."""
    env = git_env(env)
    if is_local(given):
        path = Path(given).expanduser().resolve()
        if not path.exists():
            raise UsageError(f"--repo {given}: no such folder")
        repository = Repository(path, given, env)
        if not repository.git("rev-parse", "--git-dir", check=False).strip():
            raise UsageError(f"--repo {given}: not a git repository")
        return repository
    folder = cache / "repos" / _folder_name(given)
    folder.parent.mkdir(parents=True, exist_ok=True)
    log = folder.parent / f"{folder.name}.log"
    with FileLock(str(folder.parent / f"{folder.name}.lock")):
        if (folder / "HEAD").is_file():
            if not offline:
                _fetch(folder, given, env, log, say)
        elif offline:
            raise UsageError(f"--offline: {given} has never been cloned into {folder.parent}")
        else:
            say(f"cloning {given} into {folder} (once; later bisects fetch)")
            _clone(folder, given, env, log)
    return Repository(folder, given, env)


def _folder_name(url: str) -> str:
    tail = re.sub(r"[^\w.-]+", "-", url.rstrip("/").rsplit("/", 1)[-1]).removesuffix(".git")
    return f"{tail or 'repo'}-{hashlib.sha256(url.encode()).hexdigest()[:12]}.git"


def _clone(folder: Path, url: str, env: Mapping[str, str], log: Path) -> None:
    staging = folder.with_name(f".{folder.name}.{secrets.token_hex(4)}")
    argv = ["git", "clone", "--quiet", "--bare", url, str(staging)]
    done = proc.run(argv, cwd=folder.parent, env=env, timeout=FETCH_TIMEOUT, log=log)
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        lines = [line for line in done.output.splitlines() if line.strip()]
        raise UsageError(f"cannot clone {url}: {lines[-1] if lines else 'git failed'}")
    staging.rename(folder)  # whole, or not at all


def _fetch(
    folder: Path, url: str, env: Mapping[str, str], log: Path, say: Callable[[str], None]
) -> None:
    refs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
    argv = ["git", "-C", str(folder), "fetch", "--quiet", "--prune", url, *refs]
    done = proc.run(argv, cwd=folder.parent, env=env, timeout=FETCH_TIMEOUT, log=log)
    if done.returncode != 0:
        lines = [line for line in done.output.splitlines() if line.strip()]
        why = lines[-1] if lines else "git failed"
        say(f"cannot fetch {url} ({why}); bisecting the history cloned before")


# -- the forge, for links --------------------------------------------------------------------

FORGES = {
    "github.com": ("/commit/{id}", "/pull/{n}"),
    "gitlab.com": ("/-/commit/{id}", "/-/merge_requests/{n}"),
    "codeberg.org": ("/commit/{id}", "/pulls/{n}"),
    "bitbucket.org": ("/commits/{id}", "/pull-requests/{n}"),
}


@dataclass(frozen=True)
class Forge:
    """A repository on a known forge: where its commits and pull requests are seen."""

    url: str  # https://github.com/OWNER/NAME

    @property
    def host(self) -> str:
        return self.url.split("/")[2]

    def commit(self, commit_id: str) -> str:
        return self.url + FORGES[self.host][0].format(id=commit_id)

    def pull(self, number: int) -> str:
        return self.url + FORGES[self.host][1].format(n=number)


def forge_of(url: str) -> Forge | None:
    """``https://github.com/o/n.git``, ``git@github.com:o/n``, ``…/o/n/tree/main`` → a forge."""
    found = re.match(r"^(?:https?://|ssh://)?(?:[\w.-]+@)?([\w.-]+)[:/]+([\w.-]+)/([\w.-]+)", url)
    if not found or found.group(1).lower() not in FORGES:
        return None
    host, owner, name = found.group(1).lower(), found.group(2), found.group(3)
    return Forge(f"https://{host}/{owner}/{name.removesuffix('.git')}")


def source_url(project_urls: Mapping[str, str], home_page: str = "") -> str | None:
    """The package's repository among the URLs its metadata names: a source or repository
    link first, then any link to a known forge, then the home page when it is one."""
    wanted = ("source", "repository", "code", "git")
    named = sorted(project_urls.items(), key=lambda kv: not any(w in kv[0].lower() for w in wanted))
    for label, url in named:
        if any(w in label.lower() for w in wanted):
            forge = forge_of(url)
            return forge.url if forge else url
    for url in [*project_urls.values(), home_page]:
        forge = forge_of(url) if url else None
        if forge is not None:
            return forge.url
    return None


def named_repository(package: str, index_url: str | None) -> tuple[str | None, str]:
    """The repository the index's metadata names for ``package`` (the JSON API beside the
    simple index: PyPI's ``/pypi/NAME/json``), or (None, why not)."""
    info = index.project_info(package, index_url)
    if info is None:
        return None, f"the index's metadata for {package} cannot be read"
    urls = info.get("project_urls") or {}
    home = info.get("home_page") or ""
    found = source_url(
        {str(k): str(v) for k, v in urls.items()} if isinstance(urls, dict) else {}, str(home)
    )
    if found is None:
        return None, f"the index's metadata for {package} names no source repository"
    return found, ""
