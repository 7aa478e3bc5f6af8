"""Where podman looks for an image named without a registry ("nginx"): registries.conf.

Read as containers-registries.conf(5) and containers-registries.conf.d(5) describe it: the main
file ($HOME/.config/containers/registries.conf of the user podman runs as if it exists, else
/etc/containers/registries.conf), then the drop-ins (*.conf in registries.conf.d, in name order;
the system directory only when the main file is the system one), each overriding the settings it
names; then the aliases podman recorded itself (short-name-aliases.conf in the cache), which win.
podman runs under systemd, so it never has a terminal to ask on: with short-name-mode
"enforcing" and several search registries, a short name without an alias fails.
"""

from __future__ import annotations

import glob
import os
import pwd
import stat
import tomllib
from dataclasses import dataclass, field
from typing import Any

from orchestrator.core import values
from orchestrator.core.loader import display
from orchestrator.core.models import Spec
from orchestrator.errors import Problem

SYSTEM_CONF = "/etc/containers/registries.conf"
SYSTEM_ALIAS_CACHE = "/var/cache/containers/short-name-aliases.conf"
MAX_CONF_SIZE = 1 << 20


@dataclass(frozen=True)
class Registries:
    """What podman's registries.conf files say about short names, merged."""

    search: tuple[str, ...] = ()  # unqualified-search-registries, in order
    aliases: dict[str, str] = field(default_factory=dict)  # short name -> qualified name
    mode: str = "permissive"  # short-name-mode
    files: tuple[str, ...] = ()  # the files read, in order
    unreadable: tuple[str, ...] = ()  # files that exist but could not be read or parsed


@dataclass(frozen=True)
class Resolution:
    """How podman, run by systemd, turns one short name into a registry to pull from."""

    image: str
    alias: str | None  # the qualified name an alias gives
    search: tuple[str, ...]  # the registries tried in order, when there is no alias
    problem: str | None  # why it cannot be pulled, if it cannot

    def describe(self) -> str:
        if self.alias:
            return f"alias {self.alias}"
        if self.problem:
            return f"cannot be pulled: {self.problem}"
        return "searched in " + ", ".join(self.search)

    def as_dict(self) -> dict[str, object]:
        return {
            "image": self.image,
            "alias": self.alias,
            "search": list(self.search),
            "resolves": self.problem is None,
            "problem": self.problem,
        }


def config_files(user: bool, home: str | None = None) -> list[str]:
    """The registries.conf files podman reads, in the order it reads them (aliases cache last)."""
    home = home or _home(user)
    own = os.path.join(home, ".config/containers/registries.conf")
    if os.path.exists(own):
        main, dropin_dirs = own, [own + ".d"]
    else:
        main, dropin_dirs = SYSTEM_CONF, [SYSTEM_CONF + ".d", own + ".d"]
    dropins = [
        sorted(filter(os.path.isfile, glob.glob(f"{glob.escape(d)}/*.conf")))  # no directories
        for d in dropin_dirs
    ]
    cache = SYSTEM_ALIAS_CACHE
    if user:
        cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
        cache = os.path.join(cache_home, "containers", "short-name-aliases.conf")
    return [main, *(f for files in dropins for f in files), cache]


def read(files: list[str]) -> Registries:
    """Merge the files in order: a later file's settings override, its aliases add ("" erases)."""
    search: tuple[str, ...] = ()
    aliases: dict[str, str] = {}
    mode = "permissive"
    read_files: list[str] = []
    unreadable: list[str] = []
    for path in files:
        data = _load(path, unreadable)
        if data is None:
            continue
        read_files.append(path)
        found = _search_registries(data)
        search = found if found is not None else search
        if isinstance(data.get("short-name-mode"), str) and data["short-name-mode"]:
            mode = data["short-name-mode"]
        table = data.get("aliases")
        for name, target in (table if isinstance(table, dict) else {}).items():
            if isinstance(target, str) and target:
                aliases[name] = target
            else:
                aliases.pop(name, None)
    return Registries(search, aliases, mode, tuple(read_files), tuple(unreadable))


def load(user: bool) -> Registries:
    return read(config_files(user))


def resolve(registries: Registries, image: str) -> Resolution:
    """What podman does with a short name: an alias wins; else the search registries, which a
    service without a terminal can use only when there is one, or the mode does not enforce."""
    name = _strip_tag(image)
    alias = registries.aliases.get(name)
    if alias:
        return Resolution(image, alias + image[len(name) :], (), None)
    search, problem = registries.search, None
    if not search:
        problem = "no unqualified-search-registries and no alias for it"
    elif len(search) > 1 and registries.mode == "enforcing":
        problem = (
            f'short-name-mode is "enforcing" with {len(search)} search registries, and podman run '
            "by systemd has no terminal to ask which one"
        )
    return Resolution(image, None, search, problem)


def short_names(spec: Spec) -> dict[str, list[str]]:
    """Each short image name the definitions use, with the containers that use it."""
    found: dict[str, list[str]] = {}
    for name, container in spec.containers.items():
        if container.image is not None and not values.is_fully_qualified(container.image):
            found.setdefault(container.image, []).append(name)
    return found


def warnings(spec: Spec, registries: Registries) -> list[Problem]:
    """A Problem for each container whose short image name podman cannot pull on this host."""
    read = ", ".join(registries.files) or "no registries.conf at all"
    if registries.unreadable:
        read += "; could not read " + ", ".join(registries.unreadable)
    problems = []
    for image, names in short_names(spec).items():
        resolution = resolve(registries, image)
        for name in names:
            if resolution.problem is None or spec.containers[name].pull == "never":
                continue
            qualified = "docker.io/" + ("" if "/" in image else "library/") + image
            problems.append(
                Problem(
                    display(spec.sources[("container", name)]),
                    f"container.{name}.image",
                    f"short name {values.show(image)} cannot be pulled on this host: "
                    f"{resolution.problem} ({read}); only an image already in podman's storage "
                    f'can run. Name the registry, as in "{qualified}"',
                )
            )
    return problems


def _home(user: bool) -> str:
    """The home of the user podman runs as: root for system units, whatever $HOME says."""
    return os.path.expanduser("~") if user else pwd.getpwuid(0).pw_dir


def _load(path: str, unreadable: list[str]) -> dict[str, Any] | None:
    """A registries.conf file as TOML; None when it does not exist or cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError:
        unreadable.append(path)
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
            # a FIFO or a device would hang or never end; podman would not read it either
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError
            raw = handle.read(MAX_CONF_SIZE + 1)
            if len(raw) > MAX_CONF_SIZE:
                raise OSError
            return tomllib.loads(raw.decode())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError, ValueError):
        unreadable.append(path)
        return None


def _search_registries(data: dict[str, Any]) -> tuple[str, ...] | None:
    """unqualified-search-registries (version 2), or [registries.search] (version 1)."""
    found = data.get("unqualified-search-registries")
    legacy = data.get("registries")
    if found is None and isinstance(legacy, dict) and isinstance(legacy.get("search"), dict):
        found = legacy["search"].get("registries")
    if not isinstance(found, list):
        return None
    return tuple(r for r in found if isinstance(r, str))


def _strip_tag(image: str) -> str:
    """The name an alias is looked up by: without @digest and :tag."""
    name = image.partition("@")[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name
