"""env: everything that makes an environment - venvs and their store, the installer backends,
the project's wheels, shared bytecode, interpreters, the package index, resolution, processes.

Only this wing (and the results store) touches the disk or starts processes. Other wings import
what is named here, never a module of this wing directly.
"""

from buglab.env import index, proc
from buglab.env.backends import (
    Interpreter,
    choose_backend,
    describe_installer,
    find_uv,
    uv_resolution_flags,
)
from buglab.env.builder import Builder, BuildSettings
from buglab.env.caller import index_url, installer_env, user_cache
from buglab.env.contents import Sentry
from buglab.env.contents import differences as venv_changes
from buglab.env.dates import cutoff, cutoff_time
from buglab.env.git import (
    Commit,
    Forge,
    Repository,
    forge_of,
    is_local,
    named_repository,
    open_repository,
)
from buglab.env.index import Dist, Release
from buglab.env.interpreters import Interpreters
from buglab.env.project import GENERATED_PYPROJECT, copy_project, project_files
from buglab.env.release_check import ReleaseCheck
from buglab.env.resolve import Failed, Resolution, Resolver
from buglab.env.source import CommitWheel, CommitWheels
from buglab.env.venvs import VenvStore, venv_store

__all__ = [
    "GENERATED_PYPROJECT",
    "BuildSettings",
    "Builder",
    "Commit",
    "CommitWheel",
    "CommitWheels",
    "Dist",
    "Failed",
    "Forge",
    "Interpreter",
    "Interpreters",
    "Release",
    "ReleaseCheck",
    "Repository",
    "Resolution",
    "Resolver",
    "Sentry",
    "VenvStore",
    "choose_backend",
    "copy_project",
    "cutoff",
    "cutoff_time",
    "describe_installer",
    "find_uv",
    "forge_of",
    "index",
    "index_url",
    "installer_env",
    "is_local",
    "named_repository",
    "open_repository",
    "proc",
    "project_files",
    "user_cache",
    "uv_resolution_flags",
    "venv_changes",
    "venv_store",
]
