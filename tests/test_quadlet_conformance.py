"""The podman run arguments rendered for a definition mean what Quadlet 5.4's generator makes of
the equivalent .container file.

Each case is a definition and the Quadlet file a user moving over would have written. Both
command lines are read into (flag, value) pairs, `--flag value` and `--flag=value` alike, and
compared as multisets, leaving out what each adds on purpose: the container's name, the cid file,
--replace, --rm, -d, the cgroups mode, and --sdnotify unless the case sets notify. Skipped when
../shared/tools/fetch-quadlet cannot provide the generator (no network, no Debian mirror).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from orchestrator.core.loader import load
from orchestrator.core.render import podman_run_argv, render

FETCH = Path(__file__).resolve().parents[1].parent / "shared" / "tools" / "fetch-quadlet"
IMAGE = "localhost/busybox:test"
# podman run's flags that take no value in the lines either side writes
SWITCHES = {
    "--init", "--env-host", "--read-only", "--read-only-tmpfs", "--http-proxy", "--rm", "--replace",
    "-d", "--privileged",
}  # fmt: skip
OURS_ON_PURPOSE = {"--name", "--cidfile", "--replace", "--rm", "-d", "--cgroups", "--sdnotify"}
# the short spellings Quadlet writes for some flags
LONG = {"-v": "--volume", "-e": "--env", "-p": "--publish", "-w": "--workdir", "-u": "--user"}


def _capability(name: str) -> str:
    """podman reads a capability in any case, with or without CAP_ (as `cap_add` here does);
    Quadlet lowercases them and we write CAP_UPPER, so both sides are brought to that form."""
    upper = name.upper()
    return upper if upper == "ALL" or upper.startswith("CAP_") else f"CAP_{upper}"


# flag -> what makes two spellings of its value the same for podman
SAME_FOR_PODMAN = {"--cap-add": _capability, "--cap-drop": _capability}


def _quadlet() -> str:
    path = os.environ.get("QUADLET")
    if path:
        return path
    try:
        done = subprocess.run([str(FETCH)], capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired):
        done = None
    if done is None or done.returncode != 0 or not done.stdout.strip():
        pytest.skip("fetch-quadlet cannot provide Quadlet 5.4's generator here")
    return done.stdout.strip()


@pytest.fixture(scope="module")
def quadlet() -> str:
    return _quadlet()


# (id, definition keys, Quadlet [Container] lines); the image is added to both
CASES = [
    (
        "process",
        """init = true
stop_signal = "INT"
shm_size = "128m"
ulimits = { nofile = "1024:4096", nproc = 512 }
sysctls = { "net.ipv4.ip_forward" = 1, "kernel.msgmax" = 65536 }
pids_limit = 200
group_add = ["keep-groups", "wheel"]
timezone = "Europe/Paris"
environment_host = true
annotations = { "org.example.owner" = "payments", tier = 3 }""",
        """RunInit=true
StopSignal=SIGINT
ShmSize=128m
Ulimit=nofile=1024:4096
Ulimit=nproc=512
Sysctl=net.ipv4.ip_forward=1 kernel.msgmax=65536
PidsLimit=200
GroupAdd=keep-groups
GroupAdd=wheel
Timezone=Europe/Paris
EnvironmentHost=true
Annotation=org.example.owner=payments tier=3""",
    ),
    (
        "network",
        """dns = ["10.0.0.53", "2001:db8::53"]
dns_search = ["example.com", "."]
dns_options = ["ndots:2", "edns0"]
add_hosts = { "db.internal" = "10.0.0.2", cache = "fd00::2" }
expose = [8080, "9000-9002", "53/udp"]
ip = "10.88.0.10"
ip6 = "fd00:88::10"
""",
        """DNS=10.0.0.53
DNS=2001:db8::53
DNSSearch=example.com
DNSSearch=.
DNSOption=ndots:2
DNSOption=edns0
AddHost=db.internal:10.0.0.2
AddHost=cache:fd00::2
ExposeHostPort=8080
ExposeHostPort=9000-9002
ExposeHostPort=53/udp
IP=10.88.0.10
IP6=fd00:88::10""",
    ),
    (
        "security",
        """read_only = true
