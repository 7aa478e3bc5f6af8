"""Parsers for the values inside definitions: names, ports, durations, sizes, paths, images.

Each takes what TOML gave and returns a normalised value, or raises ValueError whose text says what
was expected and what was found. They know nothing of files or key paths; the loader adds those.
"""

from __future__ import annotations

import datetime
import difflib
import ipaddress
import re
import shlex
from collections.abc import Callable
from typing import Any

from orchestrator.errors import safe

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
NAME_MAX = 128
ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
LABEL_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]*")
# [registry[:port]/]path[:tag][@digest], the grammar of podman's reference parser
# (containers/image docker/reference): a registry is a host name of letter-or-digit labels (an IPv6
# address is not accepted by podman 4.3), path components are lower case, and a digest is one of
# the algorithms podman knows with its exact length of lower-case hex.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DIGEST = r"sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128}"
IMAGE_RE = re.compile(
    rf"(?P<name>(?:(?P<registry>{_HOST_LABEL}(?:\.{_HOST_LABEL})*(?::[0-9]+)?)/)?"
    rf"{_COMPONENT}(?:/{_COMPONENT})*)"
    rf"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?(?:@(?:{_DIGEST}))?"
)
IMAGE_NAME_MAX = 255  # podman: "repository name must not be more than 255 characters"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
USER_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?")
CAPABILITIES = frozenset(
    """CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
    LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE
    SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME
    SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG
    WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE""".split()
)  # capabilities(7)
# podman's --network modes: a network of one of these names could never be used.
RESERVED_NETWORKS = frozenset({"host", "none", "bridge", "private", "slirp4netns", "pasta", "ns"})

VOLUME_OPTIONS = frozenset(
    {
        "ro", "rw", "z", "Z", "U", "O", "copy", "nocopy", "exec", "noexec", "suid", "nosuid",
        "dev", "nodev", "shared", "rshared", "slave", "rslave", "private", "rprivate",
        "unbindable", "runbindable",
    }
)  # fmt: skip
_DURATION_UNITS = {
    "ms": 1,
    "msec": 1,
    "s": 1000,
    "sec": 1000,
    "second": 1000,
    "seconds": 1000,
    "m": 60_000,
    "min": 60_000,
    "minute": 60_000,
    "minutes": 60_000,
    "h": 3_600_000,
    "hr": 3_600_000,
    "hour": 3_600_000,
    "hours": 3_600_000,
    "d": 86_400_000,
    "day": 86_400_000,
    "days": 86_400_000,
}
_DURATION_PART = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)")


def quoted(text: str) -> str:
    """A TOML basic string: quotes, backslashes and every character that is not printable
    (controls, bidi and other format characters, ...) escaped, so that what a definition holds can
    never act on the terminal that shows an error."""
    return '"' + safe(text.replace("\\", "\\\\").replace('"', '\\"')) + '"'


