"""Unit overrides that would reach beyond the units orchestrator owns.

A container's `unit` table is copied into its unit file. Most directives there concern the
container alone, but some tie other units to it: `Install.RequiredBy = "ssh.service"` makes sshd
require the container (a restart of the container restarts sshd, removing it stops sshd),
`Unit.Conflicts = "cron.service"` stops cron whenever the container starts, `OnFailure=` starts
another unit, `Wants=` pulls one in, `Before=` makes one wait. orchestrator neither shows such
effects in a plan nor follows them in restarts, so they are refused unless every unit they name
is one the definitions declare, or, for directives that do not conflict, one of systemd's own
synchronisation targets from the lists below (being wanted by multi-user.target is what every
enabled container is; wanting network-online.target is what every system container does).
`After=` only orders the container itself and may name anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from orchestrator.core import values
from orchestrator.core.models import KINDS, Spec, unit_name
from orchestrator.errors import Problem

# Passive targets (systemd.special(7)) that are reached on every boot anyway or only mark a
# point in it: pulling one in, ordering against it or being wanted by it starts nothing else.
SYNC_TARGETS = frozenset(
    """basic.target sysinit.target sockets.target timers.target paths.target slices.target
    local-fs.target local-fs-pre.target remote-fs.target remote-fs-pre.target swap.target
    cryptsetup.target remote-cryptsetup.target network.target network-pre.target
    network-online.target nss-lookup.target nss-user-lookup.target time-set.target
    time-sync.target multi-user.target default.target""".split()
)
# Targets a unit may be part of or ordered before, but not pull in: starting graphical.target
# on a server would start a display manager.
INSTALL_TARGETS = SYNC_TARGETS | {"graphical.target"}
# The slices systemd itself places services in.
SLICES = frozenset(
    {"system.slice", "machine.slice", "app.slice", "background.slice", "session.slice"}
)

_OURS = "units the definitions declare"
_SYNC = f"{_OURS} or systemd's synchronisation targets such as network-online.target"
_INSTALL = f"{_OURS} or systemd's targets such as multi-user.target"
_SLICES = f"systemd's own slices ({', '.join(sorted(SLICES))})"
# directive -> (the names it may name besides our own units, how to say so)
REACHING: dict[str, tuple[frozenset[str], str]] = {
    **dict.fromkeys(
        ("Wants", "Requires", "Requisite", "BindsTo", "Upholds", "OnFailure", "OnSuccess"),
        (SYNC_TARGETS, _SYNC),
    ),
    **dict.fromkeys(
        ("WantedBy", "RequiredBy", "UpheldBy", "PartOf", "Before"), (INSTALL_TARGETS, _INSTALL)
    ),
    **dict.fromkeys(
        (
            "Conflicts",
            "PropagatesReloadTo",
            "ReloadPropagatedFrom",
            "PropagatesStopTo",
            "StopPropagatedFrom",
            "JoinsNamespaceOf",
            "Sockets",
        ),
        (frozenset(), _OURS),
    ),
    "Slice": (SLICES, _SLICES),
}
_SPECIFIER = re.compile(r"%(.?)")


def foreign_references(spec: Spec, where: Callable[[str, str], str]) -> list[Problem]:
    """A problem for every unit override that names a unit orchestrator does not own."""
    ours = {unit_name(kind, name) for kind in KINDS for name in getattr(spec, kind + "s")}
    problems = []
    for kind in KINDS:
        for name, resource in getattr(spec, kind + "s").items():
            own = unit_name(kind, name)
            for section, directives in getattr(resource, "unit", {}).items():
                for directive, items in directives.items():
                    if directive not in REACHING:
                        continue
                    for index, value in enumerate(items):
                        path = f"{kind}.{name}.unit.{section}.{directive}"
                        if len(items) > 1:
                            path += f"[{index}]"
                        message = _check(directive, value, own, ours)
                        if message:
                            problems.append(Problem(where(kind, name), path, message))
    return problems


def _check(directive: str, value: str, own: str, ours: set[str]) -> str:
    allowed, described = REACHING[directive]
    for word in value.split():
        try:
            target = _expand(word, own)
        except ValueError as exc:
            return f"{directive}= names a unit only systemd can resolve ({exc}); name it plainly"
        if target not in ours and target not in allowed:
            return (
                f"{directive}= names {values.quoted(target)}, a unit orchestrator does not own: "
                f"the tie would reach it outside any plan; name only {described}"
            )
    return ""


def _expand(word: str, own: str) -> str:
    """The unit a word names, with the specifiers that stand for the container's own unit name
    resolved; others (%H, %u, %i...) depend on the host or are not a name of ours."""
    stem = own.rsplit(".", 1)[0]
    known = {"n": own, "N": stem, "p": stem, "P": stem, "%": "%"}

    def resolve(match: re.Match[str]) -> str:
        if match.group(1) not in known:
            raise ValueError(f"specifier %{match.group(1)}")
        return known[match.group(1)]

    return _SPECIFIER.sub(resolve, word)
