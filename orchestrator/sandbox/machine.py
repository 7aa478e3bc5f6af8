"""A throw-away systemd with real podman, confined in private namespaces (see "Tests" in
docs/architecture.md).

The sandbox's systemd is PID 1 of its own pid, mount, cgroup, uts and ipc namespaces, in cgroup
directories of its own, with fresh /run, /tmp, /var/tmp and /var/log/journal, and private
/etc/systemd/system, /etc/containers, /var/lib/containers and /var/lib/systemd kept in a state
directory. Confinement happens before systemd starts; a systemd started without it empties /tmp
and moves the host's processes between cgroups. The network namespace is the host's, so ports
that containers publish answer on the host's localhost.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import OrchestratorError, UsageError
from orchestrator.host import runner

DEFAULT_ROOT = "/var/lib/orchestrator-sandboxes"
ROOT_ENV = "ORCHESTRATOR_SANDBOX_ROOT"
SYSTEMD = "/lib/systemd/systemd"
CGROUP_PREFIX = "orchestrator-sandbox-"
# Replaced inside the sandbox: its state directory must be visible there, so not below these.
HIDDEN_INSIDE = (
    "/tmp",
    "/var/tmp",
    "/run",
    "/etc/systemd/system",
    "/etc/containers",
    "/var/lib/containers",
    "/var/lib/systemd",
    "/var/lib/orchestrator",
    "/proc",
    "/sys",
)
CLEAN_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "SYSTEMD_PAGER": "",
    "SYSTEMD_COLORS": "0",
}
# Units that would touch the host from inside: its kernel settings, device nodes, users, mounts,
# clocks and consoles. They are masked in the sandbox's own /etc/systemd/system.
MASKED = """
systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service
systemd-tmpfiles-setup-dev-early.service systemd-tmpfiles-clean.service
systemd-tmpfiles-clean.timer systemd-sysctl.service systemd-binfmt.service
proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount systemd-modules-load.service
systemd-remount-fs.service systemd-random-seed.service systemd-firstboot.service
systemd-machine-id-commit.service systemd-repart.service systemd-pstore.service
systemd-update-utmp.service systemd-update-utmp-runlevel.service systemd-sysusers.service
kmod-static-nodes.service ldconfig.service systemd-update-done.service
systemd-journal-catalog-update.service systemd-hwdb-update.service
systemd-pcrphase.service systemd-pcrphase-sysinit.service systemd-journald-audit.socket
getty.target getty@.service serial-getty@.service console-getty.service
container-getty@.service sys-kernel-config.mount sys-kernel-debug.mount
sys-kernel-tracing.mount sys-fs-fuse-connections.mount dev-hugepages.mount dev-mqueue.mount
swap.target podman-auto-update.timer
""".split()
ACCOUNT_FILES = ("passwd", "group", "shadow", "gshadow", "subuid", "subgid")
CONTAINERS_CONF = """\
# Written by orchestrator for this sandbox: runc (crun refuses a hybrid cgroup layout) and
# ulimits no higher than the sandbox's own hard limits, which it cannot raise.
[containers]
default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]

[engine]
runtime = "runc"
"""


def containers_conf() -> str:
    """The sandbox's containers.conf. nproc counts every task of uid 0 on the host, podman's
    threads included, and containers lack CAP_SYS_RESOURCE to exceed it: with nproc=1024 a
    container's fork could fail while 50 containers started at once."""
    limits = {}
    for name, which in (("nofile", resource.RLIMIT_NOFILE), ("nproc", resource.RLIMIT_NPROC)):
        hard = resource.getrlimit(which)[1]
        limits[name] = 1048576 if hard == resource.RLIM_INFINITY else min(hard, 1048576)
    return CONTAINERS_CONF.format(**limits)


