"""One cell as a reproduction that needs no lab: the files, pinned requirements and commands.

Pure: the texts of ``setup.sh``, ``run.sh``, ``requirements.txt`` and a README for an exported
folder, and the same steps as one shell block for a comment. They do what the lab did for the
cell, with ``python3.X -m venv`` and pip instead of uv: the exact versions the cell's venv
held; the project installed as the install mode says (from ``project/``, with the minimal
``pyproject.toml`` the lab generates when the scenario brings none); the command run in a
fresh copy of the files, in a new folder, with an environment built from nothing.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from buglab import model
from buglab.env import GENERATED_PYPROJECT
from buglab.lab import FIXED_ENV, SYSTEM_PATH
from buglab.report import facts

#: the environment every cell starts from (see ``runner.cell_env``); the venv's bin comes first
BASE_ENV = (
    ("PATH", f'"$venv/bin:{SYSTEM_PATH}"'),
    ("VIRTUAL_ENV", '"$venv"'),
    ("HOME", '"$home"'),
    ("TMPDIR", '"$home"'),
    *FIXED_ENV.items(),
)
INSTALL_COMMANDS = {
    model.InstallMode.EDITABLE: "pip install -e ./project",
    model.InstallMode.NON_EDITABLE: "pip install ./project",
}
# A tiny classifier for run.sh, in the lab's order: the signature wins, then exit 0 passes.
CLASSIFY = """\
import re, sys
output = open(sys.argv[1], encoding="utf-8", errors="replace").read()
status = int(sys.argv[2])
if re.search(SIGNATURE, output):
    print("buglab: reproduced (the signature was seen)")
elif status == 0:
    print("buglab: passed (exit 0, no signature)")
else:
    print(f"buglab: failed (exit {status}, no signature)")
