#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) orchestrator developers
# MIT License (see the LICENSE file of the collection or https://opensource.org/licenses/MIT)

DOCUMENTATION = r"""
---
module: apply
short_description: Plan or apply orchestrator definitions on a host
version_added: 0.1.0
description:
  - Puts a set of orchestrator definitions into the definitions directory of the host and runs
    C(orchestrator apply) there; in check mode it runs C(orchestrator plan) instead and changes
    nothing on the host.
  - The definitions come from a directory on the controller (O(src)) or from a fleet repository
    on the controller (O(fleet)), in which case the host's own merge of its layers is what is
    copied. With neither, the module applies what O(dest) already holds.
  - Files in O(dest) that the definitions do not have are removed, so that O(dest) holds exactly
    the definitions given, each file with its mode (a resource dropped from O(src) is removed
    from the host).
  - New definitions are validated on the host (C(orchestrator validate)) before O(dest) is
    touched; invalid ones fail the task, naming the file and key, and change nothing.
  - The task reports C(changed) only when a unit was created, changed, removed, started or
    restarted. Apply restarts exactly the services whose units changed; a second run with the
    same definitions writes, reloads and restarts nothing and reports ok.
  - A failed apply fails the task with the journal tail of every unit that did not come up. With
    O(rollback_on_failure), the host is first put back on the newest generation that came up.
  - In check mode, changed definitions are planned where they would be, in O(dest), seen through
    a private mount namespace (C(unshare)), so that the plan and its diff are exactly what an apply
    would do. Where no namespace can be made, or O(dest) does not exist yet, they are planned from
    a staging directory, and the source path in each unit's header differs in the diff.
author:
  - orchestrator developers
requirements:
  - orchestrator on the managed host (C(pip install orchestrator), or a checkout run with
    O(command)), with podman and systemd.
  - For O(fleet), orchestrator importable by the Python that runs Ansible on the controller.
options:
  src:
    description:
      - A directory of definitions on the controller, copied to O(dest) with its sub-directories
        (files such as environment files that definitions name by relative paths come along).
      - Files encrypted with Ansible Vault are decrypted on the controller, as
        M(ansible.builtin.copy) does.
    type: path
  fleet:
    description:
      - A fleet repository on the controller (the directory holding C(fleet.toml)). The host's
        layers are merged on the controller, validated, and the merge is copied to O(dest), one
        file per resource.
      - Relative paths in the merged definitions are resolved against O(dest) on the host.
    type: path
  fleet_host:
    description:
      - The name of the host in C(fleet.toml); by default the inventory name of the host.
    type: str
  dest:
    description:
      - The definitions directory on the host.
      - Default C(/etc/orchestrator), or C(~/.config/orchestrator) (C($XDG_CONFIG_HOME)
        respected) with O(user).
    type: path
  user:
    description:
      - User mode, as C(orchestrator --user). The definitions are in the user's configuration and
        the units run under the user's own systemd.
    type: bool
    default: false
  rollback_on_failure:
    description:
      - If the new definitions do not come up, apply the newest generation that did, then fail.
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for systemd's jobs and for the units to come up.
    type: float
    default: 300
  allow_empty:
    description:
      - Allow definitions that declare nothing, which removes every unit orchestrator manages.
    type: bool
    default: false
  command:
    description:
      - How to run orchestrator on the host, as a list of words.
      - For example V([/opt/orchestrator/bin/python, -m, orchestrator]).
    type: list
    elements: str
    default: [orchestrator]
attributes:
  action:
    description: The action plugin reads O(src) or O(fleet) on the controller.
    support: full
  check_mode:
    description: Runs C(orchestrator plan); nothing on the host is written.
    support: full
  diff_mode:
    description: The before and after text of every unit that is created, changed or removed.
    support: full
  platform:
    description: Hosts with systemd and podman.
    support: full
    platforms: posix
notes:
  - Install orchestrator on the host from the playbook before this task, for example with
    M(ansible.builtin.pip) into a virtual environment and O(command) pointing at it.
"""

