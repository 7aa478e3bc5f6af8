"""The validated, immutable shape of the definitions (pydantic v2, unknown keys forbidden).

Values are checked by the parsers in values.py; cross-references between resources (dependencies,
volumes, networks, cycles, name clashes) are checked by the loader once every file is read.
"""

# No `from __future__ import annotations` here: pydantic would compile every field's annotation
# from its string when the models are built, a third of their build time at each start-up.
import os
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from orchestrator.core import values
from orchestrator.core.buildctx import Inputs
from orchestrator.core.quoting import check_printable
from orchestrator.errors import QuotingError

Duration = Annotated[int, BeforeValidator(values.duration_ms)]  # milliseconds
Name = Annotated[str, AfterValidator(values.name)]
AbsPath = Annotated[str, AfterValidator(values.absolute_path)]
Scalar = Annotated[str, BeforeValidator(values.scalar_text)]
EnvName = Annotated[str, AfterValidator(values.env_name)]
LabelKey = Annotated[str, AfterValidator(values.label_key)]
Labels = dict[LabelKey, Scalar]


def _no_comma(value: str) -> str:
    """podman 4.3 reads these flags as comma-separated lists: a comma would split the value."""
    if "," in value:
        raise ValueError(f"podman splits this flag's value at commas, got {values.show(value)}")
    return value


NoComma = AfterValidator(_no_comma)
CommaFreeScalar = Annotated[str, BeforeValidator(values.scalar_text), NoComma]
Signal = Annotated[str, BeforeValidator(values.signal)]

PullPolicy = Literal["missing", "always", "never", "newer"]
RestartPolicy = Literal[
    "no", "on-success", "on-failure", "on-abnormal", "on-abort", "on-watchdog", "always"
]


class Model(BaseModel):
    # defer_build: a model's validator is built when first used, so that a run builds only the
    # kinds it reads (most read containers alone), each once
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)


def _command_or_shell(value: Any) -> Any:
    """A string is kept as a shell command, an array as an exec-form command."""
    if isinstance(value, str):
        if not value.strip():
            raise ValueError('expected a non-empty command, got ""')
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        if value[0] in ("CMD", "CMD-SHELL", "NONE"):
            raise ValueError(
                f"expected the command itself, got {values.show(value[0])} first: an array runs "
                "directly and a string runs in a shell, so Docker's prefixes are not needed"
            )
        if len(value) == 1 and any(c.isspace() for c in value[0]):
            raise ValueError(f"expected a program without spaces, got {values.show(value[0])}")
        return value
    raise ValueError(f"expected a non-empty array of strings or a string, got {values.show(value)}")


CommandOrShell = Annotated[str | list[str], BeforeValidator(_command_or_shell)]


def _entrypoint(value: Any) -> Any:
    """A string is split into words as `command` is (podman would run "sh -c" as the one program
    "sh -c"); a single plain word stays a string, so its unit reads as it always did."""
    if isinstance(value, str):
        words = values.argv(value)
        return value if words == [value] and not value.startswith("[") else words
    return _command_or_shell(value)


Entrypoint = Annotated[str | list[str], BeforeValidator(_entrypoint)]


def _free_text(value: Any) -> Any:
    if isinstance(value, str) and value.endswith("\\"):
        raise ValueError("a value may not end with a backslash (systemd reads it as a line break)")
    return value


Description = Annotated[str, BeforeValidator(_free_text)]


def _health_log(value: str) -> str:
    if value in ("local", "events_logger"):
        return value
    if value.startswith("/"):
        return _no_colon(values.absolute_path(value))
    raise ValueError(
        'expected "local", "events_logger" or the absolute path of a directory, '
        f"got {values.show(value)}"
    )


STARTUP_KEYS = ("startup_interval", "startup_timeout", "startup_retries", "startup_success")


class Health(Model):
    command: CommandOrShell
    interval: Duration | None = None
    timeout: Duration | None = None
    retries: Annotated[int, Field(ge=1)] | None = None
    start_period: Duration | None = None
    on_failure: Literal["none", "kill", "stop"] = "none"

    @field_validator("on_failure", mode="before")
    @classmethod
    def _no_podman_restart(cls, value: Any) -> Any:
        if value == "restart":
            raise ValueError(
                'expected "none", "kill" or "stop", got "restart": podman\'s restart would fight '
                'systemd; use "kill" and let the unit\'s restart policy bring it back'
            )
        return value

    startup_command: CommandOrShell | None = None
    startup_interval: Duration | None = None
    startup_timeout: Duration | None = None
    startup_retries: Annotated[int, Field(ge=1)] | None = None
    startup_success: Annotated[int, Field(ge=1)] | None = None
    log_destination: Annotated[str, AfterValidator(_health_log)] | None = None
    log_count: Annotated[int, Field(ge=0)] | None = None
    log_size: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _startup(self) -> "Health":
        given = [k for k in STARTUP_KEYS if getattr(self, k) is not None]
        if given and self.startup_command is None:
            raise ValueError(f"{given[0]} needs startup_command, the startup check itself")
        return self

    @field_validator("interval", "timeout", "startup_interval", "startup_timeout")
    @classmethod
    def _positive(cls, value: int | None) -> int | None:
        if value is not None and value < 1000:
            raise ValueError(f"expected at least 1s, got {values.format_duration(value)}")
        return value


def _no_colon(path: str) -> str:
    if ":" in path:
        raise ValueError(
            f"podman splits --volume at colons, so this path cannot be mounted: "
            f"{values.show(path)} (rename it, or the directory it is in)"
        )
    return _host_path(path)


def _host_path(path: str) -> str:
    """A host path as it will be written into the unit: a path made from the definition file's
    directory may hold what the definition itself could not (a newline, a noncharacter)."""
    try:
        check_printable(path)
    except QuotingError as exc:
        raise ValueError(
            f"{exc}: {values.show(path)} (rename it, or the directory it is in)"
        ) from None
    return values.path_length(path)