# Runs as PID 1 of the new namespaces, then becomes systemd. $1 state directory, $2 name, then
# "DIR FSTYPE OPTIONS" triples for the cgroup hierarchies to mount again, rooted at our cgroup.
SETUP = r"""
set -eu
state=$1 name=$2
shift 2
# orchestrator itself (Sandbox.prepare lists it in $state/carry when it lives under /tmp,
# /var/tmp or /run): held aside before those are replaced, put back at the same path after.
i=0
if [ -f "$state/carry" ]; then
  while IFS= read -r path; do
    i=$((i + 1)); mkdir -p "$state/carried/$i"; mount --bind "$path" "$state/carried/$i"
  done < "$state/carry"
fi
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp
i=0
if [ -f "$state/carry" ]; then
  while IFS= read -r path; do
    i=$((i + 1)); mkdir -p "$path"; mount --move "$state/carried/$i" "$path"
  done < "$state/carry"
fi
if [ -d /var/log/journal ]; then mount -t tmpfs -o mode=2755 tmpfs /var/log/journal; fi
mount --bind "$state/etc-systemd-system" /etc/systemd/system
mount --bind "$state/etc-containers" /etc/containers
mount --bind "$state/var-lib-containers" /var/lib/containers
mount --bind "$state/var-lib-systemd" /var/lib/systemd
mount --bind "$state/var-lib-orchestrator" /var/lib/orchestrator
mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t tmpfs -o mode=0755,nosuid,nodev,noexec tmpfs /sys/fs/cgroup
while [ $# -ge 3 ]; do
  mkdir -p "/sys/fs/cgroup/$1"
  mount -t "$2" -o "$3" cgroup "/sys/fs/cgroup/$1"
  shift 3
done
if [ -d "$state/etc-private" ]; then  # test users (Sandbox.add_user): this sandbox only
  for f in passwd group shadow gshadow subuid subgid; do
    if [ -f "$state/etc-private/$f" ] && [ -f "/etc/$f" ]; then
      mount --bind "$state/etc-private/$f" "/etc/$f"
    fi
  done
  if [ -c /dev/net/tun ]; then  # rootless networking opens it as the user; the host's is 0600
    mount -t tmpfs -o mode=0755,nosuid,size=4k tmpfs /dev/net
    mknod -m 0666 /dev/net/tun c 10 200
  fi
fi
if [ -f "$state/hidden" ]; then  # Sandbox.hide: an empty directory over each path listed
  while IFS= read -r path; do
    mount -t tmpfs -o mode=0755,size=4k,ro tmpfs "$path"
  done < "$state/hidden"
fi
exec env -i container="orchestrator-$name" PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  /lib/systemd/systemd --unit=multi-user.target
"""


class SandboxError(OrchestratorError):
    multiline = True  # may end with the tail of the sandbox's console


@dataclass(frozen=True)
class Hierarchy:
    """One cgroup hierarchy of the host: where it is mounted and how to mount it again."""

    directory: str  # below /sys/fs/cgroup
    fstype: str  # cgroup or cgroup2
    options: str  # controllers / name=systemd
    current: str  # our cgroup in it, from /proc/self/cgroup


def host_hierarchies() -> list[Hierarchy]:
    """The cgroup mounts under /sys/fs/cgroup, with the launching process's place in each."""
    mine: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        mine[controllers or "cgroup2"] = path
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        sep = fields.index("-")
        mount_point, fstype, super_options = fields[4], fields[sep + 1], fields[sep + 3]
        if fstype not in ("cgroup", "cgroup2") or not mount_point.startswith("/sys/fs/cgroup/"):
            continue
        options = [o for o in super_options.split(",") if o not in ("rw", "ro")]
        if fstype == "cgroup2":
            key = "cgroup2"
        else:
            key = ",".join(
                o for o in options if o in _controller_names(mine) or o.startswith("name=")
            )
        found.append(Hierarchy(
            mount_point.removeprefix("/sys/fs/cgroup/"), fstype,
            ",".join(options) or "rw", mine.get(key, "/"),
        ))  # fmt: skip
    return found


def _controller_names(mine: dict[str, str]) -> set[str]:
    return {name for key in mine for name in key.split(",")}


