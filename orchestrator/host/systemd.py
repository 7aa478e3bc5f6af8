"""The one module that talks to systemd: its D-Bus API, through pystemd.

As root in system mode it uses the manager's private socket (/run/systemd/private, what systemctl
uses), so no dbus-daemon is needed; otherwise the system or the user bus. Jobs are waited for the
way systemctl does: subscribe, match JobRemoved, then enqueue.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import OrchestratorError

DEST = b"org.freedesktop.systemd1"
PATH = b"/org/freedesktop/systemd1"
MANAGER = b"org.freedesktop.systemd1.Manager"
UNIT = b"org.freedesktop.systemd1.Unit"
SERVICE = b"org.freedesktop.systemd1.Service"
PROPERTIES = b"org.freedesktop.DBus.Properties"


class SystemdError(OrchestratorError):
    reason = ""  # what failed, without the hint (doctor gives its own)


@dataclass
class UnitState:
    name: str
    load: str = "not-found"
    active: str = "inactive"
    sub: str = "dead"
    result: str = ""
    restarts: int = 0
    main_pid: int = 0
    invocation: str = ""
    enablement: str = ""
    active_since_us: int = 0  # CLOCK_MONOTONIC, microseconds
    active_since_realtime_us: int = 0
    need_reload: bool = False
    job: str = ""
    fragment_path: str = ""  # the unit file systemd loaded it from
    names: tuple[str, ...] = ()  # every name it answers to: its own and its aliases

    @property
    def changing(self) -> bool:
        """A job is queued for it, or it is on its way up or down."""
        return bool(self.job) or self.active in ("activating", "deactivating", "reloading")

    @property
    def running(self) -> bool:
        return self.active == "active"

    @property
    def failed(self) -> bool:
        return self.active == "failed" or (
            self.active == "inactive" and self.result not in ("", "success")
        )


@dataclass
class JobResults:
    """unit -> JobRemoved result (done, failed, canceled, timeout, dependency, skipped), and the
    units whose job did not end before the timeout."""

    results: dict[str, str] = field(default_factory=dict)
    unfinished: list[str] = field(default_factory=list)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _invocation(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, list)):
        return bytes(value).hex()
    return str(value or "")


class Systemd:
    """A connection to one service manager: the system's, or with user=True the user's."""

    def __init__(self, user: bool = False) -> None:
        from pystemd.dbuslib import DBus, DBusAddress  # type: ignore[import-untyped]

        self.user = user
        private = self._private_socket()
        self.peer_to_peer = private is not None
        if private is not None:
            self.bus: Any = DBusAddress(b"unix:path=" + private.encode(), peer_to_peer=True)
        else:
            self.bus = DBus(user_mode=user)
        try:
            self.bus.open()
        except Exception as exc:  # pystemd raises DBusError, a plain Exception subclass
            hint = (
                "is XDG_RUNTIME_DIR set, with a user session or lingering enabled?"
                if user
                else "is systemd PID 1 here?"
            )
            hint += "; `orchestrator doctor" + (" --user" if user else "") + "` checks this host"
            where = "the user's service manager" if user else "systemd"
            error = SystemdError(f"cannot connect to {where}: {exc} ({hint})")
            error.reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise error from None
        self._callbacks: list[Callable[..., None]] = []  # pystemd keeps borrowed pointers
        self._subscribed = False

    def _private_socket(self) -> str | None:
        if self.user:
            runtime = os.environ.get("XDG_RUNTIME_DIR")
            path = os.path.join(runtime, "systemd", "private") if runtime else None
        else:
            path = "/run/systemd/private" if os.geteuid() == 0 else None
        return path if path and os.path.exists(path) else None

    def close(self) -> None:
        self.bus.close()

    @staticmethod
    def _interruptible(call: Callable[[], Any]) -> None:
        """A bus wait or dispatch; a signal (SIGTERM to a watcher) interrupting it is no error."""
        try:
            call()
        except Exception as exc:
            if getattr(exc, "errno", None) in (-errno.EINTR, errno.EINTR):
                return
            raise SystemdError(f"talking to systemd: {_reason(exc)}") from None

    def __enter__(self) -> Systemd:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ----- calls ------------------------------------------------------------------------------
    def _call(self, method: bytes, signature: bytes = b"", *args: Any, path: bytes = PATH,
              interface: bytes = MANAGER) -> Any:  # fmt: skip
        from pystemd.dbuslib import apply_signature

        call_args = apply_signature(signature, list(args)) if signature else []
        try:
            return self.bus.call_method(DEST, path, interface, method, call_args).body
        except Exception as exc:
            raise SystemdError(
                f"systemd {method.decode()} {_describe(args)}: {_reason(exc)}"
            ) from None

    def reload(self) -> None:
        self._call(b"Reload")

    def enable(self, units: list[str]) -> None:
        if units:
            # force=False: never replace a link that points elsewhere (e.g. a system alias)
            self._call(b"EnableUnitFiles", b"asbb", [u.encode() for u in units], False, False)

    def reenable(self, units: list[str]) -> None:
        """Links made again from the units' current [Install] sections."""
        if units:
            self._call(b"ReenableUnitFiles", b"asbb", [u.encode() for u in units], False, False)

    def disable(self, units: list[str]) -> None:
        if units:
            self._call(b"DisableUnitFiles", b"asb", [u.encode() for u in units], False)

    def version(self) -> str:
        """The manager's version, as systemctl --version shows it ("252.39-1~deb12u1")."""
        return _text(self._get_all(PATH, MANAGER).get(b"Version", b""))

    def reset_failed(self, units: list[str]) -> None:
        """Forget the failure of each of these units that systemd reports failed: one question
        for all of them, then a call per failed one (most are not)."""
        if not units:
            return
        listed = self._call(b"ListUnitsByNames", b"as", [u.encode() for u in units])
        for row in listed:
            if _text(row[3]) == "failed":
                with contextlib.suppress(SystemdError):  # gone meanwhile: nothing to reset
                    self._call(b"ResetFailedUnit", b"s", row[0])

    # ----- observation ---------------------------------------------------------------------------
    def units(self, names: Iterable[str]) -> dict[str, UnitState]:
        """The state of each named unit (not-found ones included, with load = not-found)."""
        names = list(names)
        if not names:
            return {}
        listed = self._call(b"ListUnitsByNames", b"as", [n.encode() for n in names])
        states: dict[str, UnitState] = {}
        for row in listed:
            name, _, load, active, sub, _, path, job_id = (_text(v) for v in row[:8])
            state = UnitState(name, load, active, sub, job=job_id if job_id != "0" else "")
            if load != "not-found":
                self._fill(state, path.encode())
            states[name] = state
        # systemd answers a name that is an alias with the unit it belongs to (sshd.service ->
        # ssh.service): that unit is what the name refers to
        aliases = {alias: state for state in states.values() for alias in state.names}
        for name in names:
            states.setdefault(name, aliases.get(name) or UnitState(name))
        return states

    def _fill(self, state: UnitState, path: bytes) -> None:
        unit = self._get_all(path, UNIT)
        state.enablement = _text(unit.get(b"UnitFileState", b""))
        state.active_since_us = int(unit.get(b"ActiveEnterTimestampMonotonic", 0))
        state.active_since_realtime_us = int(unit.get(b"ActiveEnterTimestamp", 0))
        state.need_reload = bool(unit.get(b"NeedDaemonReload", False))
        state.invocation = _invocation(unit.get(b"InvocationID", b""))
        state.fragment_path = _text(unit.get(b"FragmentPath", b""))
        state.names = tuple(_text(n) for n in unit.get(b"Names", []))
        if state.name.endswith(".service"):
            service = self._get_all(path, SERVICE)
            state.result = _text(service.get(b"Result", b""))
            state.restarts = int(service.get(b"NRestarts", 0))
            state.main_pid = int(service.get(b"MainPID", 0))

    def _get_all(self, path: bytes, interface: bytes) -> dict[bytes, Any]:
        values = self._call(b"GetAll", b"s", interface, path=path, interface=PROPERTIES)
        return {(k if isinstance(k, bytes) else str(k).encode()): v for k, v in values.items()}

    # ----- jobs ----------------------------------------------------------------------------------
    def _subscribe(self, on_removed: Callable[[str, str], None]) -> None:
        def handler(msg: Any, error: Any = None, userdata: Any = None) -> None:
            msg.process_reply(True)
            _, job, _, result = msg.body
            on_removed(_text(job), _text(result))

        self._callbacks.append(handler)
        sender = None if self.peer_to_peer else DEST
        self.bus.match_signal(sender, PATH, MANAGER, b"JobRemoved", handler)
        if not self._subscribed:
            self._call(b"Subscribe")
            self._subscribed = True

    def run_jobs(
        self,
        jobs: list[tuple[str, str]],
        timeout: float,
        enqueued: Callable[[], None] = lambda: None,
    ) -> JobResults:
        """Enqueue every (verb, unit) job at once (verb: start, restart, stop), so systemd orders
        them by After=, and wait until each has ended or timeout seconds have passed."""
        methods = {"start": b"StartUnit", "restart": b"RestartUnit", "stop": b"StopUnit"}
        outcome = JobResults()
        if not jobs:
            return outcome
        ended: dict[str, str] = {}  # job path -> result, as the signals arrive

        def on_removed(job: str, result: str) -> None:
            ended[job] = result

        self._subscribe(on_removed)
        waiting: dict[str, str] = {}  # job path -> unit
        for verb, unit in jobs:
            try:
                waiting[_text(self._call(methods[verb], b"ss", unit.encode(), b"replace"))] = unit
            except SystemdError as exc:  # refused (e.g. RefuseManualStart): the others go on
                outcome.results[unit] = f"refused: {exc}"
        enqueued()
        deadline = time.monotonic() + timeout
        while waiting:
            self._interruptible(self.bus.process)  # dispatches queued signals to the handler
            for job in [j for j in waiting if j in ended]:
                outcome.results[waiting.pop(job)] = ended[job]
            left = deadline - time.monotonic()
            if not waiting or left <= 0:
                break
            microseconds = int(min(0.1, left) * 1_000_000)
            self._interruptible(lambda: self.bus.wait(microseconds))  # noqa: B023 - called here
        outcome.unfinished = sorted(waiting.values())
        return outcome


def _reason(exc: Exception) -> str:
    """What systemd said, without pystemd's boilerplate."""
    name, message = getattr(exc, "err_name", ""), getattr(exc, "err_message", "")
    if isinstance(name, bytes):
        name = name.decode(errors="replace")
    if isinstance(message, bytes):
        message = message.decode(errors="replace")
    if message:
        return f"{message} ({name})" if name else str(message)
    errno = getattr(exc, "errno", None)
    if isinstance(errno, int) and errno:
        return os.strerror(abs(errno))
    return str(exc)


def _describe(args: tuple[Any, ...]) -> str:
    shown = []
    for arg in args:
        if isinstance(arg, bytes):
            shown.append(arg.decode(errors="replace"))
        elif isinstance(arg, list):
            shown.append(" ".join(_text(a) for a in arg))
    return " ".join(shown)
