# -*- coding: utf-8 -*-
# Copyright (c) orchestrator developers
# MIT License (see the LICENSE file of the collection or https://opensource.org/licenses/MIT)

DOCUMENTATION = r"""
---
name: sandbox
short_description: Run tasks inside an orchestrator sandbox on the controller
version_added: 0.1.0
description:
  - Enters a running C(orchestrator sandbox) (a throw-away systemd with podman, on the
    controller) through C(orchestrator sandbox exec), so that a playbook can be tried against
    sandboxes as hosts before it reaches servers.
  - Files travel through the command's standard input and output.
  - Needs root on the controller, as sandboxes do.
author:
  - orchestrator developers
options:
  remote_addr:
    description: The name of the sandbox.
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
      - name: ansible_sandbox_name
  orchestrator_command:
    description:
      - How to run orchestrator on the controller, as a command line split like a shell's.
    type: str
    default: orchestrator
    vars:
      - name: ansible_sandbox_orchestrator
    env:
      - name: ANSIBLE_SANDBOX_ORCHESTRATOR
"""

import shlex
import subprocess

from ansible.errors import AnsibleConnectionFailure, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.connection import ConnectionBase


class Connection(ConnectionBase):
    transport = "orchestrator.orchestrator.sandbox"
    has_pipelining = True

    def _connect(self):
        self._connected = True
        return self

    def _argv(self, command):
        prefix = shlex.split(self.get_option("orchestrator_command"))
        name = self.get_option("remote_addr")
        return prefix + ["sandbox", "exec", name, "--", "/bin/sh", "-c", command]

    def _run(self, command, in_data=None):
        argv = self._argv(command)
        self._display.vvv("EXEC %s" % " ".join(shlex.quote(a) for a in argv),
                          host=self.get_option("remote_addr"))
        try:
            process = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except OSError as exc:
            raise AnsibleConnectionFailure("cannot run %s: %s" % (argv[0], exc))
        out, err = process.communicate(in_data)
        return process.returncode, out, err

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        return self._run(cmd, in_data)

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        try:
            with open(to_bytes(in_path), "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise AnsibleFileNotFound("cannot read %s: %s" % (in_path, exc))
        rc, _, err = self._run("cat > %s" % shlex.quote(out_path), data)
        if rc != 0:
            raise AnsibleConnectionFailure("cannot write %s: %s" % (out_path, err))

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        rc, out, err = self._run("cat %s" % shlex.quote(in_path))
        if rc != 0:
            raise AnsibleConnectionFailure("cannot read %s: %s" % (in_path, err))
        with open(to_bytes(out_path), "wb") as handle:
            handle.write(out)

    def close(self):
        self._connected = False