class Sandbox:
    def __init__(self, name: str, root: str | None = None) -> None:
        from orchestrator.core.values import name as check_name

        try:
            check_name(name, "a sandbox name")
        except ValueError as exc:
            raise UsageError(f"sandbox {name!r}: {exc}") from None
        self.name = name
        base = Path(os.path.abspath(root or os.environ.get(ROOT_ENV) or DEFAULT_ROOT))
        hidden = [h for h in HIDDEN_INSIDE if base == Path(h) or Path(h) in base.parents]
        if hidden:
            raise UsageError(
                f"sandbox state cannot live in {base}: {hidden[0]} is replaced inside the "
                f"sandbox (set {ROOT_ENV} to a directory elsewhere, default {DEFAULT_ROOT})"
            )
        self.root = base / name
        self.state_file = self.root / "run.json"
        self.console = self.root / "console.log"
        self.share = self.root / "share"

    # ----- state -------------------------------------------------------------------------
    def _state(self) -> dict[str, object]:
        try:
            data: dict[str, object] = json.loads(self.state_file.read_text())
            return data
        except (FileNotFoundError, ValueError):
            return {}

    @property
    def pid(self) -> int | None:
        """The host PID of the sandbox's systemd, if it is running."""
        state = self._state()
        pid = state.get("systemd")
        if isinstance(pid, int) and _alive(pid) and _start_time(pid) == state.get("started"):
            return pid
        return None

    @property
    def exists(self) -> bool:
        return self.root.exists()

    # ----- boot ----------------------------------------------------------------------------
    def prepare(self) -> None:
        carry = carried_paths()
        (self.root).mkdir(parents=True, exist_ok=True)
        (self.root / "carry").write_text("".join(f"{path}\n" for path in carry))
        for sub in (
            "etc-systemd-system",
            "var-lib-containers",
            "var-lib-systemd",
            "var-lib-orchestrator",
            "share",
        ):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        units = self.root / "etc-systemd-system"
        for unit in MASKED:
            link = units / unit
            if not link.is_symlink():
                link.symlink_to("/dev/null")
        containers = self.root / "etc-containers"
        if not containers.exists():
            if Path("/etc/containers").is_dir():
                shutil.copytree("/etc/containers", containers, symlinks=True)
            else:
                containers.mkdir()
            (containers / "containers.conf").write_text(containers_conf())
        for target in ("/var/lib/containers", "/var/lib/orchestrator"):
            os.makedirs(target, exist_ok=True)  # the mount points must exist on the host

    def hide(self, path: str) -> None:
        """From the next boot on, the sandbox sees an empty directory at path (e.g. to show that
        containers start at boot with orchestrator itself uninstalled)."""
        if "\n" in path:
            raise UsageError(f"cannot hide {path!r}: a newline in a path")
        if not os.path.isdir(path):
            raise UsageError(f"cannot hide {path!r}: not a directory")
        real = os.path.realpath(path)
        replaced = any(real == r or real.startswith(r + "/") for r in REPLACED_INSIDE)
        carried = any(real == c or real.startswith(c + "/") for c in carried_paths())
        if replaced and not carried:
            raise UsageError(f"cannot hide {path!r}: the sandbox has its own {real}")
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "hidden", "a") as handle:
            handle.write(os.path.abspath(path) + "\n")

    def add_user(self, user: str, uid: int, subids: str = "200000:65536") -> Path:
        """A user for trying user mode, in this sandbox only: private copies of the account files
        (password hashes blanked) with the user added are bound over /etc's when the sandbox
        boots, so the host's are never written. Call before boot. Returns the home directory,
        which lives in the state directory."""
        from orchestrator.core.values import NAME_RE

        if not NAME_RE.fullmatch(user) or not user[0].isalpha() or len(user) > 32:
            raise UsageError(f"a user name like tester, got {user!r}")
        if not 1000 <= uid < 60000 or not re.fullmatch(r"[0-9]+:[0-9]+", subids):
            raise UsageError(f"uid 1000-59999 and subordinate ids START:COUNT, got {uid}, {subids}")
        private = self.root / "etc-private"
        if not private.exists():
            private.mkdir(parents=True)
            for name in ACCOUNT_FILES:
                source = Path("/etc", name)
                lines = source.read_text().splitlines() if source.exists() else []
                if name in ("shadow", "gshadow"):
                    lines = [_blank_password(line) for line in lines]
                (private / name).write_text("".join(f"{line}\n" for line in lines))
                (private / name).chmod(0o640 if "shadow" in name else 0o644)
        home = self.root / "home" / user
        entries = {
            "passwd": f"{user}:x:{uid}:{uid}:{user}:{home}:/bin/sh",
            "group": f"{user}:x:{uid}:",
            "shadow": f"{user}:!:20000:0:99999:7:::",
            "gshadow": f"{user}:!::",
            "subuid": f"{user}:{subids}",
            "subgid": f"{user}:{subids}",
        }
        for name, entry in entries.items():
            path = private / name
            if not any(line.split(":")[0] == user for line in path.read_text().splitlines()):
                with open(path, "a") as handle:
                    handle.write(entry + "\n")
        home.mkdir(parents=True, exist_ok=True)
        os.chown(home, uid, uid)
        home.chmod(0o700)
        return home

    def boot(self, timeout: float = 60, while_booting: Callable[[], None] | None = None) -> float:
        """Start the sandbox's systemd and wait until it has booted; returns the seconds taken.
        while_booting runs inside's preparations (an image import) as soon as the sandbox's
        mounts are in place, beside systemd's own boot rather than after it."""
        check_host()
        if self.pid is not None:
            raise SandboxError(f"sandbox {self.name} is already running (PID {self.pid})")
        self.prepare()
        start = time.monotonic()
        hierarchies = host_hierarchies()
        self.state_file.write_text(json.dumps({"cgroups": self._cgroup_paths(hierarchies)}))
        try:
            self._start(hierarchies, start, timeout, while_booting)
        except BaseException:
            self.poweroff(timeout=10)
            raise
        return time.monotonic() - start

    def _start(
        self,
        hierarchies: list[Hierarchy],
        start: float,
        timeout: float,
        while_booting: Callable[[], None] | None,
    ) -> None:
        cgroups = self._make_cgroups(hierarchies)
        specs: list[str] = []
        for h in hierarchies:
            specs += [h.directory, h.fstype, h.options]

        def join_cgroups() -> None:  # in the child, before unshare: the namespaces root here
            for directory in cgroups:
                with open(os.path.join(directory, "cgroup.procs"), "w") as handle:
                    handle.write(str(os.getpid()))

        argv = [
            "unshare",
            "--cgroup",
            "--pid",
            "--fork",
            "--mount",
            "--uts",
            "--ipc",
            "--propagation",
            "private",
            "/bin/sh",
            "-c",
            SETUP,
            "sandbox-setup",
            str(self.root),
            self.name,
            *specs,
        ]
        with open(self.console, "ab") as console:
            process = runner.spawn(argv, output=console, preexec=join_cgroups, env=CLEAN_ENV)
        self._process = process
        systemd = self._wait_for_child(process.pid, start + 10)
        self.state_file.write_text(json.dumps({
            "unshare": process.pid, "systemd": systemd, "started": _start_time(systemd),
            "cgroups": cgroups,
        }))  # fmt: skip
        if while_booting is not None:
            self._wait_for_exec(systemd, start + 10)
            while_booting()
        self._wait_until_booted(start + timeout)

    def _cgroup_paths(self, hierarchies: list[Hierarchy]) -> list[str]:
        return [
            str(
                Path("/sys/fs/cgroup", h.directory)
                / h.current.lstrip("/")
                / (CGROUP_PREFIX + self.name)
            )
            for h in hierarchies
        ]

    def _make_cgroups(self, hierarchies: list[Hierarchy]) -> list[str]:
        made = []
        for path in self._cgroup_paths(hierarchies):
            directory = Path(path)
            parent = directory.parent
            directory.mkdir(exist_ok=True)
            for name in ("cpuset.cpus", "cpuset.mems"):
                source = parent / name
                if source.exists() and not (directory / name).read_text().strip():
                    (directory / name).write_text(source.read_text())
            made.append(str(directory))
        return made

    def _wait_for_child(self, pid: int, deadline: float) -> int:
        while time.monotonic() < deadline:
            children = Path(f"/proc/{pid}/task/{pid}/children")
            with contextlib.suppress(OSError):
                found = children.read_text().split()
                if found:
                    return int(found[0])
            if self._process.poll() is not None:
                break
            time.sleep(0.02)
        raise SandboxError(f"sandbox {self.name} did not start:\n{self.console_tail()}")

    def _wait_for_exec(self, pid: int, deadline: float) -> None:
        """Until the setup shell has made the sandbox's mounts and become its systemd: before,
        a command entering its namespaces would see the host's container storage."""
        while time.monotonic() < deadline:
            try:
                if os.readlink(f"/proc/{pid}/exe").endswith("/systemd"):
                    return
            except OSError:
                break  # gone: the setup failed
            time.sleep(0.005)
        raise SandboxError(f"sandbox {self.name} did not start:\n{self.console_tail()}")

    def _wait_until_booted(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            pid = self.pid
            if pid is None:
                raise SandboxError(
                    f"sandbox {self.name} stopped while booting:\n{self.console_tail()}"
                )
            result = self.run(["systemctl", "is-system-running"], check=False)
            state = result.stdout.strip()
            if state in ("running", "degraded"):
                return
            time.sleep(0.05)
        raise SandboxError(
            f"sandbox {self.name} did not finish booting in time:\n{self.console_tail()}"
        )

    def console_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.console.read_text(errors="replace").splitlines()[-lines:])
        return ""

    # ----- inside ----------------------------------------------------------------------------
    def command(self, argv: list[str]) -> list[str]:
        pid = self.pid
        if pid is None:
            raise SandboxError(f"sandbox {self.name} is not running")
        return ["nsenter", "-t", str(pid), "-m", "-p", "-C", "-u", "-i", "--", *argv]

    def run(
        self,
        argv: list[str],
        *,
        check: bool = True,
        timeout: float | None = 120,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run argv inside the sandbox (its mounts, processes, cgroups) and capture its output."""
        return runner.run(
            self.command(argv), check=check, timeout=timeout, input=input, env=CLEAN_ENV
        )

    def load_image(self, reference: str) -> None:
        """Copy an image from the host's podman storage into the sandbox's."""
        archive = self.share / "image.tar"
        try:
            runner.run(["podman", "save", "--quiet", "-o", str(archive), reference])
            self.run(["podman", "load", "--quiet", "-i", str(archive)])
        finally:
            archive.unlink(missing_ok=True)

    def create_secret(self, name: str, source: str) -> None:
        """A podman secret inside the sandbox, from a file on the host (replaced if it exists)."""
        copy = self.share / f".secret-{name}"
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise UsageError(f"secret {name}: cannot read {source}: {exc.strerror}") from None
        try:
            fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            self.run(["podman", "secret", "rm", name], check=False)
            self.run(["podman", "secret", "create", name, str(copy)])
        finally:
            copy.unlink(missing_ok=True)

    def import_test_image(self, reference: str) -> None:
        """Build the busybox test image straight into the sandbox's storage."""
        from orchestrator.sandbox.testimage import import_argv, write_rootfs

        archive = self.share / "test-image.tar"
        try:
            write_rootfs(archive)
            self.run(import_argv(archive, reference))
        finally:
            archive.unlink(missing_ok=True)

    def reboot(self, timeout: float = 60) -> tuple[float, float]:
        """Power off and boot again from the same state: /run is fresh, enabled units start."""
        down = self.poweroff()
        return down, self.boot(timeout)

    # ----- teardown ----------------------------------------------------------------------------
    def poweroff(self, timeout: float = 30) -> float:
        """Power the sandbox off (SIGKILL after timeout) and remove its cgroups."""
        return self._stop(graceful=True, timeout=timeout)

    def kill(self) -> float:
        """Stop the sandbox at once, for a sandbox about to be removed: its containers are
        removed without a stop timeout (podman takes their port forwarding out of the host's
        firewall, which the sandbox shares), then SIGKILL to its systemd, PID 1 of its
        namespace, ends every process in it (a graceful stop would only delay the removal of
        its state)."""
        bridges = self._remove_containers() if self.pid is not None else []
        took = self._stop(graceful=False, timeout=0)
        remove_idle_bridges(bridges)
        return took

    def _remove_containers(self) -> list[str]:
        """In one process inside (the listing runs beside the removals): mask (until the
        sandbox's /run is gone) the units orchestrator installed, since systemd restarted a
        container that `podman rm` had just removed and the SIGKILL after it left that
        container's port forwarding in the host's firewall; remove the pods (a pod publishes its
        ports on its infra container, removed only with it), then the other containers; and
        list the host interfaces of the sandbox's own networks. Those live in the host's network
        namespace, which the sandbox shares, and outlive it: a later sandbox then finds their
        subnets "already used on the host"."""
        units = sorted(
            p.name
            for p in (self.root / "etc-systemd-system").glob("*.service")
            if not p.is_symlink()  # masked at boot already (links to /dev/null)
        )
        with contextlib.suppress(OrchestratorError):
            done = self.run(["sh", "-c", REMOVE_CONTAINERS, "remove", *units], check=False,
                            timeout=30)  # fmt: skip
            return [name for name in done.stdout.split() if name != SHARED_BRIDGE]
        return []

    def _stop(self, *, graceful: bool, timeout: float) -> float:
        start = time.monotonic()
        state = self._state()
        pid = self.pid
        process = getattr(self, "_process", None)
        if pid is None and process is not None and process.poll() is None:
            process.kill()  # died or failed while booting: unshare is still ours to stop
        if pid is not None:
            if graceful:
                with contextlib.suppress(OrchestratorError):
                    self.run(["systemctl", "poweroff", "--no-block"], check=False, timeout=10)
            if not graceful or not _wait_gone(pid, start + timeout):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)  # PID 1 of its namespace: everything in it dies
                _wait_gone(pid, time.monotonic() + 10)
        unshare = state.get("unshare")
        if isinstance(unshare, int):
            _wait_gone(unshare, time.monotonic() + 5)
        cgroups = state.get("cgroups")
        if isinstance(cgroups, list):
            remove_cgroups([str(c) for c in cgroups])
        self.state_file.unlink(missing_ok=True)
        return time.monotonic() - start

    def destroy(self) -> float:
        """Kill the sandbox and remove everything it kept; the seconds it took."""
        start = time.monotonic()
        self.kill()
        if self.root.exists():
            shutil.rmtree(self.root)
        return time.monotonic() - start