class Mount(Model):
    """A volume mount: a bind mount of a host path or a named volume."""

    source: str
    target: AbsPath
    options: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return value
        if not isinstance(value, str):
            raise ValueError(
                f'expected "SOURCE:TARGET[:OPTIONS]" or a table {{ source, target, options }}, '
                f"got {values.show(value)}"
            )
        parts = value.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise ValueError(
                f'expected "SOURCE:TARGET[:OPTIONS]" with a host path or volume name as SOURCE, '
                f"got {values.show(value)}"
            )
        options = parts[2].split(",") if len(parts) == 3 else []
        return {"source": parts[0], "target": parts[1], "options": options}

    @field_validator("source")
    @classmethod
    def _source(cls, value: str, info: ValidationInfo) -> str:
        if value.startswith("/"):
            return _no_colon(os.path.normpath(value))
        if value in (".", "..") or value.startswith(("./", "../")):
            base = (info.context or {}).get("base_dir", ".")
            return _no_colon(os.path.normpath(os.path.join(base, value)))
        return values.name(value, "a host path (absolute, or starting with ./) or a volume name")

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        return _no_colon(value)

    @field_validator("options")
    @classmethod
    def _options(cls, value: list[str]) -> list[str]:
        for option in value:
            if option not in values.VOLUME_OPTIONS:
                known = ", ".join(sorted(values.VOLUME_OPTIONS))
                raise ValueError(f"expected mount options from {known}; got {values.show(option)}")
        return value

    @property
    def is_bind(self) -> bool:
        return self.source.startswith("/")

    def podman_value(self) -> str:
        text = f"{self.source}:{self.target}"
        return f"{text}:{','.join(self.options)}" if self.options else text


def _string_or_table(value: Any, key: str, expected: str) -> Any:
    """A table, or the short form: a string that is the table's one required key."""
    if isinstance(value, str):
        return {key: value}
    if isinstance(value, dict):
        return value
    raise ValueError(f"expected {expected}, got {values.show(value)}")


class Secret(Model):
    name: Name
    type: Literal["mount", "env"] = "mount"
    target: str | None = None
    # the owner and mode of the file of a mounted secret (podman's uid=, gid=, mode=)
    uid: Annotated[int, Field(ge=0)] | None = None
    gid: Annotated[int, Field(ge=0)] | None = None
    mode: Annotated[str, Field(pattern=r"^[0-7]{3,4}$")] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        expected = "a secret name or a table { name, type, target, uid, gid, mode }"
        return _string_or_table(value, "name", expected)

    @model_validator(mode="after")
    def _target(self) -> "Secret":
        if self.type == "env" and (self.uid, self.gid, self.mode) != (None, None, None):
            raise ValueError("uid, gid and mode are of a mounted secret's file, not of type env")
        if self.target is None:
            return self
        if self.type == "env":
            values.env_name(self.target)
        elif "," in self.target or not self.target:
            raise ValueError(
                f"expected a file name or path as target, got {values.show(self.target)}"
            )
        return self

    def podman_value(self) -> str:
        text = self.name
        if self.type != "mount":
            text += f",type={self.type}"
        if self.target is not None:
            text += f",target={self.target}"
        for key in ("uid", "gid", "mode"):
            if getattr(self, key) is not None:
                text += f",{key}={getattr(self, key)}"
        return text


def _depends_on(value: Any) -> Any:
    if isinstance(value, list):
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f"expected container names as strings, got {values.show(item)}")
        return dict.fromkeys(value, "started")
    return value


UnitScalar = Annotated[str, BeforeValidator(lambda v: _unit_value(v))]
SectionName = Annotated[str, AfterValidator(lambda v: _section_name(v))]
DirectiveName = Annotated[str, AfterValidator(lambda v: _directive_name(v))]


def _unit_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if value.endswith("\\"):
            raise ValueError(
                "a value may not end with a backslash (systemd reads it as a line break)"
            )
        return values.unit_specifiers(value)
    raise ValueError(f"expected a string, integer or boolean, got {values.show(value)}")


def _section_name(value: str) -> str:
    if value == "X-Orchestrator":
        raise ValueError('section "X-Orchestrator" is the orchestrator\'s own mark')
    # systemd ignores any other section of a service unit ("Unknown section"), and with it
    # every setting the operator put there
    known = value in ("Unit", "Service", "Install") or value.startswith("X-")
    if not known or not values.NAME_RE.fullmatch(value):
        raise ValueError(
            'expected a section of a service unit: "Unit", "Service", "Install" or an "X-" '
            f"section of your own, got {values.show(value)}"
        )
    return value


def _directive_name(value: str) -> str:
    if not value.isascii() or not value.replace("-", "").isalnum() or not value[0].isalpha():
        raise ValueError(f'expected a directive name like "Nice", got {values.show(value)}')
    if value in ("ExecStart", "Type", "NotifyAccess"):
        raise ValueError(f"{value}= is set by the orchestrator and cannot be overridden")
    if value in ("Alias", "Also", "DefaultInstance"):
        # enabling would then link, enable or disable unit names that are not ours
        raise ValueError(f"{value}= is not supported: it reaches units orchestrator does not own")
    return value


def _unit_values(value: Any) -> Any:
    return value if isinstance(value, list) else [value]


UnitValues = Annotated[list[UnitScalar], BeforeValidator(_unit_values)]


def _host_entries(value: Any) -> Any:
    """add_hosts as a table { NAME = IP } or an array of "NAME:IP"."""
    if not isinstance(value, list):
        return value
    table: dict[Any, Any] = {}
    for item in value:
        name, sep, ip = item.partition(":") if isinstance(item, str) else ("", "", "")
        if not sep or not name or not ip:
            raise ValueError(
                f'expected "NAME:IP" or a table {{ NAME = "IP" }}, got {values.show(item)}'
            )
        table[name] = ip
    return table


def _colon_free(value: str) -> str:
    if ":" in value:
        raise ValueError(f"podman joins these paths with colons, got {values.show(value)}")
    return value


NoColon = AfterValidator(_colon_free)


