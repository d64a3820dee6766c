"""Every `dedup ...` command shown in the README runs, from a copy of the repository's examples."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

from typer.testing import CliRunner

from dedup.cli import app

ROOT = Path(__file__).resolve().parents[1]


def documented_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```console\n(.*?)```", text, flags=re.S)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("dedup "):
                commands.append(line)
    return commands


def test_readme_documents_commands():
    commands = documented_commands()
    assert len(commands) >= 5
    used = {c.split()[1] for c in commands}
    assert {"find", "explain", "repeats"} <= used


def test_documented_commands_run_in_order(tmp_path, monkeypatch):
    """All examples, in README order, in one folder (later ones use what earlier ones made)."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    for command in documented_commands():
        words = shlex.split(command)
        stdin = None
        if "<" in words:
            at = words.index("<")
            stdin = (tmp_path / words[at + 1]).read_bytes()
            words = words[:at]
        result = CliRunner().invoke(app, words[1:], input=stdin, catch_exceptions=False)
        assert result.exit_code == 0, f"{command}\n{result.output}"
        out = re.search(r"--out (\S+)", command)
        if out and words[1] == "find":
            assert (tmp_path / out.group(1) / "clusters.jsonl").stat().st_size > 0