# Sandbox._remove_containers, inside; $@ the units to mask. Prints the networks' interfaces,
# listed while the pods (first: pod members go with them) and then the containers are removed.
REMOVE_CONTAINERS = """
if [ $# -gt 0 ]; then systemctl mask --runtime -- "$@" >/dev/null 2>&1; fi
podman network ls --format '{{.NetworkInterface}}' &
podman pod rm --force --time=0 --all >/dev/null 2>&1
podman rm --force --time=0 --all >/dev/null 2>&1
wait
"""
REPLACED_INSIDE = ("/tmp", "/var/tmp", "/run")
SHARED_BRIDGE = "podman0"  # podman's default network: every sandbox has it, and the host


def remove_idle_bridges(names: list[str]) -> None:
    """Delete each bridge that no interface is attached to any more (one in use belongs to a
    sandbox still running, which may have given its network the same name)."""
    for name in names:
        ports = Path("/sys/class/net", name, "brif")
        if "/" in name or not ports.is_dir() or any(ports.iterdir()):
            continue
        with contextlib.suppress(OrchestratorError):
            runner.run(["ip", "link", "delete", name], check=False, timeout=10)


def carried_paths() -> list[str]:
    """Where this orchestrator lives (its source or installed package, its Python environment),
    when that is below a directory the sandbox replaces: the sandbox carries them in, so that
    `orchestrator apply` runs inside as on a host."""
    import orchestrator

    wanted = [str(Path(orchestrator.__file__).resolve().parent.parent), sys.prefix]
    found: list[str] = []
    for path in wanted:
        real = os.path.realpath(path)
        if real in REPLACED_INSIDE:  # carrying all of the host's /tmp in would defeat the point
            raise UsageError(
                f"orchestrator runs from {real} itself, which a sandbox replaces: install it in "
                "a directory of its own"
            )
        inside = any(real.startswith(r + "/") for r in REPLACED_INSIDE)
        if inside and "\n" not in real and not any(real.startswith(f + "/") for f in found):
            found = [f for f in found if not f.startswith(real + "/")] + [real]
    return sorted(found)


