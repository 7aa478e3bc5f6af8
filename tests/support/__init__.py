"""Helpers shared by the tests: the repository root, the CLI runners, sandboxes, host snapshots."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