def show(value: Any) -> str:
    """A found value as the operator wrote it in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quoted(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return f"{value.isoformat()} (a TOML date or time)"
    return repr(value)


def _fail(expected: str, value: Any) -> ValueError:
    return ValueError(f"expected {expected}, got {show(value)}")


def name(value: str, what: str = "a name") -> str:
    if not isinstance(value, str) or not NAME_RE.fullmatch(value) or len(value) > NAME_MAX:
        raise _fail(
            f"{what} of letters, digits, '_', '.' and '-' that starts with a letter or digit "
            f"(at most {NAME_MAX} characters)",
            value,
        )
    return value


def image(value: str) -> str:
    """An image reference podman reads as one: never an option, never a name it would refuse."""
    match = IMAGE_RE.fullmatch(value)
    if not match:
        raise _fail(
            'an image reference like "docker.io/library/nginx:1.27" '
            "([REGISTRY[:PORT]/]PATH[:TAG][@DIGEST], PATH in lower case)",
            value,
        )
    if len(match.group("name")) > IMAGE_NAME_MAX:
        raise _fail(f"an image name of at most {IMAGE_NAME_MAX} characters before the tag", value)
    return value


def is_fully_qualified(ref: str) -> bool:
    match = IMAGE_RE.fullmatch(ref)
    registry: str = (match.group("registry") if match else None) or ""
    return registry == "localhost" or "." in registry or ":" in registry


def argv(value: Any) -> list[str]:
    """A command: an array of strings, or one string split like a POSIX shell would."""
    if isinstance(value, str):
        try:
            words = shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot split {show(value)} into words: {exc}") from None
        if not words:
            raise _fail("a non-empty command", value)
        return words
    if isinstance(value, list):
        if not value:
            raise _fail("a non-empty command", value)
        return value
    raise _fail("an array of strings or a string", value)


def duration_ms(value: Any) -> int:
    """A systemd-style time span ("10s", "1min 30s", "500ms") or a number of seconds.

    Computed in integers (billionths of a millisecond), so "1.001s" is exactly 1001 ms.
    """
    if isinstance(value, bool):
        raise _fail('a duration like "30s" or a number of seconds', value)
    if isinstance(value, int):
        if not 0 <= value * 1000 <= MAX_DURATION_MS:
            raise _fail("a duration from 0 to 100 years", value)
        return value * 1000
    if isinstance(value, str):
        text = value.strip()
        scale = 10**9
        total, pos, ok = 0, 0, bool(text)
        while ok and pos < len(text):
            match = _DURATION_PART.match(text, pos)
            if not match or match.end() == pos or match.group(2) not in ("", *_DURATION_UNITS):
                ok = False
                break
            whole, _, fraction = match.group(1).partition(".")
            if len(fraction) > 9:
                raise _fail("a duration in whole milliseconds", value)
            scaled = int(whole) * scale + int(fraction.ljust(9, "0"))
            total += scaled * _DURATION_UNITS[match.group(2) or "s"]
            pos = match.end()
        if ok and total % scale:
            raise _fail("a duration in whole milliseconds", value)
        if ok and total // scale > MAX_DURATION_MS:
            raise _fail("a duration of at most 100 years", value)
        if ok:
            return total // scale
    raise _fail('a duration like "30s", "1min 30s" or "500ms"', value)


def format_duration(ms: int) -> str:
    """Milliseconds as both systemd and Go read them."""
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def size(value: Any) -> str:
    """MemoryMax= style: bytes, a K/M/G/T/P/E suffix (base 1024), a percentage or infinity, each
    only as systemd accepts it: what it would ignore would leave the container unlimited."""
    expected = 'a size like "512M", "2G", a number of bytes, a percentage or "infinity"'
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 < value < MAX_UINT64:
            return str(value)
        raise _fail(f"{expected}, from 1 to {MAX_UINT64 - 1} bytes", value)
    if isinstance(value, str):
        if value == "infinity":
            return value
        if value.endswith("%"):
            return _percent(value, PERMYRIAD_MAX, "a percentage of memory")
        match = _SIZE_RE.fullmatch(value)
        if match:
            if not 0 < _systemd_size(*match.groups()) < MAX_UINT64:
                raise _fail(f"{expected}, from 1 byte to below 16E", value)
            return value
    raise _fail(expected, value)


def _systemd_size(whole: str, fraction: str | None, suffix: str) -> int:
    """The bytes systemd's parse_size() makes of WHOLE[.FRACTION]SUFFIX, computed as it does
    (the fraction as a C double, truncated); MAX_UINT64 where it reports an overflow."""
    factor = _SIZE_FACTORS[suffix]
    number = int(whole)
    frac = 0.0
    if fraction:
        if int(fraction) > MAX_UINT64:
            return MAX_UINT64
        frac = float(int(fraction))
        for _ in fraction:
            frac /= 10
    if number > MAX_UINT64 or number + (frac > 0) > MAX_UINT64 // factor:
        return MAX_UINT64
    return min(number * factor + int(frac * factor), MAX_UINT64)


_DIGITS = re.compile(r"[0-9]+")
# systemd reads the whole part of a percentage with base 0, so "050%" would be octal 40%: no
# leading zeros; at most two decimals (parse_permyriad); more are ignored with a warning.
_PERCENT_RE = re.compile(r"(0|[1-9][0-9]*)(?:\.([0-9]{1,2}))?%")
MAX_DURATION_MS = 100 * 365 * 86_400_000  # a hundred years; podman's Go durations end at 292
MAX_UINT64 = 2**64 - 1  # systemd's "infinity": a limit must stay below it
PERMYRIAD_MAX = 10_000  # 100%, in hundredths of a percent
CPU_PERMYRIAD_MAX = 2**31 - 1  # CPUQuota= is a C int of hundredths: 21474836.47%
_SIZE_RE = re.compile(r"([0-9]+)(?:\.([0-9]+))?([KMGTPE]?)")
_SIZE_FACTORS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40, "P": 2**50, "E": 2**60}


def _percent(value: str, maximum: int, what: str) -> str:
    """A percentage as systemd's parse_permyriad() reads it: more than 0, at most maximum
    hundredths of a percent."""
    match = _PERCENT_RE.fullmatch(value)
    if match:
        whole, decimals = match.group(1), match.group(2) or ""
        hundredths = int(whole) * 100 + int(decimals.ljust(2, "0"))
        if 0 < hundredths <= maximum:
            return value
    top = f"{maximum // 100}.{maximum % 100:02}".removesuffix(".00")
    raise _fail(f"{what}, from 0.01% to {top}% with at most two decimals, no leading zero", value)


def cpu_quota(value: Any) -> str:
    expected = 'a CPU quota as a percentage of one CPU, like "50%" or "200%"'
    if isinstance(value, str) and value.endswith("%"):
        return _percent(value, CPU_PERMYRIAD_MAX, expected)
    raise _fail(expected, value)


def tasks_max(value: Any) -> str:
    expected = 'a positive number of tasks, a percentage or "infinity"'
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < MAX_UINT64:
        return str(value)
    if isinstance(value, str) and value.endswith("%"):
        return _percent(value, PERMYRIAD_MAX, "a percentage of the system's tasks")
    if value == "infinity":
        return "infinity"
    raise _fail(expected, value)


PATH_MAX = 4096  # bytes with the terminating NUL: Linux's limit, and systemd's for its paths
FILE_NAME_MAX = 255  # bytes in one file name (Linux NAME_MAX)


def absolute_path(value: str) -> str:
    if not value.startswith("/") or "\x00" in value:
        raise _fail("an absolute path", value)
    return path_length(value)


def path_length(value: str) -> str:
    """A path Linux (and systemd, which ignores a RequiresMountsFor= path past these) can hold."""
    if len(value) <= FILE_NAME_MAX // 4:  # at most 4 bytes a character: short enough whole
        return value
    if len(value.encode("utf-8", "surrogatepass")) >= PATH_MAX or any(
        len(part.encode("utf-8", "surrogatepass")) > FILE_NAME_MAX for part in value.split("/")
    ):
        raise _fail(
            f"a path of at most {PATH_MAX - 1} bytes, each name at most {FILE_NAME_MAX} bytes",
            value,
        )
    return value


def _port_range(text: str) -> tuple[int, int] | None:
    first, sep, last = text.partition("-")
    if not _DIGITS.fullmatch(first) or (sep and not _DIGITS.fullmatch(last)):
        return None
    low, high = int(first), int(last) if sep else int(first)
    if not (1 <= low <= 65535 and 1 <= high <= 65535):
        return None
    return low, high


def port(value: str) -> str:
    """[IP:]HOST:CONTAINER[/PROTO], ports or equal-length ranges; IPv6 in brackets."""
    expected = '"[IP:]HOST:CONTAINER[/PROTO]"'
    text, slash, proto = value.partition("/")
    if slash and proto not in ("tcp", "udp", "sctp"):
        raise ValueError(
            f'expected protocol "tcp", "udp" or "sctp" in {expected}, got {show(value)}'
        )
    ip = ""
    if text.startswith("["):
        ip, sep, rest = text[1:].partition("]:")
        if not sep:
            raise _fail(expected, value)
        text = rest
        _check_ip(ip, value, version=6)
    elif text.count(":") == 2:
        ip, text = text.split(":", 1)
        if ip:  # ":80:92" binds every address, as no IP does
            _check_ip(ip, value, version=4)
    host, sep, container = text.partition(":")
    if not sep:
        raise _fail(expected, value)
    host_range, container_range = _port_range(host), _port_range(container)
    if host_range is None or container_range is None:
        raise _fail(f"{expected} with ports from 1 to 65535", value)
    if host_range[0] > host_range[1] or container_range[0] > container_range[1]:
        raise ValueError(f"expected port ranges as LOW-HIGH with LOW <= HIGH, got {show(value)}")
    if host_range[1] - host_range[0] != container_range[1] - container_range[0]:
        raise ValueError(f"expected port ranges of equal length, got {show(value)}")
    return value


def _check_ip(ip: str, value: str, version: int) -> None:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise _fail(
            f"an IPv{version} address in {'[...]' if version == 6 else 'IP:'}", value
        ) from None
    if address.version != version:
        raise _fail("an IPv6 address in brackets, like [::1]:8080:80", value)


def published(value: str) -> list[tuple[str, str, int]]:
    """The (ip, proto, host port) triples a valid port string claims on the host."""
    text, _, proto = value.partition("/")
    ip = ""
    if text.startswith("["):
        ip, _, text = text[1:].partition("]:")
    elif text.count(":") == 2:
        ip, text = text.split(":", 1)
    host = text.partition(":")[0]
    low, _, high = host.partition("-")
    ip = "" if ip in ("0.0.0.0", "::") else ip  # every address, like no address
    return [(ip, proto or "tcp", p) for p in range(int(low), int(high or low) + 1)]


def tmpfs(value: str) -> str:
    path, _, options = value.partition(":")
    absolute_path(path)
    if any(c.isspace() for c in options):
        raise _fail('"PATH[:OPTIONS]" with comma-separated options', value)
    return value


def device(value: str) -> str:
    if "," in value:
        raise ValueError(f"podman splits --device at commas, got {show(value)}")
    parts = value.split(":")
    expected = '"HOST[:CONTAINER][:PERMISSIONS]" with absolute paths and permissions from "rwm"'
    if len(parts) > 3 or not parts[0].startswith("/"):
        raise _fail(expected, value)
    if len(parts) >= 2 and not parts[1].startswith("/"):
        if len(parts) == 2 and parts[1] and set(parts[1]) <= set("rwm"):
            return value
        raise _fail(expected, value)
    if len(parts) == 3 and not (parts[2] and set(parts[2]) <= set("rwm")):
        raise _fail(expected, value)
    return value


def capability(value: str) -> str:
    upper = value.upper()
    bare = upper.removeprefix("CAP_")
    if upper == "ALL":
        return upper
    if bare not in CAPABILITIES:
        hint = difflib.get_close_matches(bare, CAPABILITIES, n=1)
        suffix = f' (did you mean "{hint[0]}"?)' if hint else ""
        raise _fail(f'a capability name like "NET_BIND_SERVICE" or "ALL"{suffix}', value)
    return "CAP_" + bare


def _matching(pattern: re.Pattern[str], expected: str, longest: int = 0) -> Callable[[str], str]:
    """A validator: the value must match pattern (and be at most longest characters)."""

    def check(value: str) -> str:
        if (longest and len(value) > longest) or not pattern.fullmatch(value):
            raise _fail(expected, value)
        return value

    return check


hostname = _matching(HOSTNAME_RE, "a host name of letters, digits, '-' and '.'", 253)
user = _matching(USER_RE, 'a user like "1000", "1000:1000" or "www-data"')
env_name = _matching(ENV_NAME_RE, "an environment variable name of letters, digits and '_'")
label_key = _matching(LABEL_KEY_RE, "a label key of letters, digits, '.', '_', '/' and '-'")


# The specifiers systemd 252 (the oldest supported) expands; any other "%x" makes it ignore the
# setting ("Failed to resolve unit specifiers").
UNIT_SPECIFIERS = frozenset("abcdfghijlmnopqrstuvwyABCEGHIJLMNPRSTUVWY%")
_SPECIFIER = re.compile(r"%(.?)", re.DOTALL)


def unit_specifiers(value: str) -> str:
    """A raw unit setting: every "%" starts a specifier systemd knows ("%%" for a "%")."""
    for match in _SPECIFIER.finditer(value):
        if match.group(1) not in UNIT_SPECIFIERS:
            raise ValueError(
                f'unknown specifier "%{match.group(1)}" in {show(value)}: systemd would ignore the '
                'setting; write "%%" for a literal "%"'
            )
    return value


def scalar_text(value: Any) -> str:
    """An environment or label value: a string, or a number or boolean as TOML wrote it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise _fail("a string, number or boolean", value)


