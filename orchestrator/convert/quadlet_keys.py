"""The one table between Quadlet's keys and ours (docs/quadlet-mapping.md in code form).

Each row says where a Quadlet key lives (its file kind and section), the key of ours it becomes,
and the codec that reads Quadlet's lines into our value and writes our value back as lines. Both
`import quadlet` (quadlet_in) and `export quadlet` (quadlet_out) are driven by these rows, so a key
added here is understood both ways.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orchestrator.convert.unitsyntax import join_words, quote_word, split_words
from orchestrator.core.render import health_command
from orchestrator.core.values import format_duration


class Refused(ValueError):
    """A Quadlet value this project cannot express; the message says why and what to do."""


class Context:
    """What a codec needs to know while reading one file: its directory and how the references
    to other Quadlet files (X.volume, X.network, ...) resolve; comments for the written TOML."""

    def __init__(self, directory: str, resolve: Callable[[str, str], str | None]) -> None:
        self.directory = directory
        self._resolve = resolve
        self.notes: list[tuple[str, str]] = []  # (our key, comment)
        self.extra: list[tuple[str, str, dict[str, Any]]] = []  # implied (kind, name, table)
        self.more: dict[str, list[Any]] = {}  # items a key of another row adds to a key of ours

    def ref(self, value: str, suffix: str) -> str | None:
        """The name of the resource value refers to when it names a Quadlet file of that suffix
        (raises when that file is nowhere), else None."""
        if not value.endswith(suffix):
            return None
        name = self._resolve(value, suffix)
        if name is None:
            raise Refused(f"{value} is neither among the files given nor next to this one")
        return name

    def path(self, value: str) -> str:
        """A path made absolute as Quadlet does (relative to the file's directory): the TOML is
        written elsewhere, and its own relative paths would start from there."""
        if value.startswith("/"):
            return value
        return os.path.normpath(os.path.join(self.directory, value))


# --- codecs: read(lines, ctx) -> our value (None: nothing); write(value) -> lines -----------


@dataclass(frozen=True)
class Codec:
    """A key whose last line is its value (Quadlet's Lookup, which trims double quotes from
    both ends of it)."""

    def read(self, lines: list[str], ctx: Context) -> Any:
        return self.one(lines[-1].strip('"'), ctx) if lines else None

    def one(self, value: str, ctx: Context) -> Any:
        return value

    def write(self, value: Any) -> list[str]:
        return [str(value)]


@dataclass(frozen=True)
class MountOptions(Codec):
    """A volume's Options=: "a,b" as Quadlet passes it; ours is a list."""

    def write(self, value: Any) -> list[str]:
        return [",".join(value)]


@dataclass(frozen=True)
class Integer(Codec):
    def one(self, value: str, ctx: Context) -> Any:
        try:
            return int(value)
        except ValueError:
            raise Refused(f"expected an integer, got {value!r}") from None


@dataclass(frozen=True)
class Owner(Codec):
    """A volume's User= or Group=: a number, or a name Quadlet looks up on the machine that
    generates the unit; here on the machine that imports, with a comment saying so."""

    group: bool = False

    def one(self, value: str, ctx: Context) -> Any:
        if value.isdigit():
            return int(value)
        try:
            number = grp.getgrnam(value).gr_gid if self.group else pwd.getpwnam(value).pw_uid
        except KeyError:
            kind = "group" if self.group else "user"
            why = f"expected a number, or a {kind} of this machine, got {value!r}"
            raise Refused(why) from None
        ctx.notes.append(("gid" if self.group else "uid", f"{value} is {number} on this machine"))
        return number


@dataclass(frozen=True)
class IntOrText(Codec):
    """A number where the key of ours takes one (TasksMax=256), else the text (infinity)."""

    def one(self, value: str, ctx: Context) -> Any:
        return int(value) if value.isdigit() else value


_TRUE = ("1", "yes", "true", "on")
_FALSE = ("0", "no", "false", "off")


def boolean(value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise Refused(f"expected true or false, got {value!r}")


@dataclass(frozen=True)
class Bool(Codec):
    def one(self, value: str, ctx: Context) -> Any:
        return boolean(value)

    def write(self, value: Any) -> list[str]:
        return ["true" if value else "false"]


@dataclass(frozen=True)
class Duration(Codec):
    """A duration passed on to podman or systemd; ours holds milliseconds. A bare number is
    seconds, as systemd reads it."""

    def one(self, value: str, ctx: Context) -> Any:
        return f"{value}s" if value.isdigit() else value

    def write(self, value: Any) -> list[str]:
        return [format_duration(value)]


@dataclass(frozen=True)
class Seconds(Codec):
    """StopTimeout=: whole seconds."""

    def one(self, value: str, ctx: Context) -> Any:
        return Integer().one(value, ctx)

    def write(self, value: Any) -> list[str]:
        return [str(value // 1000)]


@dataclass(frozen=True)
class Path(Codec):
    def one(self, value: str, ctx: Context) -> Any:
        return ctx.path(value)


@dataclass(frozen=True)
class Seccomp(Codec):
    """SeccompProfile=: a path, or podman's word "unconfined" (no filter), which is no file."""

    def one(self, value: str, ctx: Context) -> Any:
        return value if value == "unconfined" else ctx.path(value)


@dataclass(frozen=True)
class Tags(Codec):
    """A build's ImageTag= lines: the first is the tag containers run (as in Quadlet); podman
    also gives the image the others, passed on as --tag flags."""

    def read(self, lines: list[str], ctx: Context) -> Any:
        tags = [line.strip('"') for line in lines]
        if len(tags) > 1:
            ctx.more.setdefault("podman_args", []).extend(f"--tag={t}" for t in tags[1:])
            ctx.notes.append(("tag", "the other ImageTag= lines are --tag flags in podman_args"))
        return tags[0] if tags else None


@dataclass(frozen=True)
class Each(Codec):
    """A key given once per item, each line as it is (Quadlet's LookupAll), or with words: split
    into words, several to a line (LookupAllStrv). An empty line empties the list."""

    words: bool = False

    def read(self, lines: list[str], ctx: Context) -> Any:
        if self.words:
            lines = [word for line in lines for word in split_words(line)]
        items = [self.one(line, ctx) for line in lines]
        return [item for item in items if item is not None] or None

    def write(self, value: Any) -> list[str]:
        return self.lines([str(item) for item in value])

    def lines(self, items: list[str]) -> list[str]:
        return [quote_word(item) for item in items] if self.words else items


@dataclass(frozen=True)
class EachPath(Each):
    def one(self, value: str, ctx: Context) -> Any:
        return ctx.path(value)


@dataclass(frozen=True)
class Modules(Each):
    """ContainersConfModule=: a name is podman's to find; a ./ path is the file's neighbour."""

    def one(self, value: str, ctx: Context) -> Any:
        return ctx.path(value) if value.startswith(("./", "../")) else value


@dataclass(frozen=True)
class Words(Each):
    """Items as words, several to a line (LookupAllStrv)."""

    words: bool = True


def args_line(words: list[str]) -> str:
    """Words as one line Quadlet splits back into them. Quadlet 5.4 stops at an empty word and
    copies a lone ";" into ExecStart=, where systemd starts a second command with it."""
    for word in words:
        if word in ("", ";"):
            raise Refused(
                f"Quadlet cannot pass the argument {word!r} on to podman (it drops the rest of "
                'the command at "", and systemd reads a lone ";" as the start of another command)'
            )
    return join_words(words)


@dataclass(frozen=True)
class Args(Words):
    """Command-line words, all lines together (LookupAllArgs), written as one line."""

    def write(self, value: Any) -> list[str]:
        return [args_line(value)]


@dataclass(frozen=True)
class LastArgs(Codec):
    """A command line given once (Exec=, LookupLastArgs): its quotes are the words'."""

    def read(self, lines: list[str], ctx: Context) -> Any:
        return self.one(lines[-1], ctx) if lines else None

    def one(self, value: str, ctx: Context) -> Any:
        return split_words(value) or None

    def write(self, value: Any) -> list[str]:
        return [args_line(value)]


@dataclass(frozen=True)
class KeyVal(Codec):
    """A table, as KEY=VALUE words (LookupAllKeyVal)."""

    words: bool = True

    def read(self, lines: list[str], ctx: Context) -> Any:
        table: dict[str, str] = {}
        for line in lines:
            for word in split_words(line) if self.words else [line]:
                key, sep, value = word.partition("=")
                if not sep:
                    raise Refused(f"expected KEY=VALUE, got {word!r}")
                table[key] = value
        return table or None

    def write(self, value: Any) -> list[str]:
        words = [f"{k}={v}" for k, v in value.items()]
        return [quote_word(w) for w in words] if self.words else words


@dataclass(frozen=True)
class Environment(KeyVal):
    """Environment=: KEY=VALUE words; Quadlet 5.4 passes no bare NAME on to podman (it keeps
    the words with "="), so neither does the import, saying so in a comment."""

    def read(self, lines: list[str], ctx: Context) -> Any:
        words = [word for line in lines for word in split_words(line)]
        bare = [word for word in words if "=" not in word]
        if bare:
            ctx.notes.append(("environment", f"{', '.join(bare)}: without a value, which "
                              "Quadlet 5.4 does not pass on to podman: left out"))  # fmt: skip
        return super().read([join_words([word]) for word in words if "=" in word], ctx)


@dataclass(frozen=True)
class AutoUpdates(Codec):
    """A kube's AutoUpdate= lines: registry or local for every container, or CONTAINER/POLICY
    for one, which is podman's annotation io.containers.autoupdate/CONTAINER (podman_args)."""

    def read(self, lines: list[str], ctx: Context) -> Any:
        everyone = None
        for line in lines:
            for word in split_words(line):
                container, sep, policy = word.rpartition("/")
                if sep:
                    flag = f"--annotation=io.containers.autoupdate/{container}={policy}"
                    ctx.more.setdefault("podman_args", []).append(flag)
                else:
                    everyone = word
        return everyone


@dataclass(frozen=True)
class Hosts(Each):
    """AddHost=NAME:IP; ours is a table."""

    def write(self, value: Any) -> list[str]:
        return [f"{name}:{ip}" for name, ip in value.items()]


@dataclass(frozen=True)
class ColonList(Codec):
    """Mask=: paths joined by colons, each line adding to the list."""

    def read(self, lines: list[str], ctx: Context) -> Any:
        words = [word for line in lines for word in split_words(line)]
        return [p for word in words for p in word.split(":") if p] or None

    def write(self, value: Any) -> list[str]:
        return [":".join(value)]


@dataclass(frozen=True)
class Unmask(ColonList):
    """Unmask=: paths joined by colons, or ALL (podman's word, which Quadlet passes in any
    case), one item each here."""

    def read(self, lines: list[str], ctx: Context) -> Any:
        paths = super().read(lines, ctx)
        return None if paths is None else ["ALL" if p.upper() == "ALL" else p for p in paths]

    def write(self, value: Any) -> list[str]:
        return [":".join(value)]


@dataclass(frozen=True)
class Entrypoint(Codec):
    """A program, or a JSON array of words (as podman's --entrypoint takes it)."""

    def one(self, value: str, ctx: Context) -> Any:
        if value.startswith("["):
            try:
                words = json.loads(value)
            except ValueError:
                raise Refused(f"expected a JSON array of words, got {value!r}") from None
            return words
        return value

    def write(self, value: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        return [json.dumps(value, ensure_ascii=False, separators=(",", ":"))]


@dataclass(frozen=True)
class Program(Entrypoint):
    """Entrypoint=: podman runs a value that is no JSON array as one program, spaces and all;
    a string of ours is split into words as a shell would, which the comment says."""

    def one(self, value: str, ctx: Context) -> Any:
        words = super().one(value, ctx)
        if isinstance(words, str) and any(c.isspace() for c in words):
            ctx.notes.append(
                ("entrypoint", f"podman would run {words!r} as one program of that name; here it "
                 "is split into words as a shell would: a program and its arguments")
            )  # fmt: skip
        return words


@dataclass(frozen=True)
class Ports(Each):
    pass


@dataclass(frozen=True)
class Volumes(Each):
    """Volume=SOURCE:TARGET[:OPTIONS]: X.volume is the declared volume, ./ relative paths made
    absolute, a plain name a volume of podman's that gets a declaration of its own."""

    def one(self, value: str, ctx: Context) -> Any:
        source, sep, rest = value.partition(":")
        if not sep:
            # an anonymous volume: podman's --mount makes the same of a volume without a source
            ctx.more.setdefault("mounts", []).append(f"type=volume,destination={value}")
            ctx.notes.append(("mounts", f"Volume={value} (an anonymous volume) is a mount here"))
            return None
        named = ctx.ref(source, ".volume")
        if named is not None:
            source = named
        elif source.startswith((".", "/")):
            source = ctx.path(source)
        else:
            ctx.extra.append(("volume", source, {}))
        return f"{source}:{rest}"

    def write(self, value: Any) -> list[str]:
        lines = []
        for mount in value:
            text = f"{_volume_ref(mount['source'])}:{mount['target']}"
            lines.append(text + (":" + ",".join(mount["options"]) if mount["options"] else ""))
        return lines


def _volume_ref(source: str) -> str:
    return source if source.startswith("/") else f"{source}.volume"


@dataclass(frozen=True)
class Mounts(Each):
    """Mount=type=...,source=X.volume,...: the references and relative sources resolved."""

    def one(self, value: str, ctx: Context) -> Any:
        words = [w.partition("=") for w in value.split(",")]
        kind = next((v for k, _, v in words if k == "type"), "")
        out = []
        for key, sep, item in words:
            if key in ("source", "src"):
                item = self._source(kind, item, ctx)
            out.append(f"{key}{sep}{item}")
        return ",".join(out)

    @staticmethod
    def _source(kind: str, item: str, ctx: Context) -> str:
        if kind == "volume":
            named = ctx.ref(item, ".volume")
            if named is not None:
                return named
            ctx.extra.append(("volume", item, {}))
            return item
        if kind in ("bind", "glob") and not item.startswith("/"):
            return ctx.path(item)
        return item

    def write(self, value: Any) -> list[str]:
        lines = []
        for mount in value:
            words = [w.partition("=") for w in mount.split(",")]
            kind = next((v for k, _, v in words if k == "type"), "")
            out = [
                f"{k}{s}{_volume_ref(v)}"
                if kind == "volume" and k in ("source", "src")
                else k + s + v
                for k, s, v in words
            ]
            lines.append(",".join(out))
        return self.lines(lines)


@dataclass(frozen=True)
class Networks(Each):
    """Network=X.network (the declared network), host, none, or a network podman has."""

    def one(self, value: str, ctx: Context) -> Any:
        name, sep, options = value.partition(":")
        if sep:
            raise Refused(f"network options ({options!r}) are not supported here yet")
        container = ctx.ref(name, ".container")
        if container is not None:
            return f"container:{container}"  # another container's network stack
        named = ctx.ref(name, ".network")
        if named is not None:
            return named
        if name not in ("host", "none", "private"):
            ctx.extra.append(("network", name, {}))
        return name

    def write(self, value: Any) -> list[str]:
        return [_network_ref(n) for n in value]


@dataclass(frozen=True)
class Network(Codec):
    """A build's one Network=: X.network, host, none or private."""

    def one(self, value: str, ctx: Context) -> Any:
        return Networks().one(value, ctx)

    def write(self, value: Any) -> list[str]:
        return [_network_ref(value)]


def _network_ref(name: str) -> str:
    if name.startswith("container:"):
        return f"{name.removeprefix('container:')}.container"
    return name if name in ("host", "none", "private") else f"{name}.network"


@dataclass(frozen=True)
class Ref(Codec):
    """Pod=X.pod and the like: the name of the resource of that kind."""

    suffix: str = ""

    def one(self, value: str, ctx: Context) -> Any:
        named = ctx.ref(value, self.suffix)
        if named is None:
            raise Refused(f"expected the name of a {self.suffix} file, got {value!r}")
        return named

    def write(self, value: Any) -> list[str]:
        return [f"{value}{self.suffix}"]


@dataclass(frozen=True)
class Secrets(Each):
    """Secret=NAME[,type=...,target=...,uid=...,gid=...,mode=...] (or source=NAME); ours is a
    name or a table."""

    def read(self, lines: list[str], ctx: Context) -> Any:
        return [self.one(w, ctx) for line in lines for w in split_words(line)] or None

    def one(self, value: str, ctx: Context) -> Any:
        table: dict[str, Any] = {}
        for option in value.split(","):
            key, sep, item = option.partition("=")
            if not sep:  # the secret's name, as podman reads a word without "="
                key, item = "source", option
            if key not in ("source", "type", "target", "uid", "gid", "mode"):
                raise Refused(
                    f"secret option {key!r} is not supported here (only source, type, target, "
                    "uid, gid, mode)"
                )
            table["name" if key == "source" else key] = (
                int(item) if key in ("uid", "gid") and item.isdigit() else item
            )
        return table["name"] if list(table) == ["name"] else table

    def write(self, value: Any) -> list[str]:
        lines = []
        for secret in value:
            text = secret["name"]
            if secret["type"] != "mount":
                text += f",type={secret['type']}"
            if secret["target"] is not None:
                text += f",target={secret['target']}"
            for key in ("uid", "gid", "mode"):
                if secret.get(key) is not None:
                    text += f",{key}={secret[key]}"
            lines.append(quote_word(text))
        return lines


@dataclass(frozen=True)
class Notify(Codec):
    def one(self, value: str, ctx: Context) -> Any:
        return "healthy" if value == "healthy" else boolean(value)

    def write(self, value: Any) -> list[str]:
        return [{"conmon": "false", "container": "true"}.get(value, value)]


@dataclass(frozen=True)
class Health(Codec):
    """HealthCmd=: a string runs in a shell; a JSON array runs as it is; "CMD word" is how one
    word is run as it is (podman 4.3 runs a one-word JSON array through a shell)."""

    def one(self, value: str, ctx: Context) -> Any:
        word = value.removeprefix("CMD ")
        if word != value and word and not any(c.isspace() for c in word):
            return [word]
        return Entrypoint().one(value, ctx)

    def write(self, value: Any) -> list[str]:
        return [health_command(value)]


@dataclass(frozen=True)
class AsFlag(Codec):
    """A key of Quadlet's that has no key of ours but a podman flag: it goes to podman_args."""

    flag: str = ""
    many: bool = False
    words: bool = False  # each line holds several values (Environment=A=1 B=2)

    def read(self, lines: list[str], ctx: Context) -> Any:
        chosen = lines if self.many else lines[-1:]
        if self.words:
            chosen = [word for line in chosen for word in split_words(line)]
        return [f"{self.flag}={line}" for line in chosen] or None


@dataclass(frozen=True)
class Refuse(Codec):
    """A key this project does not offer: refused unless it says what is the rule here anyway."""

    why: str = ""
    fine: tuple[str, ...] = ()

    def read(self, lines: list[str], ctx: Context) -> Any:
        if lines and lines[-1].lower() not in self.fine:
            raise Refused(self.why)
        return None


@dataclass(frozen=True)
class Row:
    """Quadlet's [section] key <-> our key (a dotted path into the table); absent: the value of
    ours that means what leaving the Quadlet key out means, when that is not our default."""

    key: str
    ours: str
    codec: Codec = field(default_factory=Codec)
    section: str = ""  # "" = the file kind's own section ([Container], [Volume], ...)
    absent: Any = None
    # where the value goes in the unit Quadlet writes: "exec" (an Exec line: %% and $$ stand for
    # % and $), "text" (a line systemd expands specifiers in: %% for %), "" (as it is)
    escaped: str = "exec"
    # a key of a later Quadlet than 5.4, which 5.4 refuses: export writes it in NEWER, where
    # Quadlet 5.4 passes it through untouched, and import reads it back from there
    newer: bool = False


NEWER = "X-Orchestrator-Keys"


ONE, BOOL, INT, DUR = Codec(), Bool(), Integer(), Duration()
SHARED = (
    Row("GlobalArgs", "global_args", Args()),
    Row("PodmanArgs", "podman_args", Args()),
)
_UNIT = (
    Row("Description", "description", section="Unit", escaped="text"),
    Row("Restart", "restart", section="Service", absent="no", escaped=""),
    Row("RestartSec", "restart_sec", DUR, section="Service", escaped=""),
    Row("TimeoutStartSec", "start_timeout", DUR, section="Service", escaped=""),
    Row("MemoryMax", "memory_max", section="Service", escaped=""),
    Row("CPUQuota", "cpu_quota", section="Service", escaped=""),
    Row("TasksMax", "tasks_max", IntOrText(), section="Service", escaped=""),
)

# Quadlet's older spelling of the user namespace (podman-systemd.unit(5) keeps it, deprecated):
# quadlet_in turns it into userns, uid_map and gid_map as Quadlet 5.4 turns it into flags
REMAP = (
    Row("RemapUsers", ""),
    Row("RemapUid", ""),
    Row("RemapGid", ""),
    Row("RemapUidSize", ""),
)

CONTAINER = (
    Row("AddCapability", "cap_add", Words()),
    Row("AddDevice", "devices", Words()),  # "-/dev/x": only if it exists, as in Quadlet
    Row("AddHost", "add_hosts", Hosts()),
    Row("Annotation", "annotations", KeyVal()),
    Row("AutoUpdate", "auto_update"),
    Row("CgroupsMode", "", Refuse("orchestrator chooses the cgroups mode itself", ("split",))),
    Row("ContainersConfModule", "containers_conf_module", Modules()),
    Row("DNS", "dns", Each()),
    Row("DNSOption", "dns_options", Each()),
    Row("DNSSearch", "dns_search", Each()),
    Row("DropCapability", "cap_drop", Words()),
    Row("Entrypoint", "entrypoint", Program()),
    Row("Environment", "environment", Environment()),
    Row("EnvironmentFile", "env_files", EachPath(words=True)),
    Row("EnvironmentHost", "environment_host", BOOL),
    Row("Exec", "command", LastArgs()),
    Row("ExposeHostPort", "expose", Each()),
    Row("GIDMap", "gid_map", Words()),
    Row("GroupAdd", "group_add", Each()),
    Row("HealthCmd", "health.command", Health()),
    Row("HealthInterval", "health.interval", DUR),
    Row("HealthLogDestination", "health.log_destination"),
    Row("HealthMaxLogCount", "health.log_count", INT),
    Row("HealthMaxLogSize", "health.log_size", INT),
    Row("HealthOnFailure", "health.on_failure"),
    Row("HealthRetries", "health.retries", INT),
    Row("HealthStartPeriod", "health.start_period", DUR),
    Row("HealthStartupCmd", "health.startup_command", Health()),
    Row("HealthStartupInterval", "health.startup_interval", DUR),
    Row("HealthStartupRetries", "health.startup_retries", INT),
    Row("HealthStartupSuccess", "health.startup_success", INT),
    Row("HealthStartupTimeout", "health.startup_timeout", DUR),
    Row("HealthTimeout", "health.timeout", DUR),
    Row("HostName", "hostname"),
    Row("Image", "image"),  # X.image and X.build: quadlet_in reads them
    Row("IP", "ip"),
    Row("IP6", "ip6"),
    Row("Label", "labels", KeyVal()),
    Row("LogDriver", "log_driver"),
    Row("LogOpt", "log_options", KeyVal()),
    Row("Mask", "mask", ColonList()),
    Row("Mount", "mounts", Mounts(words=True)),
    Row("Network", "networks", Networks()),
    Row("NetworkAlias", "network_aliases", Each()),
    Row("NoNewPrivileges", "no_new_privileges", BOOL),
    Row("Notify", "notify", Notify()),
    Row("PidsLimit", "pids_limit", INT),
    Row("Pod", "pod", Ref(suffix=".pod")),
    Row("PublishPort", "ports", Ports()),
    Row("Pull", "pull"),
    Row("ReadOnly", "read_only", BOOL),
    Row("ReadOnlyTmpfs", "read_only_tmpfs", BOOL),
    *REMAP,
    Row("Rootfs", "rootfs", Path()),
    Row("RunInit", "init", BOOL),
    Row("SeccompProfile", "seccomp_profile", Seccomp()),
    Row("Secret", "secrets", Secrets()),
    Row("SecurityLabelDisable", "security_label_disable", BOOL),
    Row("SecurityLabelFileType", "security_label_file_type"),
    Row("SecurityLabelLevel", "security_label_level"),
    Row("SecurityLabelNested", "security_label_nested", BOOL),
    Row("SecurityLabelType", "security_label_type"),
    Row("ShmSize", "shm_size"),
    Row("StartWithPod", ""),  # a pod member's `enabled`: quadlet_in reads it
    Row("StopSignal", "stop_signal"),
    Row("StopTimeout", "stop_timeout", Seconds()),
    Row("SubGIDMap", "sub_gid_map"),
    Row("SubUIDMap", "sub_uid_map"),
    Row("Sysctl", "sysctls", KeyVal()),
    Row("Timezone", "timezone"),
    Row("Tmpfs", "tmpfs", Each()),
    Row("UIDMap", "uid_map", Words()),
    Row("Ulimit", "ulimits", KeyVal(words=False)),
    Row("Unmask", "unmask", Unmask()),
    Row("ContainerName", ""),  # the name: quadlet_in reads it
    Row("User", "user"),  # with Group=: quadlet_in joins them
    Row("Group", ""),
    Row("UserNS", "userns"),
    Row("VolatileTmp", ""),  # a tmpfs on /tmp: quadlet_in reads it
    Row("Volume", "volumes", Volumes()),
    Row("WorkingDir", "workdir"),
    *SHARED,
    *_UNIT,
)

MODULES = Row("ContainersConfModule", "containers_conf_module", Modules())

VOLUME = (
    Row("Copy", "copy", BOOL),
    Row("Device", "device"),
    Row("Driver", "driver"),
    Row("Group", "gid", Owner(group=True)),
    Row("Image", "image"),
    Row("Label", "labels", KeyVal()),
    Row("Options", "mount_options", MountOptions()),
    Row("Type", "type"),
    Row("User", "uid", Owner()),
    Row("VolumeName", ""),
    MODULES,
    *SHARED,
    Row("Description", "description", section="Unit", escaped="text"),
)

NETWORK = (
    Row("DisableDNS", "dns", Bool()),  # inverted by quadlet_in and quadlet_out
    Row("DNS", "dns_servers", Each()),
    Row("Driver", "driver"),
    Row("Gateway", ""),  # with Subnet= and IPRange=: quadlet_in pairs them
    Row("Internal", "internal", BOOL),
    Row("IPAMDriver", "ipam_driver"),
    Row("IPRange", ""),
    Row("IPv6", "ipv6", BOOL),
    Row("Label", "labels", KeyVal()),
    Row("Options", "options", KeyVal(words=False)),
    Row("Subnet", ""),
    Row("NetworkName", ""),
    Row("NetworkDeleteOnStop", "delete_on_stop", BOOL, newer=True),  # Quadlet 5.5
    MODULES,
    *SHARED,
    Row("Description", "description", section="Unit", escaped="text"),
)

# The kinds of issue 12
_NO_MODULE = Refuse("ContainersConfModule= is not offered for this kind here yet")
POD = (
    Row("AddHost", "add_hosts", Hosts()),
    Row("ContainersConfModule", "", _NO_MODULE),
    Row("DNS", "dns", Each()),
    Row("DNSOption", "dns_options", Each()),
    Row("DNSSearch", "dns_search", Each()),
    Row("GIDMap", "gid_map", Words()),
    Row("IP", "ip"),
    Row("IP6", "ip6"),
    Row("Network", "networks", Networks()),
    Row("NetworkAlias", "network_aliases", Each()),
    Row("PodName", ""),
    Row("PublishPort", "ports", Ports()),
    *REMAP,
    Row("ServiceName", "", Refuse("the unit of a pod here is always NAME-pod.service")),
    Row("ShmSize", "shm_size"),
    Row("SubGIDMap", "sub_gid_map"),
    Row("SubUIDMap", "sub_uid_map"),
    Row("UIDMap", "uid_map", Words()),
    Row("UserNS", "userns"),
    Row("Volume", "volumes", Volumes()),
    *SHARED,
    Row("Description", "description", section="Unit", escaped="text"),
)

IMAGE = (
    Row("AllTags", "all_tags", BOOL),
    Row("Arch", "arch"),
    Row("AuthFile", "auth_file", Path()),
    Row("CertDir", "cert_dir", Path()),
    Row("Creds", "creds"),
    Row("DecryptionKey", "decryption_key"),
    Row("Image", "image"),
    Row("ImageTag", "", Refuse("ImageTag= (an archive as the source) is not offered here")),
    Row("OS", "os"),
    Row("TLSVerify", "tls_verify", BOOL),
    Row("Variant", "variant"),
    Row("Retry", "retry", INT, newer=True),  # Quadlet 5.5
    Row("RetryDelay", "retry_delay", DUR, newer=True),  # Quadlet 5.5
    Row("Policy", "policy", newer=True),  # Quadlet 5.6
    Row("ContainersConfModule", "", _NO_MODULE),
    *SHARED,
    Row("Description", "description", section="Unit", escaped="text"),
)

BUILD = (
    Row("Annotation", "annotations", KeyVal()),
    Row("Arch", "podman_args", AsFlag(flag="--arch")),
    Row("AuthFile", "podman_args", AsFlag(flag="--authfile")),
    Row("ContainersConfModule", "", _NO_MODULE),
    Row("DNS", "podman_args", AsFlag(flag="--dns", many=True)),
    Row("DNSOption", "podman_args", AsFlag(flag="--dns-option", many=True)),
    Row("DNSSearch", "podman_args", AsFlag(flag="--dns-search", many=True)),
    Row("Environment", "podman_args", AsFlag(flag="--env", many=True, words=True)),
    Row("File", "file"),
    Row("ForceRM", "podman_args", AsFlag(flag="--force-rm")),
    Row("GroupAdd", "podman_args", AsFlag(flag="--group-add", many=True)),
    Row("ImageTag", "tag", Tags()),
    Row("Label", "labels", KeyVal()),
    Row("Network", "network", Network()),
    Row("Pull", "pull"),
    Row("Secret", "secrets", Each()),
    Row("SetWorkingDirectory", ""),  # the context: quadlet_in reads it
    Row("Target", "target"),
    Row("TLSVerify", "podman_args", AsFlag(flag="--tls-verify")),
    Row("Variant", "podman_args", AsFlag(flag="--variant")),
    Row("Volume", "volumes", Volumes()),
    *SHARED,
    Row("Description", "description", section="Unit", escaped="text"),
)

KUBE = (
    Row("AutoUpdate", "auto_update", AutoUpdates()),
    Row("ConfigMap", "config_maps", EachPath()),
    Row("ContainersConfModule", "", _NO_MODULE),
    Row("ExitCodePropagation", "exit_code_propagation"),
    Row("KubeDownForce", "", Refuse("KubeDownForce= is not supported here")),
    Row("LogDriver", "log_driver"),
    Row("LogOpt", "log_options", KeyVal()),
    Row("Network", "networks", Networks()),
    Row("PublishPort", "ports", Ports()),
    *REMAP,
    Row("SetWorkingDirectory", "set_working_directory"),
    Row("UserNS", "userns"),
    Row("Yaml", "yaml", Path()),
    *SHARED,
    Row("Description", "description", section="Unit", escaped="text"),
)

# the key that names podman's container, volume, network or pod: Quadlet's default is systemd-X,
# ours is X, which export writes and import reads
NAME_KEYS = {
    "container": "ContainerName",
    "volume": "VolumeName",
    "network": "NetworkName",
    "pod": "PodName",
}
# file suffix -> (our kind, Quadlet's section, rows)
KINDS: dict[str, tuple[str, str, tuple[Row, ...]]] = {
    ".container": ("container", "Container", CONTAINER),
    ".volume": ("volume", "Volume", VOLUME),
    ".network": ("network", "Network", NETWORK),
    ".pod": ("pod", "Pod", POD),
    ".image": ("image", "Image", IMAGE),
    ".build": ("build", "Build", BUILD),
    ".kube": ("kube", "Kube", KUBE),
}
SUFFIX_OF = {kind: suffix for suffix, (kind, _, _) in KINDS.items()}
# Quadlet's unit for X.SUFFIX: X.service for containers and kube, X-KIND.service for the others
UNIT_SUFFIX = {"container": "", "kube": ""}


@dataclass(frozen=True)
class Beyond:
    """A key of ours Quadlet has no key for, written as a podman flag in PodmanArgs= (and read
    back from there): flag is the word for a switch (value: the value of ours it stands for), or
    the prefix of `--flag=VALUE`, or with table, of `--flag=KEY=VALUE` once per entry."""

    ours: str
    flag: str
    value: Any = None
    table: bool = False

    def lift(self, word: str, into: dict[str, Any]) -> bool:
        if self.value is not None:
            if word == self.flag:
                into[self.ours] = self.value
            return word == self.flag
        if not word.startswith(self.flag):
            return False
        rest = word[len(self.flag) :]
        if self.table:
            key, sep, item = rest.partition("=")
            if not sep:
                return False
            into.setdefault(self.ours, {})[key] = item
        else:
            into[self.ours] = rest
        return True

    def words(self, value: Any) -> list[str]:
        if self.value is not None:
            return [self.flag] if value == self.value else []
        if self.table:
            return [f"{self.flag}{key}={item}" for key, item in (value or {}).items()]
        return [] if value is None else [f"{self.flag}{value}"]


# kind -> its keys beyond Quadlet's
BEYOND: dict[str, tuple[Beyond, ...]] = {
    "container": (
        Beyond("privileged", "--privileged", True),
        Beyond("http_proxy", "--http-proxy=false", False),
        Beyond("mac_address", "--mac-address="),
        Beyond("apparmor", "--security-opt=apparmor="),
    ),
    "pod": (
        Beyond("hostname", "--hostname="),
        Beyond("mac_address", "--mac-address="),
        Beyond("labels", "--label=", table=True),
    ),
    "volume": (Beyond("options", "--opt=", table=True),),
    "build": (
        Beyond("args", "--build-arg=", table=True),
        Beyond("ignore_file", "--ignorefile="),
    ),
}
