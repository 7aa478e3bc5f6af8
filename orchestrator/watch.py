"""`orchestrator watch`: apply once, then again whenever the definitions change.

Changes are grouped (an editor's save, a `git checkout` of many files: one apply). An invalid
edit is reported and changes nothing: the last good state stays. A failing apply is reported
and retried on the next change. SIGTERM and SIGINT stop the watcher between applies.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, is_dataclass, replace
from pathlib import Path
from typing import Any

from orchestrator.apply import Options, apply
from orchestrator.core import compat
from orchestrator.core.loader import Fingerprint, fingerprint, load
from orchestrator.core.render import render
from orchestrator.core.target import Target
from orchestrator.errors import DefinitionError, OrchestratorError
from orchestrator.host import facts
from orchestrator.host.lock import BusyError
from orchestrator.host.notify import notify


@dataclass
class Watcher:
    target: Target  # its definitions are what is watched
    options: Options
    step_ms: int = 100  # quiet time that ends a group of changes
    max_group_ms: int = 2000  # a group never waits longer than this
    log: Callable[[str], None] = print
    allow_empty: bool = False  # as apply: declaring nothing while units exist is refused
    applies: int = 0
    loaded: Fingerprint | None = None  # the files as the last apply read them
    contexts: tuple[str, ...] = ()  # the build contexts of the last definitions loaded

    def __post_init__(self) -> None:
        if is_dataclass(self.options):  # (tests replace apply, and its options with it)
            self.options = replace(self.options, superseded=self._edited)

    def _edited(self) -> bool:
        """The definitions differ from what the running apply read: an edit saved while its
        units settle starts the next apply without waiting for them (that apply judges them)."""
        return self.loaded is not None and fingerprint(self.paths) != self.loaded

    @property
    def paths(self) -> list[str]:
        return list(self.target.definitions)

    def apply_once(self, why: str) -> bool:
        """One load + apply; one line in the log either way. True when everything came up."""
        self.applies += 1
        self.loaded = fingerprint(self.paths)
        number = self.applies
        started = time.monotonic()
        try:
            ok, said = self._load_and_apply()
        except Exception as exc:
            ok, said = False, f"failed ({type(exc).__name__}), will retry on the next change: {exc}"
        line = one_line(f"apply #{number} ({why}): {said} ({time.monotonic() - started:.2f} s)")
        self.log(line)
        notify("STATUS=" + line[:200])
        return ok

    def _load_and_apply(self) -> tuple[bool, str]:
        try:
            spec = load(self.paths)
            self.contexts = tuple(build.context for build in spec.builds.values())
            compat.check(spec, facts.podman_version())
        except DefinitionError as exc:
            problems = "; ".join(str(p) for p in exc.problems)
            return False, f"definitions invalid, nothing changed: {problems}"
        units = render(spec, self.target.mode, cgroups_v1=self.target.cgroups_v1)
        for wait in (1, 2, 4, 8, 0):  # another apply holds the lock: wait for it, a while
            try:
                report = apply(
                    units, self.options, sources=list(spec.files), allow_empty=self.allow_empty
                )
                break
            except BusyError as exc:
                if not wait:
                    return False, f"failed, will retry on the next change: {exc}"
                time.sleep(wait)
            except OrchestratorError as exc:
                return False, f"failed, will retry on the next change: {exc}"
        done = [f"{verb} {', '.join(units)}" for verb, units in _summary(report.outcomes)]
        what = "; ".join(done) if done else "no changes"
        verdict = "ok" if report.ok else "NOT everything runs as declared"
        failed = [o.unit for o in report.outcomes if not o.ok]
        tail = f" (failed: {', '.join(failed)})" if failed else ""
        if report.unsettled:
            tail += f" (left settling for the next apply: {', '.join(report.unsettled)})"
        return report.ok, f"{verdict}{tail}: {what}"

    def run(self, stop: threading.Event) -> None:
        notify("READY=1")  # ready = watching: boot never waits for an apply of ours
        self.apply_once("start")
        roots = _roots(self.paths)
        self.log(f"watching {', '.join(roots)}")
        watched, missing, polling = _identity(roots), False, False
        unseen: Fingerprint | None = None
        while not stop.is_set():
            identity = _identity(roots)
            if None in identity:  # a watched directory is gone: wait for it to come back
                if not missing:
                    self.log("a watched directory is gone; waiting for it to come back")
                missing = True
                stop.wait(1)
                continue
            if identity != watched:  # replaced (rm + mkdir, a symlink swapped): a new watch
                self.apply_once("a watched directory was replaced")
            watched, missing = identity, False
            try:
                self._follow(roots, identity, stop)
            except OSError as exc:  # a directory it cannot read, hidden ones included
                if not polling:
                    self.log(f"cannot watch the definitions ({exc}): reading them every second")
                polling = True
                unseen = self._catch_up(unseen)
                stop.wait(1)
                continue
            polling, unseen = False, None
        notify("STOPPING=1")
        self.log("stopped")

    def _follow(
        self, roots: list[str], identity: list[tuple[int, int] | None], stop: threading.Event
    ) -> None:
        """Apply after each group of changes, until stopped or a root is replaced."""
        import watchfiles

        changes = watchfiles.watch(
            *roots,
            watch_filter=_definition_filter(self.paths, lambda: self.contexts),
            step=self.step_ms,
            debounce=self.max_group_ms,
            stop_event=stop,
            rust_timeout=1000,
            yield_on_timeout=True,
            raise_interrupt=False,
        )
        unseen = None
        for group in changes:
            if stop.is_set():
                break
            if _identity(roots) != identity:  # its watch is dead: make a new one
                break
            if group:
                self.apply_once(_describe(group))
                unseen = None
            else:
                unseen = self._catch_up(unseen)

    def _catch_up(self, unseen: Fingerprint | None) -> Fingerprint | None:
        """After a quiet second: files that differ from what the last apply read were saved
        before this watch began (during the first apply, or the one after a replaced directory)
        or dropped by the watch (an inotify queue overflow). Unchanged over two quiet seconds,
        they are not a save the watch is about to report: apply them. Returns what to compare
        with after the next quiet second."""
        now = fingerprint(self.paths)
        if now == self.loaded:
            return None
        if now != unseen:
            return now
        self.apply_once("changed, unseen by the watch")
        return None


def _identity(roots: list[str]) -> list[tuple[int, int] | None]:
    """Which directories the roots are now (a symlink followed): a new one needs a new watch."""
    found: list[tuple[int, int] | None] = []
    for root in roots:
        try:
            stat = os.stat(root)
        except OSError:
            found.append(None)
            continue
        found.append((stat.st_dev, stat.st_ino))
    return found


def _summary(outcomes: Iterable[object]) -> list[tuple[str, list[str]]]:
    verbs: dict[str, list[str]] = {}
    for outcome in outcomes:
        for verb in getattr(outcome, "done", []):
            if verb in ("start", "restart", "remove"):
                verbs.setdefault(verb, []).append(str(getattr(outcome, "unit", "")))
    return list(verbs.items())


def _roots(paths: list[str]) -> list[str]:
    """What to watch: directories as given, a file through its directory (editors replace files
    by renaming, which a watch on the file itself would lose)."""
    roots = [p if os.path.isdir(p) else os.path.dirname(os.path.abspath(p)) for p in paths]
    return sorted(set(roots))


def _definition_filter(
    paths: list[str], contexts: Callable[[], tuple[str, ...]] = tuple
) -> Callable[[Any, str], bool]:
    """Changes of definition files, and of any file in a build's context (contexts() gives
    them as last loaded) below a watched directory: the build's inputs, whose change is a
    rebuild."""
    files = {os.path.abspath(p) for p in paths if not os.path.isdir(p)}
    dirs = [os.path.abspath(p) for p in paths if os.path.isdir(p)]

    def wanted(change: Any, path: str) -> bool:
        full = os.path.abspath(path)
        if full in files or any(full.startswith(c + os.sep) for c in contexts()):
            return True
        for root in dirs:
            if full == root or not full.startswith(root + os.sep):
                continue
            parts = Path(os.path.relpath(full, root)).parts
            if any(part.startswith(".") for part in parts):
                return False  # editors' lock and swap files, version control
            deleted = getattr(change, "name", "") == "deleted"  # a directory moved away
            return full.endswith(".toml") or os.path.isdir(full) or deleted
        return False

    return wanted


def one_line(text: str) -> str:
    """Multi-line messages (a failed pull's output) as one journal line."""
    return " | ".join(line.strip() for line in text.splitlines() if line.strip())


def _describe(group: Iterable[tuple[object, str]]) -> str:
    names = sorted({os.path.basename(path) for _, path in group})
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f"changed: {shown}"


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT; the watcher finishes its apply and stops."""
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop
