"""What the lab takes from the caller's environment: the installer's network and cache settings,
the index to use, and where the per-user cache lives. Nothing else of the caller reaches an
installer or a cell."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: variables the installer may see from the caller: network, TLS and cache settings only
INSTALLER_PASSTHROUGH = (
    "HOME",
    "PATH",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "UV_CACHE_DIR",
    "UV_HTTP_TIMEOUT",
    "UV_HTTP_RETRIES",
    "XDG_CACHE_HOME",
    "PYENV_ROOT",
    "PYENV_VERSION",
    "BUGLAB_CACHE_DIR",
)
INDEX_VARIABLE = "BUGLAB_INDEX_URL"
INSTALLER_HTTP_TIMEOUT = 15  # seconds the installer waits for an answer of the index


def installer_env(caller: Mapping[str, str]) -> dict[str, str]:
    """The installer sees the network and cache settings, nothing that changes what it installs."""
    env = {name: caller[name] for name in INSTALLER_PASSTHROUGH if name in caller}
    env["PIP_CONFIG_FILE"] = os.devnull  # no machine-wide pip.conf, constraints or find-links
    env.setdefault("PATH", os.defpath)
    # an index that accepts connections but never answers costs a bounded wait per venv
    # (uv's own defaults: 30 s, three retries), unless the caller says otherwise
    env.setdefault("UV_HTTP_TIMEOUT", str(INSTALLER_HTTP_TIMEOUT))
    env.setdefault("UV_HTTP_RETRIES", "1")
    env.setdefault("PIP_TIMEOUT", str(INSTALLER_HTTP_TIMEOUT))
    return env


def user_cache(caller: Mapping[str, str]) -> Path:
    """What the lab keeps per user, like the installer's own cache (compiled bytecode, what the
    index confirmed): ``BUGLAB_CACHE_DIR``, else ``$XDG_CACHE_HOME/buglab``, else
    ``~/.cache/buglab``."""
    given = caller.get("BUGLAB_CACHE_DIR")
    if given:
        return Path(given)
    base = caller.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "buglab"


def index_url(caller: Mapping[str, str]) -> str | None:
    return caller.get(INDEX_VARIABLE) or None