EXAMPLES = r"""
- name: Run what the repository's definitions declare
  orchestrator.orchestrator.apply:
    src: definitions/

- name: Push each host its part of a fleet repository, rolling back what does not come up
  orchestrator.orchestrator.apply:
    fleet: "{{ playbook_dir }}/fleet"
    rollback_on_failure: true
    timeout: 120

- name: Rootless containers under the deploy user's own systemd
  become: true
  become_user: deploy
  orchestrator.orchestrator.apply:
    src: user-definitions/
    user: true

- name: Orchestrator installed in a virtual environment
  orchestrator.orchestrator.apply:
    src: definitions/
    command: [/opt/orchestrator/bin/orchestrator]
"""

RETURN = r"""
generation:
  description: The generation the host runs after the apply (C(orchestrator history)); none in
    check mode or when nothing was ever applied.
  returned: always
  type: int
  sample: 4
rolled_back:
  description: Whether a failed apply was rolled back (O(rollback_on_failure)).
  returned: always
  type: bool
  sample: false
units:
  description:
    - Each unit's outcome. In check mode, the planned change only.
  returned: always
  type: list
  elements: dict
  contains:
    unit:
      description: The unit's name.
      type: str
      sample: web.service
    change:
      description: C(create), C(change), C(remove) or C(unchanged).
      type: str
      sample: change
    done:
      description: What apply did to it (C(write), C(restart), ...); empty in check mode.
      type: list
      elements: str
      sample: [write, restart]
    ok:
      description: Whether the unit runs as declared.
      type: bool
      sample: true
    active:
      description: systemd's ActiveState after the apply.
      type: str
      sample: active
    journal:
      description: The journal tail of a unit that did not come up.
      type: str
      sample: ""
summary:
  description: How many units are created, changed, removed and unchanged.
  returned: always
  type: dict
  sample: {create: 0, change: 1, remove: 0, unchanged: 2}
copied:
  description: Definition files written into O(dest) (in check mode, that would be written).
  returned: always
  type: list
  elements: str
  sample: [web.toml]
removed:
  description: Files removed from O(dest) because the definitions no longer have them.
  returned: always
  type: list
  elements: str
  sample: []
dest:
  description: The definitions directory on the host.
  returned: always
  type: str
  sample: /etc/orchestrator
"""

import base64
import json
import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule

ARGUMENT_SPEC = dict(
    src=dict(type="path"),
    fleet=dict(type="path"),
    fleet_host=dict(type="str"),
    dest=dict(type="path"),
    user=dict(type="bool", default=False),
    rollback_on_failure=dict(type="bool", default=False),
    timeout=dict(type="float", default=300),
    allow_empty=dict(type="bool", default=False),
    command=dict(type="list", elements="str", default=["orchestrator"]),
    # the definitions, read on the controller by the action plugin: {relative path: base64}
    _files=dict(type="dict"),
)

def config_home():
    return os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")


def default_dest(user):
    return os.path.join(config_home(), "orchestrator") if user else "/etc/orchestrator"


def unit_dir(user):
    return os.path.join(config_home(), "systemd", "user") if user else "/etc/systemd/system"


def read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def files_in(directory):
    """Relative path -> bytes of every regular file under directory."""
    found = {}
    for top, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(top, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as handle:
                    found[os.path.relpath(path, directory)] = handle.read()
    return found


def decode(files):
    """{relative path: {data: base64, mode: permission bits}} -> contents, modes."""
    wanted, modes = {}, {}
    for relative, item in files.items():
        normal = os.path.normpath(relative)
        if os.path.isabs(normal) or normal.split(os.sep)[0] == "..":
            raise ValueError("a definition file outside the directory: %r" % relative)
        wanted[normal] = base64.b64decode(item["data"])
        modes[normal] = int(item.get("mode", 0o644)) & 0o777
    return wanted, modes


def differences(wanted, modes, directory):
    """(files to write, files to remove) to make directory hold exactly wanted."""
    present = files_in(directory) if os.path.isdir(directory) else {}
    write = sorted(
        name for name, data in wanted.items()
        if present.get(name) != data or file_mode(os.path.join(directory, name)) != modes[name]
    )
    remove = sorted(name for name in present if name not in wanted)
    return write, remove


def file_mode(path):
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        return None


def write_files(directory, wanted, modes, names):
    for name in names:
        path = os.path.join(directory, name)
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        handle, staged = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".ansible-")
        with os.fdopen(handle, "wb") as out:
            out.write(wanted[name])
        os.chmod(staged, modes[name])
        os.rename(staged, path)


