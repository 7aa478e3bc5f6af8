"""An Ansible stdout callback for the tests: every host's result of every task, and the stats,
as one JSON document (ansible-core no longer ships its json callback)."""

from __future__ import annotations

import json
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: results
type: stdout
short_description: every task result and the stats as JSON, for orchestrator's tests
description: [every task result and the stats as JSON, for orchestrator's tests]
"""


class CallbackModule(CallbackBase):  # type: ignore[misc]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "results"

    def __init__(self) -> None:
        super().__init__()
        self.tasks: list[dict[str, Any]] = []

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self.tasks.append({"name": task.get_name(), "hosts": {}})

    def _record(self, result: Any, **status: bool) -> None:
        self.tasks[-1]["hosts"][result._host.get_name()] = {**result._result, **status}

    def v2_runner_on_ok(self, result: Any) -> None:
        self._record(result)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._record(result, failed=True)

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats: Any) -> None:
        summary = {host: stats.summarize(host) for host in sorted(stats.processed)}
        print(json.dumps({"tasks": self.tasks, "stats": summary}, default=str))