"""


@dataclass(frozen=True)
class ProjectFile:
    path: str  # relative, with forward slashes: "package/__init__.py"
    text: str


@dataclass(frozen=True)
class Reproduction:
    scenario: str
    cell: str  # the cell's id
    outcome: model.Outcome  # what the lab measured
    python: str  # the full version the lab ran, e.g. "3.11.7"
    install: model.InstallMode
    entries: tuple[str, ...]  # the top-level names copied into the working folder
    files: tuple[ProjectFile, ...]  # under project/, including a generated pyproject.toml
    requirements: tuple[str, ...]  # name==version
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...]  # the cell's own variables
    passenv: tuple[str, ...]  # the caller's variables the scenario lets through
    signature: str

    @property
    def interpreter(self) -> str:
        return "python" + ".".join(self.python.split(".")[:2])

    @property
    def command(self) -> str:
        return shlex.join(self.argv)

    def requirements_txt(self) -> str:
        head = f"# the exact versions of buglab's venv for {self.scenario} {self.cell}\n"
        return head + "".join(f"{line}\n" for line in self.requirements)

    def setup_steps(self) -> list[str]:
        steps = [
            f'"${{PYTHON:-{self.interpreter}}}" -m venv .venv',
            ".venv/bin/python -m pip install -r requirements.txt",
        ]
        if self.install in INSTALL_COMMANDS:
            steps.append(f".venv/bin/python -m {INSTALL_COMMANDS[self.install]}")
        return steps

    def run_steps(self, here: str) -> list[str]:
        """Copy the files into a fresh folder and run the command with a clean environment."""
        variables = [f"{name}={value}" for name, value in BASE_ENV]
        variables += [f'${{{name}+"{name}=${name}"}}' for name in self.passenv]
        variables += [f"{name}={shlex.quote(value)}" for name, value in self.env]
        sources = " ".join(f'"{here}/project/{shlex.quote(name)}"' for name in self.entries)
        copy = f'cp -R {sources} "$work/"' if self.entries else ": no files to copy"
        return [
            f'venv="{here}/.venv"; work="$(mktemp -d)"; home="$(mktemp -d)"',
            copy,
            'cd "$work" && env -i \\\n    '
            + " \\\n    ".join(variables)
            + " \\\n    "
            + self.command,
        ]

    def setup_sh(self) -> str:
        what = (
            f"the project installed with `{INSTALL_COMMANDS[self.install]}`"
            if self.install in INSTALL_COMMANDS
            else "the project not installed"
        )
        return _script(
            [
                f"# Builds .venv for {self.scenario}, cell",
                f"#   {self.cell}",
                f"# with {self.interpreter} (buglab ran {self.python}), the versions buglab's venv",
                f"# held, and {what}.",
                "# PYTHON=/path/to/python3.X ./setup.sh picks another interpreter.",
                "set -euo pipefail",
                'cd "$(dirname "$0")"',
                "# no pip.conf of this machine changes what is installed (drop this for a mirror)",
                "export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1",
                "rm -rf .venv",
                *self.setup_steps(),
            ]
        )

    def run_sh(self) -> str:
        steps = self.run_steps("$here")
        last = steps[-1].replace('cd "$work" && ', "")
        return _script(
            [
                f"# Runs {self.scenario}, cell",
                f"#   {self.cell}",
                "# once, as buglab did: a fresh copy of the files in a new folder, an environment",
                "# built from nothing. Prints the output (also kept in output.log), then buglab's",
                "# verdict; exits with the command's status.",
                "set -uo pipefail",
                'here="$(cd "$(dirname "$0")" && pwd)"',
                '[ -x "$here/.venv/bin/python" ] || { echo "run ./setup.sh first" >&2; exit 2; }',
                *steps[:-1],
                'cd "$work"',
                f'{last} 2>&1 | tee "$here/output.log"',
                "status=${PIPESTATUS[0]}",
                'cd "$here" && rm -rf "$work" "$home"',
                '"$venv/bin/python" - "$here/output.log" "$status" <<\'PY\'',
                f"SIGNATURE = {self.signature!r}",
                CLASSIFY.rstrip("\n"),
                "PY",
                'exit "$status"',
            ]
        )

    def readme(self) -> str:
        verdict = {
            model.Outcome.REPRODUCED: "reproduced: its output matched the signature below",
            model.Outcome.PASSED: "passed: exit 0 and no signature",
        }.get(self.outcome, f"{self.outcome.value}")
        return "\n".join(
            [
                f"# {self.scenario}: {self.cell}",
                "",
                f"buglab measured this cell as **{verdict}**. To run it without buglab:",
                "",
                "```sh",
                "./setup.sh   # builds .venv with " + self.interpreter + " -m venv and pip",
                "./run.sh     # runs the command, then prints buglab's verdict",
                "```",
                "",
                f"- Command: `{self.command}`, in a fresh copy of `project/`'s files.",
                f"- Signature (a Python regex searched in the output): `{self.signature}`",
                f"- `requirements.txt`: the {len(self.requirements)} versions of the cell's venv "
                "(buglab built it with uv; here pip installs the same versions).",
                "- Differences that remain: pip itself is in this venv (and, on Python 3.11 and "
                "older, the setuptools that `venv` adds); the project's build backend is "
                f"today's release; the interpreter is your {self.interpreter} (buglab's was "
                f"{self.python}).",
                "",
            ]
        )

    def script(self) -> str:
        """One block to paste into a shell: writes the files, builds the venv, runs the cell."""
        lines = ["mkdir -p buglab-repro && cd buglab-repro"]
        folders = sorted({f.path.rsplit("/", 1)[0] for f in self.files if "/" in f.path})
        if folders:
            lines.append("mkdir -p " + " ".join(shlex.quote(f"project/{d}") for d in folders))
        elif self.files:
            lines.append("mkdir project")
        for item in self.files:
            lines.append(_heredoc(f"project/{item.path}", item.text))
        lines.append(_heredoc("requirements.txt", self.requirements_txt()))
        lines += self.setup_steps()
        steps = self.run_steps("$PWD")
        lines += [*steps[:-1], f"({steps[-1]})"]
        return "\n".join(lines)


def make(
    scenario: model.Scenario,
    cell: model.Cell,
    measured: model.CellResult,
    files: tuple[ProjectFile, ...],
) -> Reproduction:
    """The reproduction of ``cell``; ``files`` are the project's, as ``project_files``
    lists them."""
    install = cell.venv.install
    names = {f.path.split("/", 1)[0] for f in files}
    extra: tuple[ProjectFile, ...] = ()
    if install.installs_project and not names & {"pyproject.toml", "setup.py"}:
        extra = (
            ProjectFile("pyproject.toml", GENERATED_PYPROJECT.format(name=scenario.project.name)),
        )
    return Reproduction(
        scenario=scenario.name,
        cell=cell.id,
        outcome=measured.outcome,
        python=measured.versions.get("python", ""),
        install=install,
        entries=tuple(entry.name for entry in scenario.project.files),
        files=files + extra,
        requirements=tuple(
            facts.pins(measured, scenario.project.name if install.installs_project else "")
        ),
        argv=cell.argv,
        env=tuple(cell.env),
        passenv=scenario.passenv,
        signature=scenario.signature.pattern,
    )


def _script(lines: list[str]) -> str:
    return "#!/usr/bin/env bash\n" + "\n".join(lines) + "\n"


def _heredoc(path: str, text: str) -> str:
    """``cat > path <<'EOF'``, with a delimiter the text does not contain as a line."""
    delimiter = "EOF"
    lines = text.splitlines()
    while delimiter in lines:
        delimiter += "_"
    body = text if text.endswith("\n") else text + "\n"
    return f"cat > {shlex.quote(path)} <<'{delimiter}'\n{body}{delimiter}"
