"""Planning (pure): desired unit files vs the managed ones on disk -> the changes and the actions.

A plan is data. It can be printed, compared in tests and serialised to JSON before anything runs.
"""

from __future__ import annotations

import difflib
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, get_args

from orchestrator.core.models import KINDS, Kind, PullPolicy
from orchestrator.core.render import BUILD_INPUTS_VARIABLE
from orchestrator.core.unitfile import mark_fields
from orchestrator.errors import ConflictError

ChangeKind = Literal["create", "change", "remove", "unchanged"]
CHANGE_KINDS: tuple[ChangeKind, ...] = get_args(ChangeKind)
# A unit file's kind, from its mark; "unknown" for a managed file whose mark lacks one.
UnitKind = Kind | Literal["unknown"]
Verb = Literal[
    "pull",
    "stop",
    "disable",
    "remove",
    "write",
    "enable",
    "reenable",
    "daemon-reload",
    "start",
    "restart",
]


@dataclass(frozen=True)
class UnitChange:
    unit: str
    action: ChangeKind
    kind: UnitKind
    old: str | None = None
    new: str | None = None

    def diff(self) -> str:
        old = (self.old or "").splitlines(keepends=True)
        new = (self.new or "").splitlines(keepends=True)
        return "".join(difflib.unified_diff(old, new, f"a/{self.unit}", f"b/{self.unit}"))


@dataclass(frozen=True)
class Action:
    """One step of a plan. reason is the sentence shown to people; a pull also names its image
    and pull policy (what apply needs to carry it out)."""

    verb: Verb
    unit: str | None = None
    reason: str = ""
    image: str | None = None
    pull_policy: PullPolicy | None = None

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"verb": self.verb, "unit": self.unit, "reason": self.reason}
        if self.image is not None:
            data.update(image=self.image, pull_policy=self.pull_policy)
        return data


class Observed(Protocol):
    """What systemd says of a unit (orchestrator.host.systemd.UnitState has these)."""

    active: str
    enablement: str
    need_reload: bool
    result: str


@dataclass(frozen=True)
class Pending:
    """What an interrupted apply had set out to do (STATE/pending.json)."""

    reload: bool = False
    restarts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    changes: list[UnitChange]
    actions: list[Action]
    restarts: dict[str, str] = field(default_factory=dict)  # unit -> why it restarts

    @property
    def has_changes(self) -> bool:
        return any(c.action != "unchanged" for c in self.changes)

    @property
    def has_work(self) -> bool:
        """Anything to do: file changes, or a unit not running or enabled as declared."""
        return bool(self.actions)

    def units(self, verb: Verb) -> list[str]:
        return [a.unit for a in self.actions if a.verb == verb and a.unit is not None]

    def count(self, action: ChangeKind) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def as_dict(self, *, diffs: bool = True) -> dict[str, object]:
        return {
            "changed": self.has_changes,
            "summary": {a: self.count(a) for a in CHANGE_KINDS},
            "units": [
                {
                    "unit": c.unit,
                    "kind": c.kind,
                    "action": c.action,
                    **({"diff": c.diff()} if diffs and c.action != "unchanged" else {}),
                }
                for c in self.changes
            ],
            "restarts": [{"unit": u, "reason": r} for u, r in self.restarts.items()],
            "actions": [a.as_dict() for a in self.actions],
        }


_KINDS: dict[str, UnitKind] = {kind: kind for kind in KINDS}
_PULL_POLICIES: dict[str, PullPolicy] = {policy: policy for policy in get_args(PullPolicy)}


def _kind(text: str) -> UnitKind:
    return _KINDS.get(mark_fields(text).get("Kind", ""), "unknown")


def _directive_values(text: str, key: str) -> list[str]:
    words: list[str] = []
    prefix = key + "="
    for line in text.splitlines():
        if line.startswith(prefix):
            words += line[len(prefix) :].split()
    return words


_NOT_RUNTIME_SECTIONS = ("[Install]", "[X-Orchestrator]")
_NOT_RUNTIME_KEYS = ("SourcePath=", "Description=", "#", ";")


def _runtime(text: str | None) -> list[str]:
    """The lines that matter to a running service: not comments, descriptions, the source
    path, nor the [Install] and [X-Orchestrator] sections (a change there needs no restart)."""
    kept: list[str] = []
    skipping = False
    for line in (text or "").splitlines():
        if line.startswith("["):
            skipping = line.strip() in _NOT_RUNTIME_SECTIONS
        if not skipping and line.strip() and not line.startswith(_NOT_RUNTIME_KEYS):
            kept.append(line)
    return kept


def _section(text: str | None, header: str) -> list[str]:
    lines, inside = [], False
    for line in (text or "").splitlines():
        if line.startswith("["):
            inside = line.strip() == header
        elif inside and line.strip():
            lines.append(line.strip())
    return lines


