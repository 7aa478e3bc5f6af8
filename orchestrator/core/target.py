"""Where one run of orchestrator acts: the mode and its directories, decided once per command
(commands/common.py builds it from the arguments and the host's facts) and passed down."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["system", "user"]


@dataclass(frozen=True)
class Target:
    mode: Mode
    definitions: tuple[str, ...]  # the definition files or directories given (or the default)
    unit_dir: str
    state_dir: str
    # user units cannot split conmon into its own cgroup on a v1 (or hybrid) host
    cgroups_v1: bool = False

    @property
    def user(self) -> bool:
        return self.mode == "user"

    @property
    def no_conmon(self) -> bool:
        """Whether rendered units run podman with --cgroups=no-conmon instead of split."""
        return self.user and self.cgroups_v1