def sync(directory, wanted, modes, write, remove):
    os.makedirs(directory, mode=0o755, exist_ok=True)
    write_files(directory, wanted, modes, write)
    for name in remove:
        os.unlink(os.path.join(directory, name))
    for top, subdirs, names in os.walk(directory, topdown=False):
        if top != directory and not subdirs and not names:
            os.rmdir(top)


def managed_units(directory):
    """The unit files orchestrator wrote (they carry its mark), by name."""
    found = {}
    if os.path.isdir(directory):
        for name in os.listdir(directory):
            text = read_text(os.path.join(directory, name))
            if text and "[X-Orchestrator]" in text:
                found[name] = text
    return found


def patched(before, diff):
    """The text a unified diff (as difflib writes it) makes of before."""
    old = before.splitlines(True)
    out, position, in_hunk = [], 0, False
    for line in diff.splitlines(True):
        if line.startswith("@@"):
            start, _, length = line.split()[1][1:].partition(",")
            first = int(start) - (0 if length == "0" else 1)
            out.extend(old[position:first])
            position, in_hunk = first, True
        elif not in_hunk:
            continue
        elif line.startswith("+"):
            out.append(line[1:])
        elif line.startswith("-"):
            position += 1
        elif line.startswith(" "):
            out.append(old[position])
            position += 1
    out.extend(old[position:])
    return "".join(out)


def unit_diffs(changes, before, directory):
    diffs = []
    for change in changes:
        if change.get("action") in (None, "unchanged"):
            continue
        path = os.path.join(directory, change["unit"])
        old = before.get(change["unit"], "")
        diffs.append({
            "before_header": path if old else "%s (absent)" % path,
            "after_header": path if change["action"] != "remove" else "%s (removed)" % path,
            "before": old,
            "after": patched(old, change.get("diff", "")),
        })
    return diffs


def run_json(module, argv, result):
    """Run orchestrator; its JSON on stdout, or fail the task with what it said."""
    rc, out, err = module.run_command(argv)
    try:
        data = json.loads(out)
    except ValueError:
        module.fail_json(msg="orchestrator printed no JSON (exit %d): %s" % (rc, err.strip()),
                         rc=rc, stdout=out, stderr=err, cmd=argv, **result)
    return rc, data, err


def definition_error(module, data, err, result, staging=None):
    """Fail with every problem, naming file and key (the file as it will be in dest)."""
    problems = data.get("problems") or []
    lines = []
    for problem in problems:
        where = problem.get("file") or ""
        if staging and where.startswith(staging + os.sep):
            where = os.path.join(result["dest"], os.path.relpath(where, staging))
        lines.append(": ".join(x for x in (where, problem.get("path"), problem.get("message"))
                               if x))  # fmt: skip
    why = data.get("error") or err.strip() or "orchestrator failed"
    module.fail_json(msg="\n".join([why] + lines), problems=problems, **result)


def plan_argv(params, path):
    return params["command"] + ["plan", "--json"] + (["--user"] if params["user"] else []) + [path]


def staged(wanted, modes):
    """A private directory holding wanted (removed by the caller)."""
    staging = tempfile.mkdtemp(prefix="orchestrator-")
    write_files(staging, wanted, modes, sorted(wanted))
    return staging


def validate(module, staging, result):
    """Refuse invalid definitions before dest is touched: an apply would refuse them anyway,
    and dest would be left holding them."""
    user = ["--user"] if module.params["user"] else []
    rc, data, err = run_json(module, module.params["command"] + ["validate", "--json"] + user
                             + [staging], result)  # fmt: skip
    if rc != 0 or not data.get("ok", True):
        definition_error(module, data, err, result, staging)


def plan_staged(module, staging, dest, result):
    """The plan of the staged definitions as if they were in dest, which is left as it is."""
    argv = plan_argv(module.params, dest)
    namespace = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        namespace[1:1] = ["--user", "--map-root-user"]
    bind = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
    if os.path.isdir(dest) and module.get_bin_path("unshare"):
        wrapped = namespace + ["--", "/bin/sh", "-c", bind, "sh", staging, dest] + argv
        rc, out, err = module.run_command(wrapped)
        if out.lstrip().startswith("{"):
            return rc, json.loads(out), err
    module.warn("%s planned from a staging directory: each unit's source path differs"
                % dest)
    return run_json(module, plan_argv(module.params, staging), result)