def _blank_password(line: str) -> str:
    fields = line.split(":")
    if len(fields) > 1:
        fields[1] = "*"
    return ":".join(fields)


def remove_cgroups(directories: list[str], timeout: float = 10) -> None:
    """rmdir every cgroup below and including each directory, deepest first (retrying while
    the last processes are reaped)."""
    deadline = time.monotonic() + timeout
    for top in directories:
        while os.path.isdir(top):
            try:
                for dirpath, _, _ in os.walk(top, topdown=False):
                    os.rmdir(dirpath)
            except OSError:
                if time.monotonic() > deadline:
                    raise SandboxError(
                        f"cannot remove cgroup {top}: it still has processes"
                    ) from None
                time.sleep(0.05)


def check_host() -> None:
    if os.geteuid() != 0:
        raise UsageError("a sandbox needs root: it creates namespaces, cgroups and mounts")
    missing = [tool for tool in ("podman", "unshare", "nsenter") if not shutil.which(tool)]
    if not os.path.exists(SYSTEMD):
        missing.append(SYSTEMD)
    if missing:
        raise UsageError(
            f"a sandbox needs {', '.join(missing)}: run scripts/setup "
            "(or apt-get install podman runc util-linux systemd)"
        )


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[1].split()[0] == "Z":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # our own child: reap it
        return False
    return True


def _start_time(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _wait_gone(pid: int, deadline: float) -> bool:
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def list_sandboxes(root: str | None = None) -> list[Sandbox]:
    base = Path(root or os.environ.get(ROOT_ENV) or DEFAULT_ROOT)
    if not base.is_dir():
        return []
    return [Sandbox(p.name, str(base)) for p in sorted(base.iterdir()) if p.is_dir()]