def _installed(text: str) -> bool:
    return any(line.strip() == "[Install]" for line in text.splitlines())


def make_plan(
    desired: dict[str, str],
    current: dict[str, str],
    unmanaged: Iterable[str] = (),
    observed: Mapping[str, Observed] | None = None,
    pending: Pending = Pending(),
) -> Plan:
    """Compare desired unit texts with the managed units found (current) and plan the changes.

    unmanaged are unit names present in the unit directory without our mark: declaring one of them
    is a conflict, and they are never changed or removed. observed is systemd's view of the units
    (what apply plans against); None means unknown (what `orchestrator plan` shows): the units
    are then taken to be as their files say, and removed ones are stopped and disabled in case.
    With it, the plan also converges the host: it starts declared units that are not running,
    fixes enablement, reloads when systemd's loaded units are stale and pre-pulls images.
    Either way it finishes what an interrupted apply (pending) had set out to do.
    """
    clashes = sorted(set(desired) & set(unmanaged))
    if clashes:
        raise ConflictError(
            "these unit files exist and were not written by orchestrator, so they are left alone: "
            + ", ".join(clashes)
            + "; rename the definitions or move the files away"
        )
    changes = [_change(unit, desired.get(unit), current.get(unit))
               for unit in sorted(set(desired) | set(current))]  # fmt: skip
    changed = [
        c.unit for c in changes if c.action == "change" and _runtime(c.old) != _runtime(c.new)
    ]
    created = {c.unit for c in changes if c.action == "create"}
    interrupted = [u for u in pending.restarts if u in desired and u not in changed]
    restarts = _restarts(desired, current, changed)
    for unit in interrupted:
        restarts.setdefault(unit, "an interrupted apply had not restarted it yet")
    restarts = {u: r for u, r in restarts.items() if u not in created}
    return Plan(changes, _actions(changes, restarts, observed, pending), restarts)


_BUILD_INPUTS = f"Environment={BUILD_INPUTS_VARIABLE}="


def _why_changed(unit: str, new: str, old: str) -> str:
    """Why a changed unit restarts; a build unit's restart is a rebuild."""
    if _kind(new) != "build":
        return "its unit file changed"
    inputs = [[ln for ln in _runtime(t) if ln.startswith(_BUILD_INPUTS)] for t in (old, new)]
    if inputs[0] != inputs[1]:
        return "rebuild: context changed"
    return "rebuild: its build options changed"


def _change(unit: str, new: str | None, old: str | None) -> UnitChange:
    if old is None:
        return UnitChange(unit, "create", _kind(new or ""), None, new)
    if new is None:
        return UnitChange(unit, "remove", _kind(old), old, None)
    return UnitChange(unit, "change" if old != new else "unchanged", _kind(new), old, new)


def _restarts(
    desired: dict[str, str], current: dict[str, str], changed: list[str]
) -> dict[str, str]:
    """Changed units restart; systemd restarts the units that require them, or are bound to
    them (the members of a pod), along with them."""
    required_by: dict[str, list[tuple[str, str]]] = {}
    for unit, text in desired.items():
        for directive, how in (("Requires", "requires"), ("BindsTo", "is bound to")):
            for dep in _directive_values(text, directive):
                required_by.setdefault(dep, []).append((unit, how))
    restarts = {unit: _why_changed(unit, desired[unit], current[unit]) for unit in changed}
    queue = deque(changed)
    while queue:
        unit = queue.popleft()
        for dependent, how in sorted(required_by.get(unit, [])):
            if dependent not in restarts:
                rebuilt = _kind(desired[unit]) == "build"
                restarts[dependent] = (
                    f"it runs the image that {unit} rebuilds" if rebuilt
                    else f"it {how} {unit}, which restarts"
                )  # fmt: skip
                queue.append(dependent)
    return restarts


def _actions(
    changes: list[UnitChange],
    restarts: dict[str, str],
    observed: Mapping[str, Observed] | None,
    pending: Pending,
) -> list[Action]:
    """The actions, in the order apply carries them out. observed None: systemd's view unknown."""
    actions = _pulls(changes, restarts) if observed is not None else []
    actions += _removals(changes, observed)
    actions += [
        Action("write", c.unit, "new unit" if c.action == "create" else "changed")
        for c in changes
        if c.action in ("create", "change")
    ]
    actions += _enablement(changes, observed)
    actions += _reload(changes, observed, pending, so_far=actions)
    actions += _starts(changes, restarts, observed)
    actions += [Action("restart", u, reason) for u, reason in restarts.items()]
    return actions


def _pulls(changes: list[UnitChange], restarts: dict[str, str]) -> list[Action]:
    """Images of the containers about to (re)start, fetched before anything is stopped. Planned
    only for a host (observed), whose image store decides whether a pull is needed."""
    actions = []
    for c in changes:
        if c.action == "create" or (c.action == "change" and c.unit in restarts):
            image = _image(c.new or "")
            if image is not None:
                why = "new unit" if c.action == "create" else "it restarts"
                actions.append(Action("pull", c.unit, f"{why}; pull = {image[1]}",
                                      image=image[0], pull_policy=image[1]))  # fmt: skip
    return actions


