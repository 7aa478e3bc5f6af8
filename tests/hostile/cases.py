"""The hostile corpus: generated definition sets, one class of issue 10 at a time, across every
key of the definition format.

A Case is a tree of files (path -> bytes, or a special entry: a FIFO, a symbolic link, a
directory without permissions) and what is expected of it: "refuse" (validate must exit 1),
"accept" (validate must exit 0) or "any" (either, as long as every rule in check.py holds). Every
case names its resources with its own number, so that the units of many accepted cases can be
verified by systemd together.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.support.definitions import toml_document


@dataclass(frozen=True)
class Fifo:
    """A named pipe at this path."""


@dataclass(frozen=True)
class Link:
    """A symbolic link to target (relative to the link's directory, or absolute)."""

    target: str


@dataclass(frozen=True)
class Locked:
    """A directory of mode 000 holding files (only refused when not running as root)."""

    files: dict[str, bytes]


Entry = bytes | Fifo | Link | Locked


@dataclass
class Case:
    klass: str
    name: str
    files: dict[str, Entry]
    expect: str = "any"  # "refuse", "accept" or "any"
    user: bool = False  # render and plan in user mode as well
    notes: list[str] = field(default_factory=list)


IMAGE = "docker.io/library/nginx:1.27"

# Characters by class: what a unit file, a terminal or systemd may choke on.
CONTROLS = [chr(c) for c in [*range(0, 9), 11, 12, *range(14, 32), 0x7F, 0x80, 0x85, 0x9B, 0x9F]]
LINE_BREAKS = ["\n", "\r", "\r\n", "\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\x85"]
FORMAT = ["\u200b", "\u200e", "\u200f", "\u202a", "\u202e", "\u2066", "\u2069", "\ufeff"]
FORMAT += ["\u00ad", "\u061c", "\u2060", "\U000e0001", "\u180e", "\u034f"]
NONCHARACTERS = ["\ufdd0", "\ufdef", "\ufffe", "\uffff", "\U0001fffe", "\U0010ffff"]
NONCHARACTERS += ["\U0005ffff", "\U000efffe"]
ODD_SPACE = ["\u00a0", "\u3000", "\u2003", "\t", " "]
SYNTAX = ["%", "%n", "%x", "%%", "$", "$X", "${X}", "$$", "\\", '"', "'", ";", "#", "=", ",", ":"]
SYNTAX += ["-", "--", "*", "?", "[", "{", "\\n", "\\x00", "`", "|", "&", "<", ">", "~", "!"]
VALID_ODD = ["é", "😀", "\U0010fffd", "\u0301", "Ω", "\uff21", "ﬁ"]


def hostile_strings() -> list[str]:
    """One string per hazard, inside a plain word, alone, at the start and at the end."""
    found: list[str] = []
    for ch in [*CONTROLS, *LINE_BREAKS, *FORMAT, *NONCHARACTERS, *ODD_SPACE, *SYNTAX, *VALID_ODD]:
        found += [f"a{ch}b", ch, f"{ch}a", f"a{ch}"]
    found += ["", " ", "a" * 300, "é" * 200, "-v/etc/x", "--privileged", "a\\", "a b", "/"]
    return list(dict.fromkeys(found))


LONG = [
    "x" * (128 * 1024 - 1),
    "x" * (128 * 1024),
    "x" * (200 * 1024),
    "é" * (64 * 1024),
    "%" * 70_000,
    "$" * 70_000,
    '"' * 70_000,
]


def base(uid: int, **keys: Any) -> dict[str, Any]:
    """A valid container table, with keys added or replaced (None: left out)."""
    return {k: v for k, v in {"image": IMAGE, **keys}.items() if v is not None}


def document(uid: int, container: dict[str, Any] | None = None, **extra: Any) -> bytes:
    """One file: the container web{uid}, a volume data{uid}, a network net{uid}, a db{uid},
    and the pod p{uid}, image i{uid}, build b{uid} or kube k{uid} given as extra tables."""
    tables: dict[str, dict[str, dict[str, Any]]] = {
        "container": {f"web{uid}": container if container is not None else base(uid)},
        "volume": {f"data{uid}": extra.pop("volume", {})},
        "network": {f"net{uid}": extra.pop("network", {"subnet": "10.89.0.0/24"})},
    }
    if "pod" in extra:
        tables["pod"] = {f"pod{uid}": extra.pop("pod")}
    tables["container"][f"db{uid}"] = extra.pop("db", {"image": IMAGE})
    for kind, prefix in KIND_PREFIX.items():
        if kind in extra:
            tables[kind] = {f"{prefix}{uid}": extra.pop(kind)}
    return toml_document(tables).encode("utf-8", "surrogatepass")


# the kinds of issue 12 in a slot's document, by the prefix of their name
KIND_PREFIX = {"pod": "p", "image": "i", "build": "b", "kube": "k"}
# what a build's context and a kube's YAML are, beside the definitions directory d/
CONTEXT = {"ctx/Containerfile": b"FROM docker.io/library/nginx:1.27\n", "ctx/msg": b"hi\n"}
KUBE_YAML = {"k.yaml": b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: kp\nspec:\n  containers:\n"
             b"  - name: c\n    image: docker.io/library/nginx:1.27\n"}  # fmt: skip


Maker = Callable[[int], Case]
# (class, key, how a value is placed): every string-taking place of the format.
StringSlot = Callable[[int, Any], dict[str, Any]]


def _slots() -> dict[str, StringSlot]:
    """Every place a string goes, as a function of (uid, value) -> container table (or a
    {"volume": ..., "network": ...} marker for those)."""

    def c(**keys: Any) -> Callable[[int, Any], dict[str, Any]]:
        def make(uid: int, value: Any) -> dict[str, Any]:
            return {"container": base(uid, **_fill(keys, value, uid))}

        return make

    def v(**keys: Any) -> Callable[[int, Any], dict[str, Any]]:
        return lambda uid, value: {"volume": _fill(keys, value, uid)}

    def n(**keys: Any) -> Callable[[int, Any], dict[str, Any]]:
        return lambda uid, value: {"network": {"subnet": "10.89.0.0/24", **_fill(keys, value, uid)}}

    def kind(name: str, required: dict[str, Any], member: dict[str, Any]) -> Any:
        """A slot in a [pod.X], [image.X], [build.X] or [kube.X] table: the table's required
        keys plus the slot's; the container web joins the resource with `member` (its name)."""

        def maker(**keys: Any) -> Callable[[int, Any], dict[str, Any]]:
            def make(uid: int, value: Any) -> dict[str, Any]:
                joined = {k: f"{KIND_PREFIX[name]}{uid}" for k in member}
                container = {**base(uid), **joined}
                if "build" in joined:
                    del container["image"]
                table = {**required, **_fill(keys, value, uid)}
                return {name: table, "container": container}

            return make

        return maker

    pod = kind("pod", {}, {"pod": True})
    img = kind("image", {"image": "docker.io/library/nginx:1.27"}, {})
    bld = kind("build", {"context": "../ctx"}, {"build": True})
    kub = kind("kube", {"yaml": "../k.yaml"}, {})
    return {
        **_new_kind_slots(pod, img, bld, kub),
        "image": c(image=V),
        "command.str": c(command=V),
        "command.item": c(command=["/bin/x", V]),
        "entrypoint.str": c(entrypoint=V),
        "entrypoint.item": c(entrypoint=["/bin/sh", V]),
        "environment.value": c(environment={"A": V}),
        "environment.key": c(environment={V: "x"}),
        "env_files": c(env_files=[V]),
        "env_files.rel": c(env_files=[Concat("./", V)]),
        "ports": c(ports=[V]),
        "volumes.str": c(volumes=[V]),
        "volumes.source": c(volumes=[{"source": Concat("/srv/", V), "target": "/d"}]),
        "volumes.relsource": c(volumes=[{"source": Concat("./", V), "target": "/d"}]),
        "volumes.target": c(volumes=[{"source": "/srv", "target": Concat("/", V)}]),
        "volumes.option": c(volumes=[{"source": "/srv", "target": "/d", "options": [V]}]),
        "tmpfs": c(tmpfs=[Concat("/t", V)]),
        "tmpfs.options": c(tmpfs=[Concat("/t:", V)]),
        "networks": c(networks=[V]),
        "network_aliases": c(networks=[Ref("net")], network_aliases=[V]),
        "hostname": c(hostname=V),
        "user": c(user=V),
        "workdir": c(workdir=Concat("/", V)),
        "labels.value": c(labels={"a": V}),
        "labels.key": c(labels={V: "x"}),
        "description": c(description=V),
        "depends_on.list": c(depends_on=[V]),
        "depends_on.table": c(depends_on={Ref("db"): V}),
        "restart": c(restart=V),
        "restart_sec": c(restart_sec=V),
        "start_timeout": c(start_timeout=V),
        "stop_timeout": c(stop_timeout=V),
        "health.command.str": c(health={"command": V}),
        "health.command.item": c(health={"command": ["/bin/check", V]}),
        "health.interval": c(health={"command": "true", "interval": V}),
        "health.timeout": c(health={"command": "true", "timeout": V}),
        "health.start_period": c(health={"command": "true", "start_period": V}),
        "health.on_failure": c(health={"command": "true", "on_failure": V}),
        "health.retries": c(health={"command": "true", "retries": V}),
        "memory_max": c(memory_max=V),
        "cpu_quota": c(cpu_quota=V),
        "tasks_max": c(tasks_max=V),
        "cap_add": c(cap_add=[V]),
        "cap_drop": c(cap_drop=[V]),
        "devices": c(devices=[V]),
        "devices.path": c(devices=[Concat("/dev/", V)]),
        "secrets.str": c(secrets=[V]),
        "secrets.name": c(secrets=[{"name": V}]),
        "secrets.type": c(secrets=[{"name": "s", "type": V}]),
        "secrets.target": c(secrets=[{"name": "s", "target": V}]),
        "secrets.envtarget": c(secrets=[{"name": "s", "type": "env", "target": V}]),
        "auto_update": c(auto_update=V),
        "pull": c(pull=V),
        "podman_args": c(podman_args=[V]),
        "podman_args.value": c(podman_args=[Concat("--annotation=a=", V)]),
        "unit.value": c(unit={"Unit": {"Documentation": Concat("https://x/", V)}}),
        "unit.xvalue": c(unit={"X-Mine": {"Note": V}}),
        "unit.env": c(unit={"Service": {"Environment": Concat("A=", V)}}),
        "unit.section": c(unit={V: {"Note": "x"}}),
        "unit.directive": c(unit={"Service": {V: "1"}}),
        "unit.xdirective": c(unit={"X-Mine": {V: "1"}}),
        "read_only": c(read_only=V),
        "enabled": c(enabled=V),
        "no_new_privileges": c(no_new_privileges=V),
        "volume.driver": v(driver=V),
        "volume.option.value": v(options={"type": V}),
        "volume.option.o": v(options={"type": "tmpfs", "device": "tmpfs", "o": V}),
        "volume.option.key": v(options={V: "x"}),
        "volume.label": v(labels={"a": V}),
        "volume.description": v(description=V),
        "network.driver": n(driver=V),
        "network.subnet": lambda uid, value: {"network": {"subnet": value}},
        "network.gateway": n(gateway=V),
        "network.ip_range": n(ip_range=V),
        "network.option": n(options={"mtu": V}),
        "network.option.key": n(options={V: "1"}),
        "network.label": n(labels={"a": V}),
        "network.description": n(description=V),
        "network.internal": n(internal=V),
        # the volume and network keys of Quadlet (issue 12)
        "volume.device": v(device=V),
        "volume.type": v(device="tmpfs", type=V),
        "volume.mount_options": v(device="tmpfs", type="tmpfs", mount_options=[V]),
        "volume.uid": v(uid=V),
        "volume.copy": v(copy=V),
        "volume.image": v(image=V),
        "volume.global_args": v(global_args=[V]),
        "volume.containers_conf_module": v(containers_conf_module=[V]),
        "volume.podman_args": v(podman_args=[V]),
        "network.subnets": lambda uid, value: {"network": {"subnets": [value]}},
        "network.subnets.gateway": lambda uid, value: {
            "network": {"subnets": [{"subnet": "10.89.0.0/24", "gateway": value}]}
        },
        "network.ipam_driver": n(ipam_driver=V),
        "network.delete_on_stop": n(delete_on_stop=V),
        "network.dns_servers": n(dns_servers=[V]),
        "network.global_args": n(global_args=[V]),
        "network.podman_args": n(podman_args=[V]),
        # the container keys of Quadlet (issue 12)
        "init": c(init=V),
        "stop_signal": c(stop_signal=V),
        "shm_size": c(shm_size=V),
        "ulimits.value": c(ulimits={"nofile": V}),
        "ulimits.key": c(ulimits={V: "1024"}),
        "sysctls.value": c(sysctls={"net.ipv4.ip_forward": V}),
        "sysctls.key": c(sysctls={V: "1"}),
        "dns": c(dns=[V]),
        "dns_search": c(dns_search=[V]),
        "dns_options": c(dns_options=[V]),
        "add_hosts.value": c(add_hosts={"db.local": V}),
        "add_hosts.key": c(add_hosts={V: "10.0.0.1"}),
        "pids_limit": c(pids_limit=V),
        "group_add": c(group_add=[V]),
        "expose": c(expose=[V]),
        "annotations.value": c(annotations={"a": V}),
        "annotations.key": c(annotations={V: "x"}),
        "ip": c(ip=V),
        "ip6": c(ip6=V),
        "mac_address": c(mac_address=V),
        "timezone": c(timezone=V),
        "environment_host": c(environment_host=V),
        "read_only_tmpfs": c(read_only=True, read_only_tmpfs=V),
        "mask": c(mask=[Concat("/", V)]),
        "unmask": c(unmask=[V]),
        "security_label_type": c(security_label_type=V),
        "security_label_level": c(security_label_level=V),
        "security_label_file_type": c(security_label_file_type=V),
        "security_label_disable": c(security_label_disable=V),
        "seccomp_profile": c(seccomp_profile=Concat("/", V)),
        "apparmor": c(apparmor=V),
        "userns": c(userns=V),
        "uid_map": c(uid_map=[V]),
        "sub_uid_map": c(sub_uid_map=V),
        "log_driver": c(log_driver=V),
        "log_options.value": c(log_options={"max-size": V}),
        "log_options.key": c(log_options={V: "x"}),
        "http_proxy": c(http_proxy=V),
        "privileged": c(privileged=V),
        "global_args": c(global_args=[V]),
        "notify": c(notify=V),
        "reload_command.str": c(reload_command=V),
        "reload_command.item": c(reload_command=["/bin/x", V]),
        "reload_signal": c(reload_signal=V),
        "mounts.str": c(mounts=[V]),
        "mounts.source": c(mounts=[Concat("type=bind,target=/m,source=/srv/", V)]),
        "health.startup_command": c(health={"command": "true", "startup_command": V}),
        "health.startup_interval": c(
            health={"command": "true", "startup_command": "true", "startup_interval": V}
        ),
    }


def _new_kind_slots(pod: Any, img: Any, bld: Any, kub: Any) -> dict[str, StringSlot]:
    """Every key of [pod.X], [image.X], [build.X] and [kube.X], and the container keys that
    name them (issue 12), as slots."""

    def c(**keys: Any) -> StringSlot:
        return lambda uid, value: {"container": base(uid, **_fill(keys, value, uid))}

    return {
        "container.pod": lambda uid, value: {"container": base(uid, pod=value), "pod": {}},
        "container.build": lambda uid, value: {
            "container": {"build": value},
            "build": {"context": "../ctx"},
        },
        "container.rootfs": lambda uid, value: {"container": {"rootfs": value, "command": ["/x"]}},
        "container.rootfs.rel": lambda uid, value: {
            "container": {"rootfs": _fill(Concat("./", V), value, uid), "command": ["/x"]}
        },
        "networks.container": c(networks=[Concat("container:", V)]),
        "devices.optional": c(devices=[Concat("-/dev/", V)]),
        "pod.ports": pod(ports=[V]),
        "pod.networks": pod(networks=[V]),
        "pod.network_aliases": pod(networks=[Ref("net")], network_aliases=[V]),
        "pod.volumes.str": pod(volumes=[V]),
        "pod.volumes.source": pod(volumes=[{"source": Concat("/srv/", V), "target": "/d"}]),
        "pod.volumes.relsource": pod(volumes=[{"source": Concat("./", V), "target": "/d"}]),
        "pod.hostname": pod(hostname=V),
        "pod.dns": pod(dns=[V]),
        "pod.dns_search": pod(dns_search=[V]),
        "pod.dns_options": pod(dns_options=[V]),
        "pod.add_hosts.key": pod(add_hosts={V: "10.0.0.1"}),
        "pod.add_hosts.value": pod(add_hosts={"db.local": V}),
        "pod.ip": pod(ip=V),
        "pod.ip6": pod(ip6=V),
        "pod.mac_address": pod(mac_address=V),
        "pod.userns": pod(userns=V),
        "pod.uid_map": pod(uid_map=[V]),
        "pod.gid_map": pod(gid_map=[V]),
        "pod.sub_uid_map": pod(sub_uid_map=V),
        "pod.sub_gid_map": pod(sub_gid_map=V),
        "pod.shm_size": pod(shm_size=V),
        "pod.labels.key": pod(labels={V: "x"}),
        "pod.labels.value": pod(labels={"a": V}),
        "pod.description": pod(description=V),
        "pod.global_args": pod(global_args=[V]),
        "pod.podman_args": pod(podman_args=[V]),
        "pod.unit.value": pod(unit={"Unit": {"Documentation": Concat("https://x/", V)}}),
        "pod.unit.directive": pod(unit={"Service": {V: "1"}}),
        "pod.enabled": pod(enabled=V),
        "image.image": img(image=V),
        "image.arch": img(arch=V),
        "image.os": img(os=V),
        "image.variant": img(variant=V),
        "image.all_tags": img(all_tags=V),
        "image.auth_file": img(auth_file=V),
        "image.auth_file.rel": img(auth_file=Concat("./", V)),
        "image.cert_dir": img(cert_dir=Concat("/etc/", V)),
        "image.creds": img(creds=V),
        "image.decryption_key": img(decryption_key=V),
        "image.tls_verify": img(tls_verify=V),
        "image.retry": img(retry=V),
        "image.retry_delay": img(retry_delay=V),
        "image.policy": img(policy=V),
        "image.description": img(description=V),
        "image.global_args": img(global_args=[V]),
        "image.podman_args": img(podman_args=[V]),
        "image.unit.value": img(unit={"X-Mine": {"Note": V}}),
        "build.context": bld(context=V),
        "build.context.rel": bld(context=Concat("./", V)),
        "build.file": bld(file=V),
        "build.tag": bld(tag=V),
        "build.args.key": bld(args={V: "x"}),
        "build.args.value": bld(args={"A": V}),
        "build.target": bld(target=V),
        "build.pull": bld(pull=V),
        "build.labels.key": bld(labels={V: "x"}),
        "build.labels.value": bld(labels={"a": V}),
        "build.annotations.key": bld(annotations={V: "x"}),
        "build.annotations.value": bld(annotations={"a": V}),
        "build.secrets": bld(secrets=[V]),
        "build.secrets.src": bld(secrets=[Concat("id=s,src=/run/", V)]),
        "build.network": bld(network=V),
        "build.volumes.str": bld(volumes=[V]),
        "build.volumes.source": bld(volumes=[{"source": Concat("/srv/", V), "target": "/d"}]),
        "build.ignore_file": bld(ignore_file=V),
        "build.description": bld(description=V),
        "build.global_args": bld(global_args=[V]),
        "build.podman_args": bld(podman_args=[V]),
        "build.unit.value": bld(unit={"Unit": {"Documentation": Concat("https://x/", V)}}),
        "kube.yaml": kub(yaml=V),
        "kube.yaml.rel": kub(yaml=Concat("./", V)),
        "kube.config_maps": kub(config_maps=[V]),
        "kube.networks": kub(networks=[V]),
        "kube.ports": kub(ports=[V]),
        "kube.userns": kub(userns=V),
        "kube.exit_code_propagation": kub(exit_code_propagation=V),
        "kube.auto_update": kub(auto_update=V),
        "kube.set_working_directory": kub(set_working_directory=V),
        "kube.log_driver": kub(log_driver=V),
        "kube.description": kub(description=V),
        "kube.enabled": kub(enabled=V),
        "kube.global_args": kub(global_args=[V]),
        "kube.podman_args": kub(podman_args=[V]),
        "kube.unit.value": kub(unit={"X-Mine": {"Note": V}}),
    }


class _Value:
    """The place of the value in a slot's template."""


V = _Value()


@dataclass(frozen=True)
class Concat:
    prefix: str
    value: _Value


@dataclass(frozen=True)
class Ref:
    """The name of this case's resource of that role (db, net, data)."""

    role: str


def _fill(template: Any, value: Any, uid: int) -> Any:
    if template is V:
        return value
    if isinstance(template, Concat):
        return template.prefix + value if isinstance(value, str) else value
    if isinstance(template, Ref):
        return f"{template.role}{uid}"
    if isinstance(template, list):
        return [_fill(item, value, uid) for item in template]
    if isinstance(template, dict):
        filled = {}
        for key, item in template.items():
            key = _fill(key, value, uid)
            if not isinstance(key, str):
                key = str(key)
            filled[key] = _fill(item, value, uid)
        return filled
    return template


SLOTS = _slots()


def slot_case(klass: str, slot: str, value: Any, uid: int, expect: str = "any") -> Case:
    filled = SLOTS[slot](uid, value)
    doc = document(
        uid,
        filled.get("container"),
        **{k: filled[k] for k in ("volume", "network", *KIND_PREFIX) if k in filled},
    )
    files: dict[str, Entry] = {"d/def.toml": doc}
    if "build" in filled:
        files.update(CONTEXT)
    if "kube" in filled:
        files.update(KUBE_YAML)
    return Case(klass, f"{slot}={_label(value)}", files, expect, user=True)


def _label(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --- the classes -------------------------------------------------------------------------------

SAMPLE_STRINGS = [
    "\x00", "\x01", "\x1b]0;x\x07", "\x7f", "\x85", "\x9b", "a\nb", "a\rb", "\u2028", "\t",
    "\u202e", "\u2066", "\u200b", "\ufeff", "\u00ad", "\U000e0001", "\ufdd0", "\ufffe",
    "\U0001fffe", "\U0010ffff", "\u00a0", "%", "%n", "%x", "%%", "$X", "${X}", "\\", "a\\",
    '"', "'", ";", "#", "=", ",", ":", "", " ", "-v/etc/x", "--privileged", "a b", "é😀",
    "..", "/", "x" * 300,
]  # fmt: skip
TYPES: list[Any] = [1, -1, 0, 1.5, float("inf"), float("nan"), True, [], {}, ["x", 1], {"a": 1},
                    2**63 - 1, -(2**63)]  # fmt: skip


def strings(full: bool, counter: Iterator[int]) -> Iterator[Case]:
    """Every hazard of text in every place a string goes."""
    chosen = hostile_strings() if full else SAMPLE_STRINGS
    for slot in SLOTS:
        for value in chosen:
            yield slot_case("strings", slot, value, next(counter))


def long_strings(full: bool, counter: Iterator[int]) -> Iterator[Case]:
    """Values at and past the sizes execve and systemd take, in every place."""
    chosen = LONG if full else LONG[:2] + LONG[4:5]
    for slot in SLOTS:
        for value in chosen:
            yield slot_case("long", slot, value, next(counter))


def types(full: bool, counter: Iterator[int]) -> Iterator[Case]:
    """Every other TOML type in every place."""
    for slot in SLOTS:
        for value in TYPES:
            yield slot_case("types", slot, value, next(counter))


LIMITS: dict[str, list[Any]] = {
    "memory_max": [
        1,
        0,
        -1,
        2**63 - 1,
        "1",
        "0",
        "0K",
        "1K",
        "512M",
        "1.5G",
        "0.5",
        "0.1",
        "1.0",
        "1.",
        ".5",
        "15E",
        "15.9E",
        "15.99999999E",
        "16E",
        "16384P",
        "16383.99P",
        "17179869183G",
        "17179869184G",
        "18446744073709551614",
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999999",
        "0%",
        "0.01%",
        "0.001%",
        "1%",
        "50%",
        "99.99%",
        "99.999%",
        "100%",
        "100.00%",
        "100.01%",
        "101%",
        "050%",
        "1e3",
        "1k",
        "1KB",
        "1 K",
        " 1K",
        "1K ",
        "infinity",
        "Infinity",
        "inf",
        "max",
        "-1",
        "+1",
        "0x10",
        "1_000",
        "\uff11",
        "1.5.5K",
        "1%%",
        "%",
        "50.%",
        "50.5%",
        ".5%",
        "00%",
        "0.00%",
    ],
    "tasks_max": [
        1,
        0,
        -1,
        2**63 - 1,
        "1",
        "10",
        "0%",
        "0.01%",
        "0.001%",
        "100%",
        "100.01%",
        "101%",
        "infinity",
        "max",
        "1K",
        "18446744073709551615",
        "18446744073709551614",
        "1.5",
        "050%",
    ],
    "cpu_quota": [
        "0%",
        "0.01%",
        "0.001%",
        "1%",
        "50%",
        "100%",
        "200%",
        "21474836.47%",
        "21474836.48%",
        "99999999999999999999%",
        "12345678901234567890%",
        "1.5%",
        "1.55%",
        "1.555%",
        "050%",
        "50",
        50,
        "50 %",
        "infinity",
        "",
        "%",
        "-1%",
        "+1%",
    ],
    "restart_sec": [
        0,
        1,
        -1,
        2**40,
        3_153_600_000,
        3_153_600_001,
        "0",
        "1s",
        "1ms",
        "0.5ms",
        "1us",
        "1.5",
        "1min 30s",
        "1min30s",
        "1 min",
        "infinity",
        "1y",
        "1w",
        "100years",
        "1d",
        "36500d",
        "36501d",
        "0.0001s",
        "1.000000001s",
        "1e3",
        "-1s",
        "1S",
        "1MIN",
        "1h 1h",
        "",
        " ",
        "1s ",
        " 1s",
        "1.s",
        ".5s",
        "5 s",
        "1m",
        "1M",
        "1usec",
        "1msec",
        "9" * 30 + "s",
    ],
    "stop_timeout": [0, 1, 10, "10s", "500ms", "1.5s", "1min", "2562047h", 2**40, -1, "0"],
    "start_timeout": [0, "0", "infinity", "1s", "100years", -5],
    "health.interval": [0, 1, "1s", "999ms", "0.5s", "100years", "1h"],
    "health.retries": [0, 1, -1, 2**31, 2**63 - 1, "3"],
    "pod.shm_size": [0, 1, -1, "0", "1", "64m", "64M", "1g", "1.5g", "1t", "9" * 30, "64 m", "m"],
    "image.retry": [0, 1, 1000, 1001, -1, 2**63 - 1, "3"],
    "image.retry_delay": [0, 1, "1s", "999ms", "1.5s", "1min", "100years", -1, "0"],
    "pod.ports": ["0:80", "65535:65535", "65536:80", "8000-8001:80-81", "8001-8000:81-80", "80"],
    "kube.ports": ["0:80", "65535:65535", "65536:80", "8000-8001:80-81", "[::1]:80:80", "80"],
    "ports": [
        "0:80",
        "1:1",
        "65535:65535",
        "65536:80",
        "80:65536",
        "80:0",
        "8000-8001:80-81",
        "8001-8000:81-80",
        "8000-8002:80-81",
        "1-65535:1-65535",
        "127.0.0.1:80:80",
        "256.0.0.1:80:80",
        "[::1]:80:80",
        "[::1]80:80",
        "::1:80:80",
        "[fe80::1%eth0]:80:80",
        "80:80/tcp",
        "80:80/TCP",
        "80:80/udp",
        "80:80/sctp",
        "80:80/",
        "80:80/xyz",
        ":80",
        "80:",
        "80",
        "080:80",
        "+80:80",
        " 80:80",
        "80:80 ",
        "१२:80",
        "0.0.0.0:80:80",
        "[::]:80:80",
        "a:80:80",
        "80:80:80",
        "1.2.3:80:80",
        "8000-:80-",
        "-1:80",
        "80:80/tcp/udp",
    ],
}


def limits(full: bool, counter: Iterator[int]) -> Iterator[Case]:
    for key, chosen in LIMITS.items():
        slot = key if key in SLOTS else None
        for value in chosen:
            uid = next(counter)
            if slot:
                yield slot_case("limits", slot, value, uid)
            else:  # ports
                container = base(uid, ports=[value])
                doc = document(uid, container)
                yield Case("limits", f"{key}={_label(value)}", {"d/def.toml": doc})
    # a host port published twice, across files and protocols
    for a, b in [
        ("80:80", "80:81"),
        ("80:80/udp", "80:80"),
        ("127.0.0.1:80:80", "80:81"),
        ("127.0.0.1:80:80", "127.0.0.2:80:81"),
        ("8000-8010:80-90", "8005:1"),
    ]:
        uid = next(counter)
        doc = document(uid, base(uid, ports=[a]), db={"image": IMAGE, "ports": [b]})
        yield Case("limits", f"ports clash {a} {b}", {"d/def.toml": doc})


IMAGES = [
    "nginx", "nginx:1.27", "docker.io/library/nginx:1.27", "localhost/busybox:test",
    "localhost:5000/a/b:c", "registry.example.com:443/x", "-v/etc/x", "--privileged", "-",
    "nginx:-x", "Nginx", "docker.io/Library/nginx", "DOCKER.IO/library/nginx", "nginx:",
    ":tag", "nginx@", "nginx@sha256:abc", "nginx@sha256:" + "a" * 64,
    "nginx:1@sha256:" + "a" * 64, "nginx@sha256:" + "A" * 64, "nginx@md5:" + "a" * 32,
    "[::1]:5000/a", "127.0.0.1:5000/a", "docker://nginx", "oci:/x", "containers-storage:x",
    "a//b", "a/./b", "a/../b", "/nginx", "nginx/", ".nginx", "nginx.", "a__b", "a___b", "a--b",
    "a..b", "a-", "-a", "_a", "a" * 256, "a" * 255, "a:" + "t" * 128, "a:" + "t" * 129,
    "x.io/" + "/".join(["a"] * 127), "nginx latest", "nginx\tx", "ngin\u200bx", "nginx:1.27\n",
    "\uff4e\uff47\uff49\uff4e\uff58", "localhost", "localhost:5000", "a:b:c", "a@b@c",
    "sha256:" + "a" * 64,
    "a" * 64, "ex ample.com/a", "exa_mple.com/a", "-example.com/a", "example-.com/a",
    "example.com:0/a", "example.com:99999/a", "example.com:/a", "docker.io/nginx:%n",
]  # fmt: skip


def images(full: bool, counter: Iterator[int]) -> Iterator[Case]:
    for image in IMAGES:
        yield slot_case("images", "image", image, next(counter))
    for image in ["nginx", "-v/etc/x", "a" * 256]:  # auto_update's fully qualified check
        uid = next(counter)
        doc = document(uid, base(uid, image=image, auto_update="registry"))
        yield Case("images", f"auto_update {image[:20]}", {"d/def.toml": doc})


NAMES = [
    "web", "a", "0", "a" * 128, "a" * 129, "-a", ".a", "_a", "a.", "a..b", "a@b", "a@", "a b",
    "a/b", "a\\b", "a:b", "a%b", "a$b", "é", "a\u200bb", "a\nb", "", "ssh", "systemd-journald",
    "dbus", "init", "default", "multi-user", "network-online", "a.service", "a.target",
    "a.mount", "x-volume", "x-network", "-", "--", "web.", "web-", "a" * 127 + "-", "host",
    "none", "bridge", "podman", "pasta", "NAME", "Web", "A.B-C_D", "a;b", "a*b", "a[b]",
    "%n", "a" * 300,
]  # fmt: skip


def names(full: bool, counter: Iterator[int]) -> Iterator[Case]:
    """Resource names as containers, volumes and networks, and clashes between them."""
    for name in NAMES:
        for kind in ("container", "volume", "network"):
            uid = next(counter)
            tables: dict[str, Any] = {kind: {name: {"image": IMAGE} if kind == "container" else {}}}
            if kind != "container":
                ref = {"volume": {"volumes": [f"{name}:/d"]}, "network": {"networks": [name]}}
                tables["container"] = {f"web{uid}": base(uid, **ref[kind])}
            yield Case("names", f"{kind} {_label(name)}", {"d/def.toml": _doc(tables)}, user=True)
    for pair in [("x", "x"), ("x-volume", "x"), ("x-network", "x")]:
        uid = next(counter)
        tables = {
            "container": {pair[0] + str(uid): {"image": IMAGE}},
            "volume": {pair[1] + str(uid): {}},
        }
        yield Case("names", f"clash {pair}", {"d/def.toml": _doc(tables)})
    uid = next(counter)
    dup = _doc({"container": {f"w{uid}": {"image": IMAGE}}})
    yield Case("names", "defined twice", {"d/a.toml": dup, "d/b.toml": dup}, "refuse")


def _doc(tables: dict[str, Any]) -> bytes:
    return toml_document(tables).encode("utf-8", "surrogatepass")


PATH_PARTS = [
    "a b", "a\nb", "a\rb", "a\tb", "\x1b]0;x\x07", "a%b", "%n", "a$b", "${X}", "a:b", "a,b",
    "a\\b", 'a"b', "a'b", "a;b", "#a", "-a", "é😀", "a\u202eb", "a\u200bb", "a\ufffeb",
    "a\U0010ffffb", "\udcff", "a\udc80b", "a\x7fb", "a\x85b", "n" * 255, "é" * 127, "..a",
    "a=b", "[a]", "a*b",
]  # fmt: skip


def paths(full: bool, counter: Iterator[int]) -> Iterator[Case]:
    """Odd directory and file names: they reach the units as Source=, the header, relative bind
    sources (RequiresMountsFor=) and env files."""
    for part in PATH_PARTS:
        for layout in ("dir", "file", "rel"):
            uid = next(counter)
            container = base(uid)
            if layout == "rel":
                container = base(uid, volumes=["./data:/data"], env_files=["./x.env"])
            doc = document(uid, container)
            if layout == "file" and len(part.encode("utf-8", "surrogateescape")) > 250:
                continue  # the file system's own limit
            name = f"d/{part}/def.toml" if layout != "file" else f"d/{part}.toml"
            yield Case("paths", f"{layout} {_label(part)}", {name: doc}, user=True)
    # absolute and relative sources with every hazard, as strings and as tables
    sources = ["/srv/../etc", "/", "//srv", "/srv/./x", "./", ".", "..", "../..", "./a/../../b",
               "/srv/a b", "/srv/a%b", "/srv/a$b", "/srv/a,b", "/srv/a\\b", "/srv/a:b", "~/x",
               "srv", "a/b", "/srv/" + "n" * 256, "/" + "/".join(["n" * 255] * 16),
               "/" + "/".join(["n" * 200] * 20)]  # fmt: skip
    for source in sources:
        for form in ("str", "table"):
            uid = next(counter)
            volume = f"{source}:/d" if form == "str" else {"source": source, "target": "/d"}
            doc = document(uid, base(uid, volumes=[volume]))
            yield Case("paths", f"volume {form} {_label(source)}", {"d/def.toml": doc})
    # a long directory that every relative path of many volumes repeats: RequiresMountsFor=
    # and the command line grow with it, though the file stays small
    deep = "/".join(["n" * 250] * 15)
    for count in (1, 100, 300, 1100):
        uid = next(counter)
        rel = [f"./v{i}:/v{i}" for i in range(count)]
        doc = document(uid, base(uid, volumes=rel, env_files=[f"./e{i}" for i in range(count)]))
        yield Case("paths", f"long base x{count}", {f"d/{deep}/def.toml": doc})
    # the paths a build and a kube read, named with every hazard (issue 12)
    for part in PATH_PARTS:
        if len(part.encode("utf-8", "surrogateescape")) > 250:
            continue
        for slot in ("build.context.rel", "kube.yaml.rel", "image.auth_file.rel"):
            uid = next(counter)
            case = slot_case("paths", slot, part, uid)
            if slot == "build.context.rel":  # the context exists, under that name
                case.files[f"d/{part}/Containerfile"] = CONTEXT["ctx/Containerfile"]
            elif slot == "kube.yaml.rel":
                case.files[f"d/{part}"] = KUBE_YAML["k.yaml"]
            yield case
    for workdir in ["/", "/a/../b", "//x", "/a b", "a", "./a", "/" + "n" * 4095, "/" + "n" * 256]:
        yield slot_case("paths", "workdir", workdir, next(counter))
        yield slot_case("paths", "tmpfs", workdir, next(counter))


OVERRIDE_SECTIONS = ["Unit", "Service", "Install", "X-Mine", "X-", "X-Orchestrator", "unit",
                     "SERVICE", "Timer", "Socket", "Mount", "Path", "X-a b", "X-é", "X-[x]",
                     " Unit", "Unit ", "", "X-\n", "X-Mine=1", "Container", "Quadlet"]  # fmt: skip
OVERRIDE_DIRECTIVES = [
    "Nice", "nice", "NICE", "Foo", "X-Foo", "x-foo", "X-", "-Nice", "Nice ", " Nice", "Ni ce",
    "A=B", "Ni\nce", "Nicé", "N1ce", "1Nice", "ExecStart", "ExecStartPre", "ExecStop",
    "ExecStopPost", "ExecReload", "ExecCondition", "Type", "NotifyAccess", "Environment",
    "EnvironmentFile", "KillMode", "Delegate", "Restart", "TimeoutStopSec", "Slice", "User",
    "Alias", "Also", "DefaultInstance", "WantedBy", "RequiredBy", "UpheldBy", "Description",
    "Documentation", "After", "Before", "Wants", "Requires", "Conflicts", "OnFailure",
    "PartOf", "BindsTo", "SourcePath", "Names", "Following", "Id", "N" * 300, "",
]  # fmt: skip
OVERRIDE_VALUES: list[Any] = [
    "1", "yes", "abc", "", " ", "%n", "%i", "%H", "%x", "%%", "$X", "a\\", "a\\\nb", "ssh.service",
    "cron.service", "multi-user.target", "reboot.target", "%N-volume.service", "-.mount",
    "system.slice", "user.slice", "/bin/true", "-/bin/false", "x" * 70_000, ["a", "b"], [], 1,
    -1, True, 1.5, {"a": 1}, "a b", '"a b"', "a;b", "\ufffe", "\u202e",
]  # fmt: skip
# directive -> values that fit it, to test reach and acceptance where the name is right
REACH = {
    "Unit": ["Wants", "Requires", "Requisite", "BindsTo", "Upholds", "PartOf", "OnFailure",
             "OnSuccess", "Before", "After", "Conflicts", "PropagatesReloadTo",
             "ReloadPropagatedFrom", "PropagatesStopTo", "StopPropagatedFrom",
             "JoinsNamespaceOf"],
    "Install": ["WantedBy", "RequiredBy", "UpheldBy", "Alias", "Also", "DefaultInstance"],
    "Service": ["Slice", "Sockets"],
}  # fmt: skip
REACH_VALUES = [
    "ssh.service", "sshd.service", "cron.service", "multi-user.target", "default.target",
    "graphical.target", "reboot.target", "rescue.target", "network-online.target",
    "%n", "%N.service", "%p.service", "%i.service", "%H.service", "db{uid}.service",
    "data{uid}-volume.service", "net{uid}-network.service", "web{uid}.service",
    "db{uid}.service ssh.service", "system.slice", "user.slice", "machine.slice", "app.slice",
    "-.slice", "%%.service", "ssh.socket", "a.mount", "", " ", "db{uid}", "DB{uid}.service",
    "db{uid}.service\\", "multi-user.target%", "\\x2d.service",
]  # fmt: skip


def overrides(full: bool, counter: Iterator[int]) -> Iterator[Case]:
    """unit tables: every shape of section and directive name, values of every kind, and the
    directives that reach other units with own, foreign and special names."""
    for section in OVERRIDE_SECTIONS:
        uid = next(counter)
        doc = document(
            uid, base(uid, unit={section: {"X-Note" if section == "Unit" else "Nice": "1"}})
        )
        yield Case("overrides", f"section {_label(section)}", {"d/def.toml": doc})
    for section in ("Unit", "Service", "Install", "X-Mine"):
        for directive in OVERRIDE_DIRECTIVES:
            values = OVERRIDE_VALUES if full else ["1", "abc", "%n", "x" * 70_000]
            for value in values:
                uid = next(counter)
                doc = document(uid, base(uid, unit={section: {directive: value}}))
                label = f"{section}.{_label(directive)}={_label(value)}"
                yield Case("overrides", label, {"d/def.toml": doc}, user=True)
    for section, directives in REACH.items():
        for directive in directives:
            for value in REACH_VALUES:
                uid = next(counter)
                value = value.replace("{uid}", str(uid))
                doc = document(uid, base(uid, unit={section: {directive: value}}))
                label = f"{section}.{directive}={_label(value)}"
                yield Case("overrides", label, {"d/def.toml": doc}, user=True)
    for count in (1, 500, 20_000):  # many values of a repeated directive
        uid = next(counter)
        doc = document(
            uid, base(uid, unit={"Service": {"Environment": [f"A{i}=b" for i in range(count)]}})
        )
        yield Case("overrides", f"Environment x{count}", {"d/def.toml": doc})


def nesting(full: bool, counter: Iterator[int]) -> Iterator[Case]:
    """Deep nesting, huge files, huge integers, long chains: none may crash or hang."""
    for depth in (10, 63, 64, 65, 100, 499, 500, 1000, 100_000):
        for shape in ("array", "table", "inline"):
            uid = next(counter)
            if shape == "array":
                value = "[" * depth + "1" + "]" * depth
                text = f'[container.web{uid}]\nimage = "{IMAGE}"\ncommand = {value}\n'
            elif shape == "inline":
                value = "{a=" * depth + "1" + "}" * depth
                text = f'[container.web{uid}]\nimage = "{IMAGE}"\nlabels = {value}\n'
            else:
                text = (
                    f'[container.web{uid}]\nimage = "{IMAGE}"\n[container.web{uid}.unit.X-a'
                    + (".a" * depth)
                    + "]\nb = 1\n"
                )
            yield Case("nesting", f"{shape} {depth}", {"d/def.toml": text.encode()}, "any")
    for digits in (19, 20, 4300, 4301, 10_000):
        uid = next(counter)
        text = f'[container.web{uid}]\nimage = "{IMAGE}"\ntasks_max = {"9" * digits}\n'
        yield Case("nesting", f"integer {digits} digits", {"d/def.toml": text.encode()})
    for size in (1024 * 1024 - 1, 1024 * 1024, 1024 * 1024 + 1, 5 * 1024 * 1024):
        uid = next(counter)
        head = f'[container.web{uid}]\nimage = "{IMAGE}"\n#'.encode()
        yield Case(
            "nesting", f"file of {size} bytes", {"d/def.toml": head + b"x" * (size - len(head))}
        )
    for count in (1000, 3000):
        uid = next(counter)
        chain = {f"c{uid}x{i}": base(uid, depends_on=[f"c{uid}x{i + 1}"]) for i in range(count)}
        chain[f"c{uid}x{count}"] = base(uid)
        yield Case(
            "nesting", f"depends_on chain {count}", {"d/def.toml": _doc({"container": chain})}
        )
        loop = dict(chain)
        loop[f"c{uid}x{count}"] = base(uid, depends_on=[f"c{uid}x0"])
        yield Case(
            "nesting",
            f"depends_on cycle {count}",
            {"d/def.toml": _doc({"container": loop})},
            "refuse",
        )
    uid = next(counter)
    many = {f"c{uid}x{i}": base(uid) for i in range(2000)}
    yield Case("nesting", "2000 containers", {"d/def.toml": _doc({"container": many})})
    for count in (10_000, 60_000):
        uid = next(counter)
        doc = document(
            uid, base(uid, command=["x"] * count, labels={f"k{i}": "v" for i in range(count // 10)})
        )
        yield Case("nesting", f"long lists {count}", {"d/def.toml": doc})
    for text in [
        b"\xff\xfe",
        b"\xef\xbb\xbf",
        b"\xef\xbb\xbf\xef\xbb\xbf",
        b"\x00",
        b'a = "\xc3\x28"',
        b'[container.x]\nimage = "\\ud800"\n',
        b'[container.x]\nimage = "\\uDFFF"\n',
        b'[container.x]\nimage = "\\U00110000"\n',
        b"[container]\nx = 1\n",
        b"container = 1\n",
        b"[[container]]\n",
        b"[container.x]\n",
        b"",
        b"\n" * 100_000,
        b"# " + b"\xe2\x80\xae" * 10 + b"\n",
        b'[container."\\u001b"]\nimage="a"\n',
        b"[container.a]\nimage = 'nginx'\n[container.a]\nimage = 'nginx'\n",
        b"[volume.v]\ndriver = 1979-05-27\n",
        b"[network.n]\nsubnet = 07:32:00\n",
    ]:
        yield Case("nesting", f"raw {_label(text)}", {"d/def.toml": text})


def filesystem(full: bool, counter: Iterator[int]) -> Iterator[Case]:
    """Symbolic link games, FIFOs, devices, unreadable directories, odd entries."""
    ok = document(next(counter))
    yield Case("fs", "fifo", {"d/ok.toml": ok, "d/x.toml": Fifo()}, "refuse")
    yield Case("fs", "fifo not toml", {"d/ok.toml": ok, "d/x.txt": Fifo()}, "accept")
    yield Case("fs", "dev zero", {"d/ok.toml": ok, "d/x.toml": Link("/dev/zero")}, "refuse")
    yield Case("fs", "dev null", {"d/ok.toml": ok, "d/x.toml": Link("/dev/null")}, "refuse")
    yield Case("fs", "dev tty", {"d/ok.toml": ok, "d/x.toml": Link("/dev/tty")}, "refuse")
    yield Case("fs", "proc file", {"d/ok.toml": ok, "d/x.toml": Link("/proc/self/environ")})
    yield Case("fs", "dangling", {"d/ok.toml": ok, "d/x.toml": Link("nowhere")}, "refuse")
    yield Case("fs", "dangling dir", {"d/ok.toml": ok, "d/sub": Link("nowhere")}, "refuse")
    yield Case("fs", "self loop", {"d/ok.toml": ok, "d/x.toml": Link("x.toml")}, "refuse")
    yield Case("fs", "dir loop", {"d/ok.toml": ok, "d/sub/up": Link("..")}, "refuse")
    yield Case(
        "fs",
        "dir loop 2",
        {"d/ok.toml": ok, "d/a/b": Link("../c"), "d/c/a": Link("../a")},
        "refuse",
    )
    yield Case(
        "fs", "two links", {"d/ok.toml": ok, "d/l1": Link("/etc/ssl"), "d/l2": Link("/etc/ssl")}
    )
    other = document(next(counter))
    yield Case(
        "fs",
        "link to file elsewhere",
        {"d/ok.toml": ok, "e/o.toml": other, "d/o.toml": Link("../e/o.toml")},
        "accept",
    )
    yield Case(
        "fs",
        "link to dir elsewhere",
        {"d/ok.toml": ok, "e/o.toml": other, "d/sub": Link("../e")},
        "accept",
    )
    yield Case("fs", "link to root", {"d/ok.toml": ok, "d/root": Link("/")}, "any")
    yield Case("fs", "dir named toml", {"d/ok.toml": ok, "d/x.toml/y.toml": other}, "accept")
    yield Case(
        "fs", "hidden", {"d/ok.toml": ok, "d/.x.toml": b"garbage", "d/.git/y.toml": b"["}, "accept"
    )
    yield Case(
        "fs",
        "locked dir",
        {"d/ok.toml": ok, "d/team": Locked({"api.toml": other})},
        "refuse" if os.geteuid() != 0 else "any",
    )
    yield Case("fs", "empty dir", {"d/x.txt": b""}, "any")
    yield Case("fs", "upper-case suffix", {"d/ok.toml": ok, "d/x.TOML": b"["}, "accept")
    yield Case("fs", "toml~ backup", {"d/ok.toml": ok, "d/x.toml~": b"["}, "accept")
    deep = "/".join(["n"] * 900)
    yield Case("fs", "deep tree", {"d/ok.toml": ok, f"d/{deep}/x.toml": other})


CLASSES: dict[str, Callable[[bool, Iterator[int]], Iterator[Case]]] = {
    "strings": strings,
    "long": long_strings,
    "types": types,
    "limits": limits,
    "images": images,
    "names": names,
    "paths": paths,
    "overrides": overrides,
    "nesting": nesting,
    "fs": filesystem,
}


def all_cases(full: bool, classes: list[str] | None = None) -> Iterator[Case]:
    counter = itertools.count(1)
    for name, make in CLASSES.items():
        if classes is None or name in classes:
            yield from make(full, counter)