read_only_tmpfs = false
mask = ["/proc/acpi", "/sys/firmware"]
unmask = ["/proc/kcore"]
security_label_type = "spc_t"
security_label_level = "s0:c1,c2"
security_label_file_type = "usr_t"
security_label_disable = true
security_label_nested = true
seccomp_profile = "/etc/containers/seccomp.json"
no_new_privileges = true""",
        """ReadOnly=true
ReadOnlyTmpfs=false
Mask=/proc/acpi:/sys/firmware
Unmask=/proc/kcore
SecurityLabelType=spc_t
SecurityLabelLevel=s0:c1,c2
SecurityLabelFileType=usr_t
SecurityLabelDisable=true
SecurityLabelNested=true
SeccompProfile=/etc/containers/seccomp.json
NoNewPrivileges=true""",
    ),
    (
        "read-only-tmpfs-given",
        "read_only = true\nread_only_tmpfs = true",
        "ReadOnly=true\nReadOnlyTmpfs=true",
    ),
    (
        # podman's table: without --read-only, false and true both leave every path writable;
        # accepted, and written as Quadlet writes it
        "read-only-tmpfs-alone",
        "read_only_tmpfs = false",
        "ReadOnlyTmpfs=false",
    ),
    (
        "userns",
        """userns = "keep-id:uid=1000,gid=1000"
uid_map = ["0:100000:65536"]
gid_map = ["0:100000:65536"]
sub_uid_map = "app"
sub_gid_map = "app"
""",
        """UserNS=keep-id:uid=1000,gid=1000
UIDMap=0:100000:65536
GIDMap=0:100000:65536
SubUIDMap=app
SubGIDMap=app""",
    ),
    (
        "logging-and-mounts",
        """log_driver = "journald"
log_options = { tag = "web", max-size = "10m" }
mounts = [
  "type=tmpfs,destination=/cache,tmpfs-size=64m",
  { type = "bind", source = "/srv/conf", target = "/etc/app", ro = "true" },
  { type = "volume", source = "data", destination = "/data" },
  "type=glob,source=/srv/*.conf,target=/etc/conf.d",
]

[volume.data]""",
        """LogDriver=journald