def _unmask_path(value: str) -> str:
    return value if value == "ALL" else _colon_free(values.absolute_path(value))


MOUNT_TYPES = ("bind", "volume", "tmpfs", "image", "devpts", "glob", "ramfs")
_MOUNT_TARGETS = ("target", "destination", "dst")
_MOUNT_SOURCES = ("source", "src")


def mount_parts(value: str) -> dict[str, str]:
    """A --mount value as its options (a bare option such as "ro" maps to "")."""
    return {key: val for key, _, val in (word.partition("=") for word in value.split(","))}


def mount_source(value: str, kind: str) -> str | None:
    """The source of a valid --mount value of that type, else None."""
    parts = mount_parts(value)
    if parts.get("type") != kind:
        return None
    return parts.get("source", parts.get("src"))


def _mount(item: Any, info: ValidationInfo) -> str:
    return mount_value(item, (info.context or {}).get("base_dir", "."))


def mount_value(item: Any, base: str) -> str:
    """A generic mount, given as podman's "type=...,..." or as a table, as podman's --mount value.
    A bind or glob source starting with ./ is made absolute from the definition's directory."""
    if isinstance(item, str):
        pairs = [part.partition("=") for part in item.split(",")]
        table: dict[str, Any] = {k: (v if sep else True) for k, sep, v in pairs}
    elif isinstance(item, dict):
        table = dict(item)
    else:
        raise ValueError(
            f'expected "type=TYPE,..." or a table {{ type, ... }}, got {values.show(item)}'
        )
    kind = table.get("type")
    if kind not in MOUNT_TYPES:
        raise ValueError(
            f"expected type = one of {', '.join(MOUNT_TYPES)}; got {values.show(kind)}"
        )
    targets = [k for k in _MOUNT_TARGETS if k in table]
    if len(targets) != 1:
        raise ValueError(f"expected one target (the path in the container) in a {kind} mount")
    values.absolute_path(table[targets[0]])
    for key in _MOUNT_SOURCES:
        source = table.get(key)
        if kind in ("bind", "glob") and isinstance(source, str):
            # normalised and sized, as systemd takes a path for RequiresMountsFor= (it ignores
            # "/srv/.." or a name over 255 bytes)
            table[key] = _host_path(os.path.normpath(os.path.join(base, source)))
    words = []
    for key, val in table.items():
        if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9-]*", key):
            raise ValueError(
                f'expected mount option names like "ro" or "tmpfs-size", got {values.show(key)}'
            )
        text = values.scalar_text(val)
        if "," in text or "\n" in text:
            raise ValueError(f"podman splits --mount at commas, got {key} = {values.show(text)}")
        words.append(key if val is True and isinstance(item, str) else f"{key}={text}")
    return ",".join(words)


Ports = list[Annotated[str, AfterValidator(values.port)]]
NetworkAliases = list[Annotated[str, AfterValidator(values.hostname)]]
Hostname = Annotated[str, AfterValidator(values.hostname)]
DnsServers = list[Annotated[str, AfterValidator(values.dns_server)]]
DnsSearch = list[Annotated[str, AfterValidator(values.dns_search)]]
DnsOptions = list[Annotated[str, AfterValidator(values.dns_option)]]
HostEntries = Annotated[
    dict[
        Annotated[str, AfterValidator(values.hostname)],
        Annotated[str, AfterValidator(values.ip_address)],
    ],
    BeforeValidator(lambda v: _host_entries(v)),
]
Ip4 = Annotated[str, AfterValidator(values.ip_of(4))]
Ip6 = Annotated[str, AfterValidator(values.ip_of(6))]
MacAddress = Annotated[str, AfterValidator(values.mac_address)]
ShmSize = Annotated[str, BeforeValidator(values.shm_size)]
UserNs = Annotated[str, AfterValidator(values.userns)]
IdMaps = list[Annotated[str, AfterValidator(values.id_map)]]
GlobalArgs = list[Annotated[str, AfterValidator(values.global_arg)]]
UnitOverrides = dict[SectionName, dict[DirectiveName, UnitValues]]
CONTAINER_NETWORK = "container:"


def _network(value: Any) -> Any:
    """A declared network, host, none, or another container's namespace: "container:NAME"."""
    if isinstance(value, str) and value.startswith(CONTAINER_NETWORK):
        values.name(value.removeprefix(CONTAINER_NETWORK), 'a container name after "container:"')
        return value
    return values.name(value)


Networks = list[Annotated[str, AfterValidator(_network)]]


def _networks(value: list[str]) -> list[str]:
    special = [n for n in value if n in ("host", "none") or n.startswith(CONTAINER_NETWORK)]
    if special and len(value) > 1:
        raise ValueError(f'network "{special[0]}" cannot be combined with other networks')
    return value


def _no_restart(value: list[str]) -> list[str]:
    for arg in value:
        if arg == "--restart" or arg.startswith("--restart="):
            raise ValueError(
                "podman's --restart is not allowed: systemd restarts the container; "
                'use restart = "..." instead'
            )
    return value


def _device(value: str) -> str:
    """A device; "-/dev/x" is optional: passed only when the host has it when the unit starts."""
    if not value.startswith("-"):
        return values.device(value)
    try:
        return "-" + values.device(value[1:])
    except ValueError as exc:
        raise ValueError(f'{exc}, after the "-" that makes the device optional') from None


def _rootfs(value: str, info: ValidationInfo) -> str:
    """A directory as the container's root file system, ":O" to mount it as an overlay."""
    path, overlay = (value[:-2], ":O") if value.endswith(":O") else (value, "")
    if path.startswith(("./", "../")) or path in (".", ".."):
        path = os.path.join((info.context or {}).get("base_dir", "."), path)
    elif not path.startswith("/"):
        raise ValueError(
            f'expected the absolute (or ./relative) path of a directory, with ":O" for an '
            f"overlay, got {values.show(value)}"
        )
    return _no_colon(os.path.normpath(path)) + overlay