def check(module, staging, dest, result):
    units = unit_dir(module.params["user"])
    before = managed_units(units)
    if staging is not None:
        rc, data, err = plan_staged(module, staging, dest, result)
    else:
        rc, data, err = run_json(module, plan_argv(module.params, dest), result)
    if rc not in (0, 2) or not data.get("ok", True):
        definition_error(module, data, err, result, staging)
    changes = data.get("units", [])
    result.update(
        changed=bool(data.get("changed")),
        summary=data.get("summary", {}),
        units=[{"unit": c["unit"], "change": c["action"], "done": [], "ok": True, "active": "",
                "journal": ""} for c in changes],
    )
    if module._diff:
        result["diff"] = unit_diffs(changes, before, units)
    module.exit_json(**result)


def apply_argv(params, dest):
    argv = params["command"] + ["apply", "--json", "--timeout", str(params["timeout"])]
    for flag in ("user", "rollback_on_failure", "allow_empty"):
        if params[flag]:
            argv.append("--" + flag.replace("_", "-"))
    return argv + [dest]


def outcome(unit):
    keys = ("unit", "change", "done", "ok", "active", "sub", "result", "health", "journal")
    return dict((key, unit.get(key)) for key in keys)


def apply(module, wanted, modes, dest, result):
    units = unit_dir(module.params["user"])
    before = managed_units(units)
    if wanted is not None:
        sync(dest, wanted, modes, result["copied"], result["removed"])
    rc, data, err = run_json(module, apply_argv(module.params, dest), result)
    report, rollback = data, None
    if "apply" in data:  # rolled back: the failed apply and the rollback
        report, rollback = data["apply"], data["rollback"]
    if "plan" not in report:
        definition_error(module, data, err, result)
    plan = report["plan"]
    outcomes = [outcome(u) for u in report.get("units", [])]
    done = any(u["done"] for u in outcomes)
    latest = rollback or report
    result.update(
        changed=bool(plan.get("changed")) or done or rollback is not None,
        generation=latest.get("generation"),
        rolled_back=rollback is not None,
        summary=plan.get("summary", {}),
        units=outcomes,
    )
    if module._diff:
        result["diff"] = unit_diffs(plan.get("units", []), before, units)
    if rc != 0 or not data.get("ok"):
        failed = [u for u in outcomes if not u["ok"]]
        tails = ["%s: %s/%s\n%s" % (u["unit"], u["active"], u["sub"], u["journal"] or "")
                 for u in failed]
        why = report.get("error") or "%d unit(s) did not come up" % len(failed)
        if rollback is not None:
            why += "; rolled back to generation %s" % rollback.get("generation")
        module.fail_json(msg=why + ("\n" + "\n".join(tails) if tails else ""), **result)
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC, mutually_exclusive=[("src", "fleet")],
        supports_check_mode=True,
    )
    params = module.params
    dest = params["dest"] or default_dest(params["user"])
    if (params["src"] or params["fleet"]) and params["_files"] is None:
        module.fail_json(msg="src and fleet are read on the controller by the action plugin of "
                             "orchestrator.orchestrator.apply; call the module by that name")
    wanted, modes, write, remove = None, {}, [], []
    if params["_files"] is not None:
        try:
            wanted, modes = decode(params["_files"])
        except (ValueError, TypeError, KeyError) as exc:
            module.fail_json(msg="unreadable definitions from the action plugin: %s" % exc)
        write, remove = differences(wanted, modes, dest)
    result = dict(changed=False, dest=dest, copied=write, removed=remove, generation=None,
                  rolled_back=False, units=[], summary={})
    staging = staged(wanted, modes) if write or remove else None
    try:
        if staging is not None:
            validate(module, staging, result)
        if module.check_mode:
            check(module, staging, dest, result)
        apply(module, wanted, modes, dest, result)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


if __name__ == "__main__":
    main()