LogOpt=tag=web
LogOpt=max-size=10m
Mount=type=tmpfs,destination=/cache,tmpfs-size=64m
Mount=type=bind,source=/srv/conf,target=/etc/app,ro=true
Mount=type=volume,source=data,destination=/data
Mount=type=glob,source=/srv/*.conf,target=/etc/conf.d""",
    ),
    (
        "health-and-notify",
        """notify = "healthy"
health = { command = "curl -f localhost", interval = "15s", startup_command = "test -e /ready", startup_interval = "2s", startup_timeout = "1s", startup_retries = 30, startup_success = 2, log_destination = "/var/log/health", log_count = 10, log_size = 1000 }""",  # noqa: E501
        """Notify=healthy
HealthLogDestination=/var/log/health
HealthMaxLogCount=10
HealthMaxLogSize=1000
HealthCmd=curl -f localhost
HealthInterval=15s
HealthStartupCmd=test -e /ready
HealthStartupInterval=2s
HealthStartupTimeout=1s
HealthStartupRetries=30
HealthStartupSuccess=2""",
    ),
    (
        "beyond-quadlet-keys",
        """privileged = true
http_proxy = false
mac_address = "92:d0:c6:0a:29:33"
apparmor = "unconfined"
""",
        "PodmanArgs=--privileged --http-proxy=false --mac-address=92:d0:c6:0a:29:33 "
        "--security-opt=apparmor=unconfined",
    ),
    (
        "image-and-identity",
        """pull = "newer"
auto_update = "registry"
labels = { tier = "web", "org.example.team" = "payments" }
environment = { GREETING = "hello world", EMPTY = "" }
env_files = ["/etc/app.env"]
hostname = "web"
user = "1000:1000"
workdir = "/app"
entrypoint = "/bin/sh"
stop_timeout = "20s"
""",
        """Pull=newer
AutoUpdate=registry
Label=tier=web org.example.team=payments
Environment="GREETING=hello world" EMPTY=
EnvironmentFile=/etc/app.env
HostName=web
User=1000
Group=1000
WorkingDir=/app
Entrypoint=/bin/sh
StopTimeout=20""",
    ),
    (
        "ports-storage-networks",
        """ports = ["8080:80", "127.0.0.1:5353:53/udp", "9000-9001:9000-9001"]
volumes = ["/srv/conf:/etc/app:ro", "data:/data", "/srv/cache:/cache:rw,z"]
tmpfs = ["/run:size=64m", "/scratch"]
networks = ["backend", "frontend"]
network_aliases = ["web", "www"]

[volume.data]
[network.backend]
[network.frontend]""",
        """PublishPort=8080:80
PublishPort=127.0.0.1:5353:53/udp
PublishPort=9000-9001:9000-9001
Volume=/srv/conf:/etc/app:ro
Volume=data:/data
Volume=/srv/cache:/cache:rw,z
Tmpfs=/run:size=64m
Tmpfs=/scratch
Network=backend
Network=frontend
NetworkAlias=web
NetworkAlias=www""",
    ),
    (
        "host-network",
        'networks = ["host"]',
        "Network=host",
    ),
    (
        "capabilities-devices-secrets",
        """cap_add = ["CAP_NET_ADMIN", "net_raw"]
cap_drop = ["all"]
devices = ["/dev/fuse", "/dev/sda:/dev/xvda:rwm"]
secrets = ["cert", { name = "token", type = "env", target = "TOKEN" }, { name = "key", target = "/run/key" }, { name = "tls", uid = 101, gid = 102, mode = "0440" }]""",  # noqa: E501
        """AddCapability=CAP_NET_ADMIN net_raw
DropCapability=all
AddDevice=/dev/fuse
AddDevice=/dev/sda:/dev/xvda:rwm
Secret=cert
Secret=token,type=env,target=TOKEN
Secret=key,target=/run/key
Secret=tls,uid=101,gid=102,mode=0440""",
    ),
    (
        "global-args",
        """global_args = ["--log-level=info"]
containers_conf_module = ["/etc/containers/extra.conf"]
""",
        """GlobalArgs=--log-level=info
ContainersConfModule=/etc/containers/extra.conf""",
    ),
]


def pairs(argv: list[str]) -> tuple[Counter[tuple[str, str | None]], list[str], list[str]]:
    """The global options (before `run`), the run flags as (flag, value), and what follows."""
    run = argv.index("run")
    flags: Counter[tuple[str, str | None]] = Counter()
    i = run + 1
    while i < len(argv) and argv[i].startswith("-"):
        word = argv[i]
        value: str | None = None
        if "=" in word:
            word, _, value = word.partition("=")
        elif word not in SWITCHES:
            i += 1
            value = argv[i]
        flag = LONG.get(word, word)
        same = SAME_FOR_PODMAN.get(flag)
        flags[(flag, same(value) if same and value is not None else value)] += 1
        i += 1
    return flags, argv[1:run], argv[i:]


def _compared(argv: list[str], keep_notify: bool) -> tuple[object, ...]:
    flags, global_args, rest = pairs(argv)
    dropped = OURS_ON_PURPOSE - ({"--sdnotify"} if keep_notify else set())
    kept = Counter({k: n for k, n in flags.items() if k[0] not in dropped})
    return kept, global_args, rest


def quadlet_argv(quadlet: str, tmp: Path, body: str) -> list[str]:
    units = tmp / "quadlet"
    units.mkdir()
    (units / "app.container").write_text(f"[Container]\nImage={IMAGE}\n{body}\n")
    env = {**os.environ, "QUADLET_UNIT_DIRS": str(units)}
    done = subprocess.run(
        [quadlet, "-dryrun"], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def our_argv(tmp: Path, body: str) -> tuple[list[str], bool]:
    (tmp / "app.toml").write_text(f'[container.app]\nimage = "{IMAGE}"\n{body}\n')
    container = load([str(tmp / "app.toml")]).containers["app"]
    return [str(word) for word in podman_run_argv("app", container)], container.notify != "conmon"


@pytest.mark.parametrize(
    ("definition", "quadlet_file"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_our_podman_arguments_mean_what_quadlet_generates(
    quadlet: str, tmp_path: Path, definition: str, quadlet_file: str
) -> None:
    ours, notify = our_argv(tmp_path, definition)
    theirs = quadlet_argv(quadlet, tmp_path, quadlet_file)
    assert _compared(ours, notify) == _compared(theirs, notify)


def test_the_comparison_sees_a_difference(quadlet: str, tmp_path: Path) -> None:
    ours, _ = our_argv(tmp_path, 'stop_signal = "SIGINT"')
    theirs = quadlet_argv(quadlet, tmp_path, "StopSignal=SIGTERM")
    assert _compared(ours, False) != _compared(theirs, False)


# Keys compared some other way than by a case above (none today): every row of RUN_FLAGS
# needs a case.
COMPARED_ELSEWHERE: set[str] = set()


def test_every_container_key_with_a_flag_row_has_a_case() -> None:
    import tomllib

    from orchestrator.core.render import HEALTH_FLAGS, RENDERED_BY_CODE, RUN_FLAGS, Flag

    covered: set[str] = set()
    for _, definition, _ in CASES:
        table = tomllib.loads(f"[c]\n{definition}")["c"]
        covered |= set(table) | {f"health.{k}" for k in table.get("health", {})}
    rows = {row.field for row in RUN_FLAGS if isinstance(row, Flag)}
    rows |= {f"health.{row.field}" for row in HEALTH_FLAGS if row.since}
    code = {"notify", "global_args", "containers_conf_module"} & RENDERED_BY_CODE
    missing = (rows | code) - covered - COMPARED_ELSEWHERE
    assert not missing, f"keys with no conformance case: {sorted(missing)}"


# Pods: the `podman pod create` of the pod unit, and the `podman run` of a member, against
# Quadlet's .pod and a .container with Pod=. Left out as ours on purpose as well: the pod's
# name, infra name, PID and pod-id files, --replace, and --exit-policy (Quadlet writes stop;
# here systemd alone decides when a pod stops, see render.podman_pod_create_argv); a member's
# pod-id file is compared by its presence (Quadlet names it after the pod unit without .service).
POD_OURS_ON_PURPOSE = {
    "--name", "--infra-name", "--infra-conmon-pidfile", "--pod-id-file", "--replace",
    "--exit-policy",
}  # fmt: skip
SHORT_FLAGS = {"-v": "--volume", "-p": "--publish"}
# (id, [pod.app] keys, Quadlet [Pod] lines); hostname and labels are podman_args to Quadlet 5.4
POD_CASES = [
    (
        "every-pod-key",
        """ports = ["8080:80", "127.0.0.1:9090:9090/udp"]
networks = ["front"]
network_aliases = ["shop"]
volumes = ["data:/data", "/srv/static:/static:ro"]
dns = ["10.0.0.53"]
dns_search = ["example.com"]
dns_options = ["ndots:2"]
add_hosts = { "db.internal" = "10.0.0.2" }
ip = "10.89.0.10"
ip6 = "fd00::10"
shm_size = "128m"
global_args = ["--log-level=info"]
hostname = "shop"
labels = { tier = "web" }
mac_address = "92:d0:c6:0a:29:33"

[network.front]
[volume.data]""",
        """PublishPort=8080:80
PublishPort=127.0.0.1:9090:9090/udp
Network=front
NetworkAlias=shop
Volume=data:/data
Volume=/srv/static:/static:ro
DNS=10.0.0.53
DNSSearch=example.com
DNSOption=ndots:2
AddHost=db.internal:10.0.0.2
IP=10.89.0.10
IP6=fd00::10
ShmSize=128m
GlobalArgs=--log-level=info
PodmanArgs=--hostname=shop --label=tier=web --mac-address=92:d0:c6:0a:29:33""",
    ),
    (
        "user-namespace",
        """userns = "auto"
uid_map = ["0:100000:65536"]
gid_map = ["0:100000:65536"]
sub_uid_map = "app"
sub_gid_map = "app"
podman_args = ["--infra-command=/catatonit"]""",
        """UserNS=auto
UIDMap=0:100000:65536
GIDMap=0:100000:65536
SubUIDMap=app
SubGIDMap=app
PodmanArgs=--infra-command=/catatonit""",
    ),
]


def flag_pairs(words: list[str], start: int) -> Counter[tuple[str, str | None]]:
    """words[start:]'s leading flags as (flag, value), `--flag value` and `--flag=value` alike."""
    flags: Counter[tuple[str, str | None]] = Counter()
    i = start
    while i < len(words) and words[i].startswith("-"):
        flag, sep, value = words[i].partition("=")
        flag = SHORT_FLAGS.get(flag, flag)
        if not sep and flag not in SWITCHES:
            i += 1
            value = words[i]
        flags[(flag, value if sep or flag not in SWITCHES else None)] += 1
        i += 1
    return flags


def _pod_compared(argv: list[str]) -> tuple[object, ...]:
    create = argv.index("create")
    flags = flag_pairs(argv, create + 1)
    kept = Counter({k: n for k, n in flags.items() if k[0] not in POD_OURS_ON_PURPOSE})
    return kept, argv[1 : create - 1]


def _member_compared(argv: list[str]) -> tuple[object, ...]:
    flags, global_args, rest = pairs(argv)
    dropped = OURS_ON_PURPOSE | {"--pod-id-file"}
    kept = Counter({k: n for k, n in flags.items() if k[0] not in dropped})
    joined = sum(n for k, n in flags.items() if k[0] == "--pod-id-file")
    return kept, global_args, rest, joined


def quadlet_pod(quadlet: str, tmp: Path, body: str) -> tuple[list[str], list[str]]:
    """Quadlet's `podman pod create` for app.pod, and its `podman run` for a member."""
    units = tmp / "quadlet"
    units.mkdir()
    (units / "app.pod").write_text(f"[Pod]\n{body}\n")
    (units / "web.container").write_text(f"[Container]\nImage={IMAGE}\nPod=app.pod\n")
    env = {**os.environ, "QUADLET_UNIT_DIRS": str(units)}
    done = subprocess.run(
        [quadlet, "-dryrun"], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    lines = done.stdout.splitlines()
    create = next(x for x in lines if x.startswith("ExecStartPre=") and " pod create " in x)
    run = next(x for x in lines if x.startswith("ExecStart=") and " run " in x)
    return (shlex.split(create.partition("=")[2]), shlex.split(run.partition("=")[2]))


def test_capabilities_compare_by_name_whatever_their_spelling(quadlet: str, tmp_path: Path) -> None:
    ours, _ = our_argv(tmp_path, 'cap_add = ["net_admin"]')
    same = quadlet_argv(quadlet, tmp_path, "AddCapability=CAP_NET_ADMIN")
    assert _compared(ours, False) == _compared(same, False)
    (tmp_path / "quadlet").rename(tmp_path / "first")
    other = quadlet_argv(quadlet, tmp_path, "AddCapability=CAP_NET_RAW")
    assert _compared(ours, False) != _compared(other, False)


# (id, keys of [volume.data] or [network.data], Quadlet [Volume] or [Network] lines)
VOLUME_CASES = [
    ("plain-volume", "", ""),
    (
        "local-volume",
        """driver = "local"
device = "/dev/sdb1"
type = "ext4"
mount_options = "noatime,nodev"
uid = 1000
gid = 1001
copy = false
labels = { backup = "nightly", tier = 2 }
global_args = ["--log-level=info"]
containers_conf_module = ["/etc/containers/extra.conf"]
podman_args = ["--opt=extra=1"]""",
        """Driver=local
Device=/dev/sdb1
Type=ext4
Options=noatime,nodev
User=1000
Group=1001
Copy=false
Label=backup=nightly tier=2
GlobalArgs=--log-level=info
ContainersConfModule=/etc/containers/extra.conf
PodmanArgs=--opt=extra=1""",
    ),
    (
        "tmpfs-volume",
        'copy = true\ndevice = "tmpfs"\ntype = "tmpfs"\nmount_options = ["mode=1777", "nodev"]',
        "Copy=true\nDevice=tmpfs\nType=tmpfs\nOptions=mode=1777,nodev",
    ),
    (
        "options-table",
        'options = { type = "tmpfs", device = "tmpfs", o = "mode=1777" }',
        "Device=tmpfs\nType=tmpfs\nOptions=mode=1777",
    ),
    ("owner-only", "uid = 0\ngid = 100", "User=0\nGroup=100"),
    ("image-volume", f'image = "{IMAGE}"', f"Driver=image\nImage={IMAGE}"),
    ("image-driver-given", f'driver = "image"\nimage = "{IMAGE}"', f"Driver=image\nImage={IMAGE}"),
]
NETWORK_CASES = [
    ("plain-network", "", ""),
    (
        "network-one-subnet",
        """driver = "bridge"
subnet = "10.89.0.0/24"
gateway = "10.89.0.1"
ip_range = "10.89.0.128/25"
internal = true
dns = false
options = { mtu = 1400, isolate = true }
labels = { zone = "internal" }""",
        """Driver=bridge
Subnet=10.89.0.0/24
Gateway=10.89.0.1
IPRange=10.89.0.128/25
Internal=true
DisableDNS=true
Options=mtu=1400
Options=isolate=true
Label=zone=internal""",
    ),
    (
        "network-dual-stack",
        """ipv6 = true
ipam_driver = "host-local"
subnets = [
  { subnet = "10.89.1.0/24", gateway = "10.89.1.254", ip_range = "10.89.1.0/25" },
  { subnet = "fd00:89:1::/64", gateway = "fd00:89:1::fe" },
  "10.89.2.0/24",
]
dns_servers = ["10.0.0.53", "2001:db8::53"]
global_args = ["--log-level=info"]
containers_conf_module = ["/etc/containers/extra.conf"]
podman_args = ["--opt=vlan=5"]""",
        """IPv6=true
IPAMDriver=host-local
Subnet=10.89.1.0/24
Gateway=10.89.1.254
IPRange=10.89.1.0/25
Subnet=fd00:89:1::/64
Gateway=fd00:89:1::fe
Subnet=10.89.2.0/24
DNS=10.0.0.53
DNS=2001:db8::53
GlobalArgs=--log-level=info
ContainersConfModule=/etc/containers/extra.conf
PodmanArgs=--opt=vlan=5""",
    ),
    ("network-dhcp", 'driver = "macvlan"\nipam_driver = "dhcp"', "Driver=macvlan\nIPAMDriver=dhcp"),
]
# Quadlet 5.5's NetworkDeleteOnStop=, which 5.4's generator refuses: tests/core/test_render.py
BEYOND_QUADLET_5_4 = {"delete_on_stop"}
CREATE_SWITCHES = {"--internal", "--ipv6", "--disable-dns", "--ignore"}
# podman reads these into a map or a set: their order means nothing
UNORDERED = {"--opt", "--label"}


def create_flags(
    argv: list[str], kind: str
) -> tuple[list[str], dict[str, list[str | None]], list[str]]:
    """The global options, the create command's flags as flag -> values in order (the order of
    one flag's values matters: podman pairs the nth --gateway with the nth --subnet), the rest."""
    at = argv.index(kind)
    assert argv[at + 1] == "create"
    flags: dict[str, list[str | None]] = {}
    i = at + 2
    while i < len(argv) and argv[i].startswith("-"):
        word, value = argv[i], None
        if "=" in word:
            word, _, value = word.partition("=")
        elif word not in CREATE_SWITCHES:
            i += 1
            value = argv[i]
        flags.setdefault(word, []).append(value)
        i += 1
    flags.pop("--ignore", None)  # Quadlet's; ours asks `exists` first (podman 4.3 has no --ignore)
    for flag in UNORDERED & set(flags):
        flags[flag] = sorted(flags[flag], key=str)
    return argv[1:at], flags, argv[i:]


def our_create_argv(tmp: Path, kind: str, body: str) -> list[str]:
    """The one `podman KIND create` the unit's script runs, read back from the unit file."""
    (tmp / "app.toml").write_text(f"[{kind}.data]\n{body}\n")
    units = render(load([str(tmp / "app.toml")]))
    line = next(x for x in units[f"data-{kind}.service"].splitlines() if x.startswith("ExecStart="))
    _sh, _, script, name, *args = shlex.split(line.removeprefix("ExecStart=").replace("$$", "$"))
    podman = shlex.split(script.partition(f" {kind} exists ")[0])
    assert script.endswith(f'exec {shlex.join(podman)} {kind} create "$@" "$0"')
    return [*podman, kind, "create", *args, name]


def quadlet_create_argv(quadlet: str, tmp: Path, kind: str, body: str) -> list[str]:
    units = tmp / "quadlet"
    units.mkdir()
    section = kind.capitalize()
    (units / f"data.{kind}").write_text(f"[{section}]\n{section}Name=data\n{body}\n")
    env = {**os.environ, "QUADLET_UNIT_DIRS": str(units)}
    done = subprocess.run(
        [quadlet, "-dryrun"], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def our_pod(tmp: Path, body: str) -> tuple[list[str], list[str]]:
    from orchestrator.core.render import podman_pod_create_argv

    member = f'[container.web]\nimage = "{IMAGE}"\npod = "app"\n'
    (tmp / "app.toml").write_text(f"{member}\n[pod.app]\n{body}\n")
    spec = load([str(tmp / "app.toml")])
    create = podman_pod_create_argv("app", spec.pods["app"])
    run = podman_run_argv("web", spec.containers["web"])
    return [str(w) for w in create], [str(w) for w in run]


@pytest.mark.parametrize(
    ("definition", "quadlet_file"), [c[1:] for c in POD_CASES], ids=[c[0] for c in POD_CASES]
)
def test_our_pod_and_member_arguments_mean_what_quadlet_generates(
    quadlet: str, tmp_path: Path, definition: str, quadlet_file: str
) -> None:
    our_create, our_run = our_pod(tmp_path, definition)
    their_create, their_run = quadlet_pod(quadlet, tmp_path, quadlet_file)
    assert _pod_compared(our_create) == _pod_compared(their_create)
    assert _member_compared(our_run) == _member_compared(their_run)


def test_the_pod_comparison_sees_a_difference(quadlet: str, tmp_path: Path) -> None:
    our_create, _ = our_pod(tmp_path, 'ports = ["8080:80"]')
    their_create, _ = quadlet_pod(quadlet, tmp_path, "PublishPort=8081:80")
    assert _pod_compared(our_create) != _pod_compared(their_create)


def test_every_pod_key_with_a_flag_row_has_a_case() -> None:
    import tomllib

    from orchestrator.core.render import POD_FLAGS

    covered: set[str] = set()
    for _, definition, _ in POD_CASES:
        covered |= set(tomllib.loads(definition))
    missing = {row.field for row in POD_FLAGS} - covered
    assert not missing, f"pod keys with no conformance case: {sorted(missing)}"


def quadlet_runs(quadlet: str, tmp: Path, files: dict[str, str]) -> dict[str, list[str]]:
    """Quadlet's `podman run` line of each unit made from files (name -> text)."""
    units = tmp / "quadlet"
    units.mkdir()
    for name, text in files.items():
        (units / name).write_text(text)
    env = {**os.environ, "QUADLET_UNIT_DIRS": str(units)}
    done = subprocess.run(
        [quadlet, "-dryrun"], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    runs: dict[str, list[str]] = {}
    unit = ""
    for line in done.stdout.splitlines():
        if line.startswith("---") and line.endswith("---"):
            unit = line.strip("-").removesuffix(".service")
        elif line.startswith("ExecStart="):
            runs[unit] = shlex.split(line.removeprefix("ExecStart="))
    return runs


def test_a_rootfs_and_another_container_s_network_mean_what_quadlet_generates(
    quadlet: str, tmp_path: Path
) -> None:
    (tmp_path / "app.toml").write_text(
        f"""[container.host]
image = "{IMAGE}"

[container.side]
image = "{IMAGE}"
networks = ["container:host"]

[container.chroot]
rootfs = "/srv/rootfs:O"
command = ["/bin/server", "-v"]
"""
    )
    spec = load([str(tmp_path / "app.toml")])
    theirs = quadlet_runs(quadlet, tmp_path, {
        "host.container": f"[Container]\nImage={IMAGE}\nContainerName=host\n",
        "side.container": f"[Container]\nImage={IMAGE}\nNetwork=host.container\n",
        "chroot.container": "[Container]\nRootfs=/srv/rootfs:O\nExec=/bin/server -v\n",
    })  # fmt: skip
    for name in ("side", "chroot"):
        ours = [str(w) for w in podman_run_argv(name, spec.containers[name])]
        assert _compared(ours, False) == _compared(theirs[name], False), name


def test_optional_devices_are_those_quadlet_keeps_on_this_host(
    quadlet: str, tmp_path: Path
) -> None:
    """Quadlet keeps an AddDevice=- device that exists when it runs; the unit here finds the same
    ones when it starts, and passes them where $ORCHESTRATOR_DEVICES stands."""
    devices = ["/dev/null", "-/dev/zero:/dev/z:rw", "-/dev/no-such-device"]
    (tmp_path / "app.toml").write_text(
        f'[container.app]\nimage = "{IMAGE}"\ndevices = {json.dumps(devices)}\n'
    )
    container = load([str(tmp_path / "app.toml")]).containers["app"]
    present = [d[1:] for d in devices if d.startswith("-") and os.path.exists(d[1:].split(":")[0])]
    ours: list[str] = []
    for word in podman_run_argv("app", container):
        ours += [f"--device={d}" for d in present] if word == "$ORCHESTRATOR_DEVICES" else [word]
    body = "".join(f"AddDevice={d}\n" for d in devices)
    theirs = quadlet_runs(
        quadlet, tmp_path, {"app.container": f"[Container]\nImage={IMAGE}\n{body}"}
    )
    assert _compared(ours, False) == _compared(theirs["app"], False)


ONESHOT_CASES = [("volume", *c) for c in VOLUME_CASES] + [("network", *c) for c in NETWORK_CASES]


@pytest.mark.parametrize(
    ("kind", "definition", "quadlet_file"),
    [(c[0], *c[2:]) for c in ONESHOT_CASES],
    ids=[c[1] for c in ONESHOT_CASES],
)
def test_our_volume_and_network_create_means_what_quadlet_generates(
    quadlet: str, tmp_path: Path, kind: str, definition: str, quadlet_file: str
) -> None:
    ours = create_flags(our_create_argv(tmp_path, kind, definition), kind)
    theirs = create_flags(quadlet_create_argv(quadlet, tmp_path, kind, quadlet_file), kind)
    assert ours == theirs


def test_the_create_comparison_sees_the_order_of_gateways(quadlet: str, tmp_path: Path) -> None:
    body = 'subnets = [{ subnet = "10.1.0.0/24", gateway = "10.1.0.1" }, { subnet = "10.2.0.0/24", gateway = "10.2.0.1" }]'  # noqa: E501
    ours = create_flags(our_create_argv(tmp_path, "network", body), "network")
    swapped = "Subnet=10.1.0.0/24\nGateway=10.2.0.1\nSubnet=10.2.0.0/24\nGateway=10.1.0.1"
    theirs = quadlet_create_argv(quadlet, tmp_path, "network", swapped)
    assert ours != create_flags(theirs, "network")


def test_every_volume_and_network_key_has_a_case() -> None:
    import tomllib

    from orchestrator.core.models import Network, Volume

    for kind, model in (("volume", Volume), ("network", Network)):
        covered: set[str] = set()
        for case in ONESHOT_CASES:
            if case[0] == kind:
                covered |= set(tomllib.loads(case[2]))
        keys = {f.alias or name for name, f in model.model_fields.items()} - {"description"}
        keys -= BEYOND_QUADLET_5_4
        assert not keys - covered, f"{kind} keys with no conformance case: {sorted(keys - covered)}"


def test_every_volume_and_network_key_is_documented() -> None:
    from orchestrator.core.models import Network, Volume

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    mapping = (root / "docs" / "quadlet-mapping.md").read_text()
    for kind, model in (("volume", Volume), ("network", Network)):
        section = readme.split(f"### `[{kind}.NAME]`", 1)[1].split("\n### ", 1)[0]
        table = mapping.split(f"`[{kind}.NAME]`", 1)[1].split("\n## ", 1)[0]
        keys = {f.alias or name for name, f in model.model_fields.items()} - {"description"}
        assert not [k for k in keys if f"`{k}`" not in section], f"{kind} keys without a README row"
        assert not [k for k in keys if f"`{k}" not in table], f"{kind} keys without a mapping row"
