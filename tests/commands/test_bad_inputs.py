"""A corpus of bad definitions: each must be refused with a clear message and no traceback.

tests/bad/NAME.toml is one case; its first lines are `# expect: SUBSTRING` comments, each a piece of
text that must appear in what `orchestrator validate` prints on stderr. tests/bad/NAME/ is a case of
several files (a clash between files, say); its expect.txt holds one expected substring a line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import Result, run_inline

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "bad"
MIN_CASES = 40


def _expectations(case: Path) -> list[str]:
    if case.is_dir():
        lines = (case / "expect.txt").read_text(encoding="utf-8").splitlines()
        return [line for line in lines if line.strip()]
    expected = []
    for raw in case.read_bytes().splitlines():
        if not raw.startswith(b"# expect:"):
            break
        expected.append(raw.decode("utf-8").removeprefix("# expect:").strip())
    return expected


def _cases() -> list[Path]:
    return sorted(p for p in BAD.iterdir() if p.suffix == ".toml" or p.is_dir())


CASES = _cases()


def _validate(case: Path, *options: str) -> Result:
    return run_inline("validate", *options, str(case.relative_to(ROOT)))


def test_the_corpus_does_not_shrink() -> None:
    assert len(CASES) >= MIN_CASES


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_bad_input_is_refused_with_a_clear_message(case: Path) -> None:
    expected = _expectations(case)
    assert expected, f"{case.name}: no expectations (# expect: lines or expect.txt)"

    result = _validate(case)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout
    assert "Traceback" not in result.stderr
    assert case.name in result.stderr, result.stderr
    controls = [c for c in result.stderr if c != "\n" and (ord(c) < 32 or 127 <= ord(c) < 160)]
    assert not controls, f"raw control characters reach the terminal: {controls!r}"
    missing = [text for text in expected if text not in result.stderr]
    assert not missing, f"missing {missing!r} in:\n{result.stderr}"


def test_json_output_lists_the_problems() -> None:
    result = _validate(BAD / "port-not-a-number.toml", "--json")

    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    problems = payload["problems"]
    assert problems
    for problem in problems:
        assert {"file", "path", "message"} <= problem.keys()
    assert problems[0]["file"].endswith("port-not-a-number.toml")
    assert problems[0]["path"] == "container.web.ports[1]"
    assert "80:eighty" in problems[0]["message"]