def network_cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise _fail('a subnet in CIDR form like "10.89.0.0/24"', value) from None
    return value


def ip_address(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise _fail('an IP address like "10.89.0.1"', value) from None
    return value


# signal(7): the names podman's --stop-signal and `podman kill --signal` accept
SIGNALS = frozenset(
    """HUP INT QUIT ILL TRAP ABRT IOT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT
    STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO POLL PWR SYS""".split()
)
_RT_SIGNAL = re.compile(r"RTM(?:IN|AX)(?:[+-][0-9]+)?")


def signal(value: Any) -> str:
    """A signal as "SIGTERM", "TERM" or a number from 1 to 64; written back as SIGNAME or the
    number, the forms every podman version reads."""
    expected = 'a signal like "SIGTERM", "SIGINT" or "SIGHUP", or its number'
    if isinstance(value, int) and not isinstance(value, bool):
        if 1 <= value <= 64:
            return str(value)
        raise _fail(f"{expected} (1 to 64)", value)
    if isinstance(value, str):
        bare = value.upper().removeprefix("SIG")
        if bare in SIGNALS or _RT_SIGNAL.fullmatch(bare):
            return "SIG" + bare
        hint = difflib.get_close_matches(bare, SIGNALS, n=1)
        if hint:
            raise _fail(f'{expected} (did you mean "SIG{hint[0]}"?)', value)
    raise _fail(expected, value)


_SHM_RE = re.compile(r"[1-9][0-9]*[bkmgBKMG]?")


def shm_size(value: Any) -> str:
    """podman's <number>[<unit>] with unit b, k, m or g (base 1024), or a number of bytes."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < MAX_UINT64:
        return str(value)
    if isinstance(value, str) and _SHM_RE.fullmatch(value):
        return value
    raise _fail('a size like "64m", "1g" or a number of bytes (units b, k, m, g)', value)


# setrlimit(2) resources by the names podman's --ulimit reads
ULIMITS = frozenset(
    """as core cpu data fsize locks memlock msgqueue nice nofile nproc rss rtprio rttime
    sigpending stack""".split()
)
ULIMIT_UNLIMITED = "-1"  # podman 4.8 and later: the most the process may have


def ulimit(value: Any) -> str:
    """One limit: a number (soft and hard alike), "SOFT:HARD", or -1 / "unlimited" for the
    most allowed; written as podman reads it."""
    expected = 'a number, "SOFT:HARD", or -1 for the most allowed'
    if isinstance(value, int) and not isinstance(value, bool):
        if value == -1 or 0 <= value < MAX_UINT64:
            return str(value)
        raise _fail(expected, value)
    if isinstance(value, str):
        if value == "unlimited":
            return ULIMIT_UNLIMITED
        soft, sep, hard = value.partition(":")
        parts = [soft, hard] if sep else [soft]
        if all(p == "-1" or _DIGITS.fullmatch(p) for p in parts):
            if sep and "-1" not in parts and int(soft) > int(hard):
                raise ValueError(f"expected SOFT at most HARD, got {show(value)}")
            return value
    raise _fail(expected, value)


def ulimit_name(value: str) -> str:
    name = value.lower().removeprefix("rlimit_")
    if name not in ULIMITS:
        hint = difflib.get_close_matches(name, ULIMITS, n=1)
        suffix = f' (did you mean "{hint[0]}"?)' if hint else ""
        raise _fail(f'a resource limit name like "nofile" or "nproc"{suffix}', value)
    return name


SYSCTL_RE = re.compile(r"[a-z0-9_]+(?:[./][a-zA-Z0-9_*-]+)+")
sysctl_name = _matching(SYSCTL_RE, 'a kernel parameter like "net.ipv4.ip_forward"', 255)


def ip_of(version: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            address = None
        if address is None or address.version != version:
            example = "10.89.0.10" if version == 4 else "fd00::10"
            raise _fail(f'an IPv{version} address like "{example}"', value)
        return value

    return check


def dns_server(value: str) -> str:
    if value == "none":
        return value
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise _fail('an IP address like "1.1.1.1", or "none"', value) from None
    return value


def dns_search(value: str) -> str:
    return value if value == "." else hostname(value)


# resolv.conf(5) options: a name, or NAME:VALUE; podman writes them as they are, and the
# resolver ignores the names it does not know
dns_option = _matching(
    re.compile(r"[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+)?"),
    'a resolver option like "ndots:2" or "edns0"',
)
MAC_RE = re.compile(r"[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}")
mac_address = _matching(MAC_RE, 'a MAC address like "92:d0:c6:0a:29:33"')
group = _matching(
    re.compile(r"keep-groups|[A-Za-z0-9_][A-Za-z0-9_.-]*"), 'a group name or id, or "keep-groups"'
)
timezone = _matching(
    re.compile(r"local|[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*"),
    'a time zone like "Europe/Paris" or "UTC", or "local" (the host\'s)',
)
profile = _matching(re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*"), 'a profile name, or "unconfined"')
selinux_part = _matching(
    re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:,-]*"), 'an SELinux label part like "spc_t" or "s0:c1,c2"'
)
_ID_MAP = re.compile(r"[0-9]+:[0-9]+:[1-9][0-9]*")
id_map = _matching(_ID_MAP, '"CONTAINER_ID:HOST_ID:SIZE", like "0:100000:65536"')


def expose(value: Any) -> str:
    """A port or range the container listens on, with an optional protocol."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        ports, slash, proto = value.partition("/")
        span = _port_range(ports)
        if span and span[0] <= span[1] and (not slash or proto in ("tcp", "udp", "sctp")):
            return value
    raise _fail('a port or range like 8080, "8000-8010" or "53/udp"', value)


_USERNS_MODES = ("auto", "host", "keep-id", "nomap", "private", "ns")


def userns(value: str) -> str:
    mode, sep, options = value.partition(":")
    if mode not in _USERNS_MODES or (sep and not options) or (mode == "ns" and not sep):
        raise _fail(
            'a user namespace mode: "auto[:OPTIONS]", "host", "keep-id[:OPTIONS]", "nomap", '
            '"private" or "ns:PATH"',
            value,
        )
    if any(c.isspace() for c in value):
        raise _fail("a mode without spaces", value)
    return value


def global_arg(value: str) -> str:
    if not value.startswith("--") or "\n" in value:
        raise _fail('a podman option like "--log-level=debug"', value)
    return value


def annotation_value(value: Any) -> str:
    text = scalar_text(value)
    if "," in text:
        # podman 4.3 splits --annotation at commas
        raise ValueError(f"podman splits --annotation at commas, got {show(text)}")
    return text


WORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./+-]*")


def word(value: str) -> str:
    """One plain word given to a podman option (an architecture, a build stage)."""
    if not WORD_RE.fullmatch(value) or len(value) > NAME_MAX:
        raise _fail(
            "a word of letters, digits, '_', '.', '/', '+' and '-' that starts with a letter "
            f"or digit (at most {NAME_MAX} characters)",
            value,
        )
    return value


def credentials(value: str) -> str:
    """NAME[:SECRET] (podman's --creds, --decryption-key): one word, never an option."""
    if not value or value.startswith(("-", ":")) or any(c.isspace() for c in value):
        raise _fail('"NAME[:SECRET]" without spaces', value)
    return value
