"""The signature as a pattern that cannot run away: matched by RE2, in time linear in the output.

Python's ``re`` backtracks: ``(a+)+$`` against forty ``a`` and a ``!`` never ends, and it
holds the interpreter while it tries, so not even Ctrl-C gets through. RE2 (Google's engine,
``google-re2``) gives every pattern it accepts a linear-time match, and refuses at load time
what would need backtracking (backreferences, lookaround, atomic groups): each refusal is one
line saying why and what to write instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import re2

from buglab.spec.checks import Checker

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # the reason goes into one line, not to stderr
#: what RE2's refusal means, and what to write instead
_HINTS = (
    (
        re.compile(r"invalid perl operator: \(\?(<?[=!])"),
        "lookaround (?= (?! (?<= (?<! is not supported; match the text around it itself "
        "(e.g. 'Error(?=: x)' becomes 'Error: x')",
    ),
    (
        re.compile(r"invalid escape sequence: \\[1-9]|invalid perl operator: \(\?P="),
        "backreferences (\\1, (?P=name)) are not supported; write the repeated text out",
    ),
    (
        re.compile(r"invalid perl operator: \(\?>"),
        "atomic groups (?> ...) are not supported; write the group without '?>'",
    ),
    (
        re.compile(r"bad repetition operator: [*+?}]\+"),
        "possessive repeats (a++, a*+) are not supported; write a+ or a*",
    ),
    (re.compile(r"invalid escape sequence: \\Z"), "write \\z for the end of the output"),
    (
        re.compile(r"too large|bad repetition operator: \{"),
        "the pattern is too large to match in bounded memory; use fewer or smaller {n,m} repeats",
    ),
)
SYNTAX = "https://github.com/google/re2/wiki/Syntax"


@dataclass(frozen=True)
class Signature:
    """``pattern`` as written in the scenario, searched line by line (``^``/``$`` per line)."""

    pattern: str
    compiled: Any

    def search(self, text: str, /) -> Any:
        return self.compiled.search(text)


def compile_signature(check: Checker, text: str) -> Signature:
    try:
        re.compile(text)
    except re.error as exc:
        raise check.fail("signature", f"invalid regular expression {text!r}: {exc}") from None
    try:
        compiled = re2.compile(f"(?m){text}", _OPTIONS)
    except re2.error as exc:
        raise check.fail("signature", _refusal(text, exc)) from None
    signature = Signature(text, compiled)
    if signature.search("") is not None:
        raise check.fail("signature", f"{text!r} matches the empty string, so it matches anything")
    return signature


def _refusal(text: str, exc: Exception) -> str:
    raw = exc.args[0] if exc.args else ""
    reason = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    hint = next((h for found, h in _HINTS if found.search(reason)), f"see {SYNTAX}")
    return (
        f"{text!r} cannot be matched in linear time ({reason}); signatures are matched by RE2 "
        f"so that no output can hang the lab: {hint}"
    )
