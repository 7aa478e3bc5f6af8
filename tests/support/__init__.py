"""Helpers shared by the tests: the CLI runners, polling, the write guard, sandboxes, host
snapshots and an independent reader of systemd command lines."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