class Container(Model):
    # exactly one of image, rootfs and build; the loader sets image to a build's tag
    image: Annotated[str, AfterValidator(values.image)] | None = None
    rootfs: Annotated[str, AfterValidator(_rootfs)] | None = None
    build: Name | None = None
    pod: Name | None = None
    command: Annotated[list[str], BeforeValidator(values.argv)] | None = None
    entrypoint: Entrypoint | None = None
    environment: dict[EnvName, Scalar] = Field(default_factory=dict)
    env_files: list[str] = Field(default_factory=list)
    ports: Ports = Field(default_factory=list)
    volumes: list[Mount] = Field(default_factory=list)
    tmpfs: list[Annotated[str, AfterValidator(values.tmpfs)]] = Field(default_factory=list)
    networks: Annotated[Networks, AfterValidator(_networks)] = Field(default_factory=list)
    network_aliases: NetworkAliases = Field(default_factory=list)
    hostname: Hostname | None = None
    user: Annotated[str, AfterValidator(values.user)] | None = None
    workdir: AbsPath | None = None
    labels: Labels = Field(default_factory=dict)
    description: Description | None = None
    depends_on: Annotated[
        dict[Name, Literal["started", "healthy"]], BeforeValidator(_depends_on)
    ] = Field(default_factory=dict)
    restart: RestartPolicy = "on-failure"
    restart_sec: Duration | None = None
    start_timeout: Duration | None = None
    stop_timeout: Duration | None = None
    health: Health | None = None
    memory_max: Annotated[str, BeforeValidator(values.size)] | None = None
    cpu_quota: Annotated[str, BeforeValidator(values.cpu_quota)] | None = None
    tasks_max: Annotated[str, BeforeValidator(values.tasks_max)] | None = None
    read_only: bool = False
    cap_add: list[Annotated[str, AfterValidator(values.capability)]] = Field(default_factory=list)
    cap_drop: list[Annotated[str, AfterValidator(values.capability)]] = Field(default_factory=list)
    no_new_privileges: bool = False
    devices: list[Annotated[str, AfterValidator(_device)]] = Field(default_factory=list)
    secrets: list[Secret] = Field(default_factory=list)
    auto_update: Literal["registry", "local"] | None = None
    pull: PullPolicy | None = None
    enabled: bool = True
    # process and resources
    init: bool = False
    stop_signal: Signal | None = None
    shm_size: ShmSize | None = None
    ulimits: dict[
        Annotated[str, AfterValidator(values.ulimit_name)],
        Annotated[str, BeforeValidator(values.ulimit)],
    ] = Field(default_factory=dict)
    sysctls: dict[Annotated[str, AfterValidator(values.sysctl_name)], CommaFreeScalar] = Field(
        default_factory=dict
    )
    pids_limit: Annotated[int, Field(ge=-1)] | None = None
    group_add: list[Annotated[str, AfterValidator(values.group)]] = Field(default_factory=list)
    privileged: bool = False
    timezone: Annotated[str, AfterValidator(values.timezone)] | None = None
    environment_host: bool = False
    http_proxy: bool = True
    annotations: dict[LabelKey, CommaFreeScalar] = Field(default_factory=dict)
    # network
    dns: DnsServers = Field(default_factory=list)
    dns_search: DnsSearch = Field(default_factory=list)
    dns_options: DnsOptions = Field(default_factory=list)
    add_hosts: HostEntries = Field(default_factory=dict)
    expose: list[Annotated[str, BeforeValidator(values.expose)]] = Field(default_factory=list)
    ip: Ip4 | None = None
    ip6: Ip6 | None = None
    mac_address: MacAddress | None = None
    # security
    read_only_tmpfs: bool | None = None  # podman's default: true
    mask: list[Annotated[str, AfterValidator(values.absolute_path), NoColon]] = Field(
        default_factory=list
    )
    unmask: list[Annotated[str, AfterValidator(_unmask_path)]] = Field(default_factory=list)
    security_label_type: Annotated[str, AfterValidator(values.selinux_part)] | None = None
    security_label_level: Annotated[str, AfterValidator(values.selinux_part)] | None = None
    security_label_file_type: Annotated[str, AfterValidator(values.selinux_part)] | None = None
    security_label_disable: bool = False
    security_label_nested: bool = False
    seccomp_profile: str | None = None
    apparmor: Annotated[str, AfterValidator(values.profile)] | None = None
    userns: UserNs | None = None
    uid_map: IdMaps = Field(default_factory=list)
    gid_map: IdMaps = Field(default_factory=list)
    sub_uid_map: Name | None = None
    sub_gid_map: Name | None = None
    # logging, podman itself, systemd
    log_driver: Literal["journald", "k8s-file", "none", "passthrough"] | None = None
    log_options: dict[LabelKey, CommaFreeScalar] = Field(default_factory=dict)
    global_args: GlobalArgs = Field(default_factory=list)
    containers_conf_module: list[str] = Field(default_factory=list)
    mounts: list[Annotated[str, BeforeValidator(_mount)]] = Field(default_factory=list)
    notify: Literal["conmon", "container", "healthy"] = "conmon"
    reload_command: Annotated[list[str], BeforeValidator(values.argv)] | None = None
    reload_signal: Signal | None = None
    podman_args: list[str] = Field(default_factory=list)
    unit: UnitOverrides = Field(default_factory=dict)

    @field_validator("env_files")
    @classmethod
    def _env_files(cls, value: list[str], info: ValidationInfo) -> list[str]:
        base = (info.context or {}).get("base_dir", ".")
        paths = [os.path.normpath(os.path.join(base, path)) for path in value]
        for path in paths:
            _host_path(path)
            if "," in path:
                raise ValueError(
                    f"podman splits --env-file at commas, so this path cannot be used: "
                    f"{values.show(path)} (rename it, or the directory it is in)"
                )
        return paths

    @field_validator("seccomp_profile")
    @classmethod
    def _seccomp(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or value == "unconfined":
            return value
        if value.startswith("/") or value.startswith(("./", "../")):
            base = (info.context or {}).get("base_dir", ".")
            return _no_colon(os.path.normpath(os.path.join(base, value)))
        raise ValueError(
            f'expected the path of a seccomp profile (JSON), or "unconfined", '
            f"got {values.show(value)}"
        )

    @field_validator("containers_conf_module")
    @classmethod
    def _modules(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return _conf_modules(value, info)

    @field_validator("notify", mode="before")
    @classmethod
    def _notify(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return "container" if value else "conmon"
        if value != "healthy":
            raise ValueError(f'expected true, false or "healthy", got {values.show(value)}')
        return value

    @field_validator("podman_args")
    @classmethod
    def _podman_args(cls, value: list[str]) -> list[str]:
        return _no_restart(value)

    @field_validator("stop_timeout")
    @classmethod
    def _whole_seconds(cls, value: int | None) -> int | None:
        if value is not None and value % 1000:
            raise ValueError(f"expected whole seconds (podman's unit), got {value}ms")
        return value

    @model_validator(mode="after")
    def _combinations(self) -> "Container":
        given = [key for key in ("image", "build", "rootfs") if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError(
                "expected exactly one of image (an image reference), build (the name of a "
                "[build.NAME] whose image to run) and rootfs (a directory)"
                + (f", got {' and '.join(given)}" if given else "")
            )
        if self.rootfs is not None and self.command is None and self.entrypoint is None:
            raise ValueError("a rootfs has no image to say what to run: set command")
        if self.notify == "healthy" and self.health is None:
            raise ValueError('notify = "healthy" needs a [health] check to wait for')
        if self.reload_command is not None and self.reload_signal is not None:
            raise ValueError("reload_command and reload_signal cannot both be set: choose one")
        return self

    @model_validator(mode="after")
    def _image_or_build(self) -> "Container":
        if self.build is not None and self.auto_update == "registry":
            raise ValueError(
                'auto_update = "registry" cannot update an image built here; use "local"'
            )
        if self.build is not None and self.pull in ("always", "newer"):
            raise ValueError(
                f'pull = "{self.pull}" would look for the built image in a registry; '
                'use "missing" or "never" (the build unit makes it)'
            )
        return self

    @model_validator(mode="after")
    def _auto_update(self) -> "Container":
        if self.build is not None:
            return self
        if self.auto_update is not None and self.image is None:
            raise ValueError("auto_update needs an image; a rootfs is never updated")
        if self.auto_update == "registry" and not values.is_fully_qualified(self.image or ""):
            raise ValueError(
                'auto_update = "registry" needs a fully qualified image such as '
                f'"docker.io/library/nginx:1.27", got {values.show(self.image)}'
            )
        return self


def _conf_modules(value: list[str], info: ValidationInfo) -> list[str]:
    """A name is looked up in podman's module directories; a ./ path is made absolute from the
    definition's directory, as podman would read it from its own working directory."""
    base = (info.context or {}).get("base_dir", ".")
    modules = []
    for module in value:
        if not module.endswith(".conf") or any(c.isspace() or c == "," for c in module):
            raise ValueError(
                'expected a containers.conf module: a path or a name ending in ".conf", '
                f"got {values.show(module)}"
            )
        relative = module.startswith(("./", "../"))
        modules.append(
            _host_path(os.path.normpath(os.path.join(base, module))) if relative else module
        )
    return modules


class PodmanCall(Model):
    """The keys of a oneshot unit's one podman command (volume create, network create) that are
    podman's own: its global options, and options passed through after ours."""

    global_args: list[Annotated[str, AfterValidator(values.global_arg)]] = Field(
        default_factory=list
    )
    containers_conf_module: list[str] = Field(default_factory=list)
    podman_args: list[str] = Field(default_factory=list)

    @field_validator("containers_conf_module")
    @classmethod
    def _modules(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return _conf_modules(value, info)


def _mount_options(value: Any) -> Any:
    """Quadlet's Options= is one "a,b" string; an array of the options reads better in TOML."""
    if isinstance(value, str):
        value = [word for word in value.split(",") if word]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        for word in value:
            if "," in word or not word.strip():
                raise ValueError(f'expected mount options like "noatime", got {values.show(word)}')
        return value
    raise ValueError(
        f'expected mount options as an array like ["noatime", "nodev"], got {values.show(value)}'
    )


# a volume driver that is podman's own local one ("" has always meant the default)
LOCAL = (None, "", "local")
# the largest user or group id (2^32 - 2: 2^32 - 1 is the kernel's "no id")
MAX_ID = 4294967294
# The words in a local volume's `o` that podman applies itself instead of mounting
PODMAN_READS_IN_O = frozenset({"uid", "gid", "size", "inodes", "noquota"})
# The driver options the keys of a volume set; the same option in `options` would say it twice.
VOLUME_OPTION_KEYS = {
    "device": ("device",), "type": ("type",), "o": ("mount_options", "uid", "gid"),
    "copy": ("copy_up",), "nocopy": ("copy_up",), "image": ("image",),
}  # fmt: skip


class Volume(PodmanCall):
    driver: str | None = None
    device: Annotated[str, NoComma] | None = None
    type: Annotated[str, NoComma] | None = None
    mount_options: Annotated[list[str], BeforeValidator(_mount_options)] = Field(
        default_factory=list
    )
    uid: Annotated[int, Field(ge=0, le=MAX_ID)] | None = None
    gid: Annotated[int, Field(ge=0, le=MAX_ID)] | None = None
    # the key is "copy", which would shadow BaseModel.copy as a field name
    copy_up: bool | None = Field(default=None, alias="copy")  # podman's default: true
    image: Annotated[str, AfterValidator(values.image)] | None = None
    options: dict[Annotated[str, AfterValidator(values.label_key)], Scalar] = Field(
        default_factory=dict
    )
    labels: Labels = Field(default_factory=dict)
    description: Description | None = None

    @field_validator("mount_options")
    @classmethod
    def _checked_mount_options(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if value:
            _check_local_o(",".join(value), info.data.get("driver"), info.data.get("type"))
        return value

    @field_validator("options")
    @classmethod
    def _local_o(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        if "o" in value:
            kind = value.get("type") or info.data.get("type")
            _check_local_o(value["o"], info.data.get("driver"), kind)
        for option in value:
            for key in VOLUME_OPTION_KEYS.get(option.lower(), ()):
                if info.data.get(key) not in (None, []):
                    key = key.removesuffix("_up")  # copy_up is the key "copy"
                    raise ValueError(
                        f"options.{option} and the key {key} both set the volume's "
                        f'"{option}" option: keep only {key}'
                    )
        return value

    @model_validator(mode="after")
    def _mount_needs_device(self) -> "Volume":
        """With the local driver, a type or mount options other than those podman reads itself
        mean a mount, which needs the device to mount (as Quadlet requires). The `options`
        table, older than these keys, is passed on unchecked, as it always was."""
        if self.driver not in LOCAL or self.device or "device" in self.options:
            return self
        mounted = [
            w for w in self.mount_options if w.partition("=")[0].lower() not in PODMAN_READS_IN_O
        ]
        if self.type or mounted:
            what = "type" if self.type else values.show(mounted[0])
            raise ValueError(
                f"{what} needs device: podman mounts the volume only from a device "
                '(device = "tmpfs" for a tmpfs)'
            )
        return self

    @model_validator(mode="after")
    def _owner_once(self) -> "Volume":
        for key in ("uid", "gid"):
            given = [w for w in self.mount_options if w.lower().startswith(f"{key}=")]
            if given and getattr(self, key) is not None:
                raise ValueError(f'{key} is given twice: as the key and as "{given[0]}"')
        return self

    @model_validator(mode="after")
    def _image_driver(self) -> "Volume":
        """podman's image driver reads only the image; the local driver cannot take one."""
        if self.driver == "image" and self.image is None:
            raise ValueError('driver = "image" needs the image to mount: image = "REFERENCE"')
        if self.image is None:
            return self
        if self.driver not in (None, "", "image"):
            raise ValueError(
                f'image needs driver = "image" (or no driver), got {values.show(self.driver)}'
            )
        keys = ("device", "type", "mount_options", "uid", "gid", "copy_up", "options")
        given = [k.removesuffix("_up") for k in keys if getattr(self, k) not in (None, [], {})]
        if given:
            raise ValueError(
                f"an image volume takes no {', '.join(given)}: podman's image driver reads only "
                "the image"
            )
        return self

    def driver_options(self) -> list[str]:
        """What `podman volume create` gets as --opt, in Quadlet's order, then `options`."""
        out = [] if self.copy_up is None else ["copy" if self.copy_up else "nocopy"]
        out += [f"{k}={v}" for k, v in (("device", self.device), ("type", self.type)) if v]
        o = [f"{k}={v}" for k, v in (("uid", self.uid), ("gid", self.gid)) if v is not None]
        o += self.mount_options
        out += [f"o={','.join(o)}"] if o else []
        out += [f"image={self.image}"] if self.image is not None else []
        return out + [f"{key}={value}" for key, value in self.options.items()]


def _check_local_o(o: str, driver: str | None, kind: str | None) -> None:
    """podman 4.3 reads size=, inodes=, uid= and gid= in the local driver's `o` itself (in any
    case, as `podman volume create` does): what cannot work is refused, with the reason."""
    if driver not in LOCAL:
        return
    shown = f"o = {values.show(o)}"
    words = {k.lower(): (sep, v) for k, sep, v in (w.partition("=") for w in o.split(","))}
    for name in ("size", "inodes", "uid", "gid"):
        sep, val = words.get(name, ("=", "0"))  # an absent one is fine
        if not sep or (name in ("uid", "gid") and not re.fullmatch(r"[+-]?[0-9]+", val)):
            what = "SIZE" if name == "size" else "NUMBER"
            raise ValueError(f'{shown}: expected "{name}={what}" (podman fails on anything else)')
    quota = "size" in words or "inodes" in words
    if quota and kind == "tmpfs":
        raise ValueError(
            f"{shown}: a size or inode limit on a tmpfs volume cannot work: podman before 4.8 "
            "reads size= and inodes= as an XFS project quota on the volume's directory, not as "
            'tmpfs options, so `podman volume create` fails ("Filesystem does not support '
            'Project Quota") wherever that quota is missing, rootless always; give each '
            'container a sized tmpfs of its own instead (tmpfs = ["/path:size=64m"])'
        )
    if quota and "noquota" in words:
        raise ValueError(f"{shown}: noquota cannot go with size= or inodes=")


class Subnet(Model):
    """One of a network's subnets, with the gateway and the range it allocates from."""

    subnet: Annotated[str, AfterValidator(values.network_cidr)]
    gateway: Annotated[str, AfterValidator(values.ip_address)] | None = None
    ip_range: Annotated[str, AfterValidator(values.network_cidr)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        expected = "a subnet in CIDR form or a table { subnet, gateway, ip_range }"
        return _string_or_table(value, "subnet", expected)

    @model_validator(mode="after")
    def _inside(self) -> "Subnet":
        _check_subnet(self.subnet, self.gateway, self.ip_range)
        return self


def _check_subnet(subnet: str, gateway: str | None, ip_range: str | None) -> None:
    import ipaddress

    net = ipaddress.ip_network(subnet)
    if ip_range and not _subnet_of(ipaddress.ip_network(ip_range), net):
        raise ValueError(f'ip_range "{ip_range}" is not inside subnet "{subnet}"')
    if gateway and ipaddress.ip_address(gateway) not in net:
        raise ValueError(f'gateway "{gateway}" is not in subnet "{subnet}"')


class Network(PodmanCall):
    driver: str | None = None
    subnet: Annotated[str, AfterValidator(values.network_cidr)] | None = None
    gateway: Annotated[str, AfterValidator(values.ip_address)] | None = None
    ip_range: Annotated[str, AfterValidator(values.network_cidr)] | None = None
    subnets: list[Subnet] = Field(default_factory=list)
    ipam_driver: Literal["host-local", "dhcp", "none"] | None = None
    internal: bool = False
    ipv6: bool = False
    dns: bool = True
    dns_servers: list[Annotated[str, AfterValidator(values.ip_address)]] = Field(
        default_factory=list
    )
    delete_on_stop: bool = False
    options: dict[Annotated[str, AfterValidator(values.label_key)], Scalar] = Field(
        default_factory=dict
    )
    labels: Labels = Field(default_factory=dict)
    description: Description | None = None

    @model_validator(mode="after")
    def _gateway_in_subnet(self) -> "Network":
        if (self.gateway or self.ip_range) and not self.subnet:
            raise ValueError("gateway and ip_range need a subnet")
        if self.subnet:
            if self.subnets:
                raise ValueError(
                    "subnet and subnets cannot both be set: list every subnet in subnets"
                )
            _check_subnet(self.subnet, self.gateway, self.ip_range)
        return self

    @model_validator(mode="after")
    def _by_position(self) -> "Network":
        """podman pairs the nth --gateway and --ip-range with the nth --subnet: a gateway or
        range after a subnet without one would land on the wrong subnet."""
        for key in ("gateway", "ip_range"):
            missing = [i for i, s in enumerate(self.subnets) if getattr(s, key) is None]
            given = [i for i, s in enumerate(self.subnets) if getattr(s, key) is not None]
            if missing and given and missing[0] < given[-1]:
                raise ValueError(
                    f"subnets[{given[-1]}] has a {key} but subnets[{missing[0]}] before it has "
                    f"none: podman matches them by position; put the subnets with a {key} first"
                )
        return self

    @model_validator(mode="after")
    def _combinations(self) -> "Network":
        if self.ipam_driver in ("dhcp", "none") and self.all_subnets():
            raise ValueError(
                f'ipam_driver = "{self.ipam_driver}" assigns no addresses from a subnet: '
                "remove subnet/subnets"
            )
        if self.dns_servers and not self.dns:
            raise ValueError("dns_servers need the network's DNS: remove dns = false")
        return self

    def all_subnets(self) -> list[Subnet]:
        if self.subnet:
            one = Subnet.model_construct(
                subnet=self.subnet, gateway=self.gateway, ip_range=self.ip_range
            )
            return [one]
        return list(self.subnets)


def _subnet_of(inner: Any, outer: Any) -> bool:
    return bool(inner.version == outer.version and inner.subnet_of(outer))


def network_container(c: Container) -> str | None:
    """The container whose network namespace c joins, if it joins one."""
    for network in c.networks:
        if network.startswith(CONTAINER_NETWORK):
            return network.removeprefix(CONTAINER_NETWORK)
    return None


# The keys a pod and a container share: on a member of a pod they belong to the pod (they set its
# network, UTS, IPC and user namespaces, which its members join), and podman refuses them there.
POD_NAMESPACE_KEYS = (
    "ports", "networks", "network_aliases", "hostname", "dns", "dns_search", "dns_options",
    "add_hosts", "ip", "ip6", "mac_address", "userns", "uid_map", "gid_map", "sub_uid_map",
    "sub_gid_map", "shm_size",
)  # fmt: skip


def infra_name(pod: str) -> str:
    """The name of a pod's infra container, which holds its namespaces."""
    return f"{pod}-infra"


class Pod(Model):
    """A pod (podman pod create): its infra container holds the namespaces its members join."""

    ports: Ports = Field(default_factory=list)
    networks: Annotated[list[Name], AfterValidator(_networks)] = Field(default_factory=list)
    network_aliases: NetworkAliases = Field(default_factory=list)
    volumes: list[Mount] = Field(default_factory=list)
    hostname: Hostname | None = None
    dns: DnsServers = Field(default_factory=list)
    dns_search: DnsSearch = Field(default_factory=list)
    dns_options: DnsOptions = Field(default_factory=list)
    add_hosts: HostEntries = Field(default_factory=dict)
    ip: Ip4 | None = None
    ip6: Ip6 | None = None
    mac_address: MacAddress | None = None
    userns: UserNs | None = None
    uid_map: IdMaps = Field(default_factory=list)
    gid_map: IdMaps = Field(default_factory=list)
    sub_uid_map: Name | None = None
    sub_gid_map: Name | None = None
    shm_size: ShmSize | None = None
    labels: Labels = Field(default_factory=dict)
    description: Description | None = None
    global_args: GlobalArgs = Field(default_factory=list)
    podman_args: Annotated[list[str], AfterValidator(_no_restart)] = Field(default_factory=list)
    unit: UnitOverrides = Field(default_factory=dict)
    enabled: bool = True


# --- images, builds and Kubernetes YAML (issue 12): each is one unit of its own ---------------


def _relative_path(value: str, info: ValidationInfo) -> str:
    """A path on the host, relative to the definition's directory unless absolute."""
    base = (info.context or {}).get("base_dir", ".")
    return _host_path(os.path.normpath(os.path.join(base, value)))


HostPath = Annotated[str, AfterValidator(_relative_path)]
Word = Annotated[str, AfterValidator(values.word)]


class Image(Model):
    """A oneshot unit that pulls an image, with the options `podman pull` takes."""

    image: Annotated[str, AfterValidator(values.image)]
    arch: Word | None = None
    os: Word | None = None
    variant: Word | None = None
    all_tags: bool = False
    auth_file: HostPath | None = None
    cert_dir: HostPath | None = None
    creds: Annotated[str, AfterValidator(values.credentials)] | None = None
    decryption_key: Annotated[str, AfterValidator(values.credentials)] | None = None
    tls_verify: bool | None = None  # podman's default: true
    retry: Annotated[int, Field(ge=0, le=1000)] | None = None
    retry_delay: Duration | None = None
    # "missing" as for containers, and unlike Quadlet's .image (which pulls at every start)
    policy: PullPolicy = "missing"
    description: Description | None = None
    global_args: GlobalArgs = Field(default_factory=list)
    podman_args: list[str] = Field(default_factory=list)
    unit: UnitOverrides = Field(default_factory=dict)

    @field_validator("retry_delay")
    @classmethod
    def _whole_seconds(cls, value: int | None) -> int | None:
        if value is not None and (value < 1000 or value % 1000):
            raise ValueError(f"expected whole seconds, at least 1s, got {value}ms")
        return value


def _build_secret(value: str, info: ValidationInfo) -> str:
    """ "id=NAME,src=PATH" (or env=VARIABLE), a ./ src made absolute."""
    parts = {k: (sep, v) for k, sep, v in (w.partition("=") for w in value.split(","))}
    if set(parts) - {"id", "src", "env", "type"} or any(not s or not v for s, v in parts.values()):
        raise ValueError(f'expected "id=NAME,src=PATH" or "id=NAME,env=VARIABLE", got '
                         f"{values.show(value)}")  # fmt: skip
    if "id" not in parts or any(c.isspace() for c in value):
        raise ValueError(f'expected "id=NAME,src=PATH" with an id, got {values.show(value)}')
    words = []
    for key, (_, val) in parts.items():
        if key == "src":
            val = _relative_path(val, info)
            if "," in val:
                raise ValueError(f"podman splits --secret at commas, got {values.show(val)}")
        words.append(f"{key}={val}")
    return ",".join(words)


class Build(Model):
    """A oneshot unit that runs `podman build`; the loader fingerprints its inputs."""

    context: HostPath
    file: str | None = None  # relative to the context; Containerfile, else Dockerfile
    tag: Annotated[str, AfterValidator(values.image)] | None = None  # localhost/NAME:latest
    args: dict[EnvName, Scalar] = Field(default_factory=dict)
    target: Word | None = None
    pull: PullPolicy | None = None
    labels: Labels = Field(default_factory=dict)
    annotations: dict[LabelKey, CommaFreeScalar] = Field(default_factory=dict)
    secrets: list[Annotated[str, AfterValidator(_build_secret)]] = Field(default_factory=list)
    network: Name | None = None
    volumes: list[Mount] = Field(default_factory=list)
    ignore_file: str | None = None  # relative to the context; .containerignore, .dockerignore
    description: Description | None = None
    global_args: GlobalArgs = Field(default_factory=list)
    podman_args: list[str] = Field(default_factory=list)
    unit: UnitOverrides = Field(default_factory=dict)

    @field_validator("file", "ignore_file")
    @classmethod
    def _in_context(cls, value: str | None) -> str | None:
        if value is not None and (not value or value.startswith("/")):
            raise ValueError(
                f"expected a path relative to the context directory, got {values.show(value)}"
            )
        return value


class Kube(Model):
    """A unit that runs `podman kube play` on a Kubernetes YAML file, as Quadlet's .kube."""

    yaml: HostPath
    config_maps: list[HostPath] = Field(default_factory=list)
    networks: Annotated[list[Name], AfterValidator(_networks)] = Field(default_factory=list)
    ports: list[Annotated[str, AfterValidator(values.port)]] = Field(default_factory=list)
    userns: Annotated[str, AfterValidator(values.userns)] | None = None
    exit_code_propagation: Literal["all", "any", "none"] | None = None
    auto_update: Literal["registry", "local"] | None = None
    set_working_directory: Literal["yaml", "unit"] | None = None
    log_driver: Literal["journald", "k8s-file", "none", "passthrough"] | None = None
    log_options: dict[LabelKey, CommaFreeScalar] = Field(default_factory=dict)
    description: Description | None = None
    enabled: bool = True
    global_args: GlobalArgs = Field(default_factory=list)
    podman_args: list[str] = Field(default_factory=list)
    unit: UnitOverrides = Field(default_factory=dict)


class Document(Model):
    """One TOML file."""

    container: dict[str, Container] = Field(default_factory=dict)
    volume: dict[str, Volume] = Field(default_factory=dict)
    network: dict[str, Network] = Field(default_factory=dict)
    pod: dict[str, Pod] = Field(default_factory=dict)
    image: dict[str, Image] = Field(default_factory=dict)
    build: dict[str, Build] = Field(default_factory=dict)
    kube: dict[str, Kube] = Field(default_factory=dict)


Kind = Literal["container", "volume", "network", "pod", "image", "build", "kube"]
KINDS: tuple[Kind, ...] = ("container", "volume", "network", "pod", "image", "build", "kube")
# The model of each kind, in Document's order (the loader validates a resource at a time)
MODELS: dict[str, type[Model]] = {
    "container": Container, "volume": Volume, "network": Network, "pod": Pod, "image": Image,
    "build": Build, "kube": Kube,
}  # fmt: skip
UNIT_SUFFIX: dict[str, str] = {
    "container": "",
    "volume": "-volume",
    "network": "-network",
    "pod": "-pod",
    "image": "-image",
    "build": "-build",
    "kube": "",
}


def unit_name(kind: str, name: str) -> str:
    return f"{name}{UNIT_SUFFIX[kind]}.service"


@dataclass(frozen=True)
class Spec:
    """The whole desired state: every resource, and the file each came from."""

    containers: dict[str, Container] = field(default_factory=dict)
    volumes: dict[str, Volume] = field(default_factory=dict)
    networks: dict[str, Network] = field(default_factory=dict)
    pods: dict[str, Pod] = field(default_factory=dict)
    images: dict[str, Image] = field(default_factory=dict)
    builds: dict[str, Build] = field(default_factory=dict)
    kubes: dict[str, Kube] = field(default_factory=dict)
    sources: dict[tuple[str, str], str] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    # build name -> what the loader found of its inputs: the Containerfile and a digest of them
    inputs: dict[str, Inputs] = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(len(getattr(self, kind + "s")) for kind in KINDS)


def build_tag(name: str, build: Build) -> str:
    """The image a build makes, and that the containers with build = NAME run."""
    return build.tag or default_build_tag(name)


def default_build_tag(name: str) -> str:
    """The tag of a [build.NAME] that gives none (import quadlet gives an X.build without
    ImageTag= the same)."""
    return f"localhost/{name.lower()}:latest"