def _removals(changes: list[UnitChange], observed: Mapping[str, Observed] | None) -> list[Action]:
    """Removed units are stopped and disabled where systemd says they run or are enabled, or
    whenever its view is unknown (both are harmless when not needed)."""
    actions = []
    for c in changes:
        if c.action != "remove":
            continue
        state = observed.get(c.unit) if observed is not None else None
        if observed is None or (state is not None and state.active not in ("inactive", "failed")):
            actions.append(Action("stop", c.unit, "no longer declared"))
        if observed is None or (state is not None and _is_enabled(state.enablement)):
            actions.append(Action("disable", c.unit, "no longer declared"))
        actions.append(Action("remove", c.unit, "no longer declared"))
    return actions


def _enablement(changes: list[UnitChange], observed: Mapping[str, Observed] | None) -> list[Action]:
    """enabled = true/false ([Install] or none) against the links systemd reports, or, unknown,
    against the file being replaced."""
    actions = []
    for c in changes:
        if c.action == "remove":
            continue
        if observed is None:
            enabled = c.old is not None and _installed(c.old)
        else:
            state = observed.get(c.unit)
            enabled = state is not None and _is_enabled(state.enablement)
        wanted = _installed(c.new or "")
        if wanted and not enabled:
            actions.append(Action("enable", c.unit, "enabled = true"))
        elif enabled and not wanted:
            actions.append(Action("disable", c.unit, "enabled = false"))
        elif (
            wanted
            and c.action == "change"
            and _section(c.old, "[Install]") != _section(c.new, "[Install]")
        ):
            actions.append(Action("reenable", c.unit, "its [Install] section changed"))
    return actions


def _reload(
    changes: list[UnitChange],
    observed: Mapping[str, Observed] | None,
    pending: Pending,
    *,
    so_far: list[Action],
) -> list[Action]:
    """At most one reload: for changed files, stale units, an interrupted apply or new links."""
    stale = sorted(u for u, s in (observed or {}).items() if s.need_reload)
    if any(c.action != "unchanged" for c in changes):
        return [Action("daemon-reload", None, "unit files changed")]
    if stale:
        return [Action("daemon-reload", None, f"systemd has stale units: {stale[0]}")]
    if pending.reload:
        return [Action("daemon-reload", None, "an interrupted apply had not reloaded")]
    if any(a.verb in ("enable", "disable", "reenable") for a in so_far):
        return [Action("daemon-reload", None, "enablement changed")]
    return []


def _starts(
    changes: list[UnitChange],
    restarts: dict[str, str],
    observed: Mapping[str, Observed] | None,
) -> list[Action]:
    """New units start; with systemd's view, so does any declared unit not as declared (one on
    its way up is left to come up). Unknown, units already there are taken to be running."""
    actions = []
    for c in changes:
        if c.action == "remove" or c.unit in restarts:
            continue
        if c.action == "create":
            actions.append(Action("start", c.unit, "new unit"))
            continue
        if observed is None:
            continue
        state = observed.get(c.unit)
        if state is None:
            actions.append(Action("start", c.unit, "declared but not loaded"))
        elif state.active in ("activating", "reloading"):
            continue  # on its way up
        elif state.active == "deactivating" or not as_declared(
            c.new or "", state.active, state.result
        ):
            actions.append(Action("start", c.unit, f"declared but {state.active}"))
    return actions


def restart_policy(text: str) -> str:
    values = _directive_values(text, "Restart")
    return values[-1] if values else "no"


def as_declared(text: str, active: str, result: str) -> bool:
    """Whether a unit in this state is as its definition wants it: running; or, having run,
    finished successfully when it is a job (restart = "no"); or stopped but not failed when it is
    not enabled (enabled = false: apply starts it when new or changed, and leaves it be)."""
    if active in ("active", "reloading"):
        return True
    if active != "inactive" or result not in ("", "success"):
        return False
    return restart_policy(text) == "no" or not _installed(text)


def _is_enabled(enablement: str) -> bool:
    return enablement in ("enabled", "enabled-runtime", "linked", "linked-runtime")


def _image(text: str) -> tuple[str, PullPolicy] | None:
    """For a container unit: its image and pull policy, or None when pull = "never"."""
    fields = mark_fields(text)
    image, policy = fields.get("Image"), fields.get("Pull", "missing")
    if fields.get("Kind") != "container" or not image or policy == "never":
        return None
    if fields.get("ImageUnit"):  # an [image.X] unit pulls it, or a [build.X] makes it
        return None
    # A policy we did not write (a hand-edited mark) pulls, as podman's --pull=always would.
    return image, _PULL_POLICIES.get(policy, "always")
