# -*- coding: utf-8 -*-
# Copyright (c) orchestrator developers
# MIT License (see the LICENSE file of the collection or https://opensource.org/licenses/MIT)

DOCUMENTATION = r"""
---
name: fleet
short_description: Hosts, groups and variables from an orchestrator fleet repository
version_added: 0.1.0
description:
  - Reads the C(fleet.toml) of an orchestrator fleet repository, so that hosts and groups are
    declared in one place for both C(orchestrator pull) and pushes with Ansible.
  - Every C([host.NAME]) becomes a host, in the groups its C(groups) list names (a group that
    only exists as a C(groups/NAME/) directory too).
  - Each host gets its fleet variables as resolved by orchestrator (its own, then its groups',
    the later group winning, then C([defaults])), and C(orchestrator_fleet) (the repository),
    C(orchestrator_fleet_host) (its name there), C(orchestrator_ring) and
    C(orchestrator_machine_id) where C(fleet.toml) sets them.
  - The source is either a C(fleet.toml) itself (enable the plugin in C(inventory_enabled)), or a
    YAML file whose name ends in C(.fleet.yml) or C(.fleet.yaml) with C(plugin) set to
    V(orchestrator.orchestrator.fleet) and O(repo).
author:
  - orchestrator developers
requirements:
  - orchestrator importable by the Python that runs Ansible.
options:
  plugin:
    description: The name of this plugin, in a YAML source.
    required: true
    choices: [orchestrator.orchestrator.fleet]
    type: str
  repo:
    description:
      - The fleet repository (the directory holding C(fleet.toml)); relative to the YAML file.
    type: path
    default: .
"""

EXAMPLES = r"""
# inventory.fleet.yml, beside the fleet repository:
#   ansible-playbook -i inventory.fleet.yml push.yml
plugin: orchestrator.orchestrator.fleet
repo: fleet

# Or the fleet.toml itself:
#   ANSIBLE_INVENTORY_ENABLED=orchestrator.orchestrator.fleet \
#     ansible-playbook -i fleet/fleet.toml push.yml
"""

import os

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin


class InventoryModule(BaseInventoryPlugin):
    NAME = "orchestrator.orchestrator.fleet"

    def verify_file(self, path):
        name = os.path.basename(path)
        if name == "fleet.toml":
            return True
        return super().verify_file(path) and name.endswith((".fleet.yml", ".fleet.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        if os.path.basename(path) == "fleet.toml":
            root = os.path.dirname(os.path.abspath(path))
        else:
            self._read_config_data(path)
            repo = self.get_option("repo")
            root = os.path.join(os.path.dirname(os.path.abspath(path)), repo)
        self._populate(os.path.normpath(root))

    def _populate(self, root):
        try:
            from orchestrator.core.fleet import read_fleet
            from orchestrator.errors import OrchestratorError
        except ImportError as exc:
            raise AnsibleParserError(
                "orchestrator must be importable by the Python that runs Ansible: %s" % exc
            )
        try:
            fleet = read_fleet(root)
        except OrchestratorError as exc:
            raise AnsibleParserError("\n".join(exc.lines()))
        for name, host in sorted(fleet.hosts.items()):
            self.inventory.add_host(name)
            for group in host.groups:
                self.inventory.add_group(group)
                self.inventory.add_child(group, name)
            for variable, value in sorted(host.variables.items()):
                self.inventory.set_variable(name, variable, value)
            self.inventory.set_variable(name, "orchestrator_fleet", root)
            self.inventory.set_variable(name, "orchestrator_fleet_host", name)
            if host.ring is not None:
                self.inventory.set_variable(name, "orchestrator_ring", host.ring)
            if host.machine_id is not None:
                self.inventory.set_variable(name, "orchestrator_machine_id", host.machine_id)
