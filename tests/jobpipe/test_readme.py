"""The README's two Quickstart commands are what a newcomer pastes, and CI runs the second verbatim."""

from __future__ import annotations

import re

from tests.conftest import REPO


def quickstart_blocks() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", section, flags=re.S)]


def test_quickstart_has_the_main_command_then_the_test_command():
    main, tests = quickstart_blocks()[:2]
    assert "jobpipe run daily --sandbox" in main
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command_verbatim():
    tests = quickstart_blocks()[1]
    ci_lines = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in ci_lines
