# -*- coding: utf-8 -*-
# Copyright (c) orchestrator developers
# MIT License (see the LICENSE file of the collection or https://opensource.org/licenses/MIT)
"""The controller's half of orchestrator.orchestrator.apply: reads the definitions (a directory,
or the host's merge of a fleet repository) and hands them to the module, which writes them on
the host. They travel inside the module's arguments: definition files are small, and no file
transfer is needed whatever the connection."""

import base64
import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

MAX_BYTES = 16 * 1024 * 1024  # ample for definitions, and a guard against a wrong src


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset((
        "src", "fleet", "fleet_host", "dest", "user", "rollback_on_failure", "timeout",
        "allow_empty", "command",
    ))

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        if args.get("src") and args.get("fleet"):
            raise AnsibleActionFail("src and fleet are mutually exclusive")
        if args.get("src"):
            files = self._directory(self._find_needle("files", args["src"]))
        elif args.get("fleet"):
            host = args.get("fleet_host") or task_vars.get("inventory_hostname")
            files = _fleet_files(self._loader.path_dwim(args["fleet"]), host)
        else:
            files = None
        if files is not None:
            args["_files"] = dict(
                (name, {"data": to_text(base64.b64encode(data)), "mode": mode})
                for name, (data, mode) in files.items()
            )
        result.update(self._execute_module(
            module_name="orchestrator.orchestrator.apply", module_args=args, task_vars=task_vars
        ))
        return result

    def _directory(self, root):
        if not os.path.isdir(root):
            raise AnsibleActionFail("src %s: not a directory of definitions" % root)
        found, total = {}, 0
        for top, subdirs, names in os.walk(root):
            subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
            for name in sorted(names):
                path = os.path.join(top, name)
                if name.startswith(".") or not os.path.isfile(path):
                    continue
                data = self._read(path)
                total += len(data)
                if total > MAX_BYTES:
                    raise AnsibleActionFail("src %s: more than %d bytes" % (root, MAX_BYTES))
                # the mode travels too: an environment file may hold what others must not read
                mode = os.stat(path).st_mode & 0o777
                found[os.path.relpath(path, root)] = (data, mode)
        return found

    def _read(self, path):
        """The file's bytes, decrypted where Ansible Vault encrypted it (as copy does)."""
        real = self._loader.get_real_file(path, decrypt=True)
        try:
            with open(real, "rb") as handle:
                return handle.read()
        finally:
            self._loader.cleanup_tmp_file(real)


def _fleet_files(root, host):
    """The host's merged definitions, one file per resource; an invalid merge fails the task
    here, on the controller, with each problem's file and key."""
    try:
        from orchestrator.core.fleet import host_definitions, read_fleet
        from orchestrator.errors import OrchestratorError
    except ImportError as exc:
        raise AnsibleActionFail(
            "fleet: orchestrator must be importable by the Python that runs Ansible "
            "(pip install it there): %s" % exc
        )
    try:
        fleet = read_fleet(root)
        texts = host_definitions(fleet, fleet.host(host))
    except OrchestratorError as exc:
        raise AnsibleActionFail("fleet %s, host %s:\n%s" % (root, host, "\n".join(exc.lines())))
    return dict((name, (text.encode("utf-8"), 0o644)) for name, text in texts.items())
