"""What a build reads, as one digest: its Containerfile and the files of its context that the
ignore file (.containerignore, else .dockerignore) leaves in, with their types, contents and
executable bits. A change of any of them is a change of the build unit, so that `plan` shows a
rebuild and `apply` rebuilds; an unchanged context rebuilds nothing.

Pure apart from reading the context (definition-side files, as the loader reads definitions).
Nothing outside the context is read: a symbolic link counts by where it points, never followed
(podman copies the link itself), and special files count by their type alone (opening a FIFO
would block). Contexts are bounded, so that validate stays fast and a context of / or of a home
directory is refused with the reason rather than read for minutes.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

MAX_FILES = 20_000  # files and directories in one context
MAX_BYTES = 512 * 1024 * 1024  # file contents read for one context
MAX_IGNORE_FILE = 1024 * 1024
CHUNK = 1024 * 1024
DEFAULT_FILES = ("Containerfile", "Dockerfile")
DEFAULT_IGNORE_FILES = (".containerignore", ".dockerignore")


class ContextError(Exception):
    """A build input that cannot be read or fingerprinted; key names the build key at fault."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Inputs:
    file: str  # the Containerfile, absolute
    digest: str  # "sha256:HEX"


def fingerprint(context: str, file: str | None, ignore_file: str | None) -> Inputs:
    """The Containerfile and digest of a build; raises ContextError naming the key at fault."""
    if os.path.realpath(context) == "/":
        raise ContextError("context", "the context is the whole file system (/); give the "
                           "directory that holds the Containerfile and what it copies")  # fmt: skip
    try:
        if not stat.S_ISDIR(os.stat(context).st_mode):
            raise ContextError("context", f"not a directory: {context}")
    except OSError as exc:
        raise ContextError("context", f"cannot read {context}: {exc.strerror}") from None
    containerfile = _containerfile(context, file)
    rules = _ignore_rules(context, ignore_file)
    digest = hashlib.sha256()
    _feed(digest, "containerfile", _read_small(containerfile, "file"))
    budget = _Budget()
    for relative, info in _walk(context, rules, budget):
        _feed(digest, relative, _describe(os.path.join(context, relative), info, budget))
    return Inputs(containerfile, "sha256:" + digest.hexdigest())


def _containerfile(context: str, file: str | None) -> str:
    if file is not None:
        path = os.path.normpath(os.path.join(context, file))
        if not os.path.isfile(path):
            raise ContextError("file", f"no such file in the context: {path}")
        return path
    for name in DEFAULT_FILES:
        path = os.path.join(context, name)
        if os.path.isfile(path):
            return path
    raise ContextError("context", f"neither {' nor '.join(DEFAULT_FILES)} is in {context}; "
                       "add one, or name it with file = \"...\"")  # fmt: skip


def _feed(digest: hashlib._Hash, name: str, data: bytes) -> None:
    """Length-prefixed, so that no two different walks feed the same bytes."""
    for part in (name.encode("utf-8", "surrogateescape"), data):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)


def _read_small(path: str, key: str) -> bytes:
    # without blocking: a FIFO put in the file's place after the check would hang the read
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ContextError(key, f"cannot read {path}: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ContextError(key, f"not a regular file: {path}")
        with open(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_IGNORE_FILE + 1)
    except OSError as exc:
        raise ContextError(key, f"cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_IGNORE_FILE:
        raise ContextError(key, f"{path} is larger than {MAX_IGNORE_FILE} bytes")
    return data


class _Budget:
    def __init__(self) -> None:
        self.files = 0
        self.bytes = 0

    def count(self, path: str, size: int = 0) -> None:
        self.files += 1
        self.bytes += size
        if self.files > MAX_FILES or self.bytes > MAX_BYTES:
            raise ContextError(
                "context",
                f"the context holds more than {MAX_FILES} files or {MAX_BYTES // 2**20} MiB "
                f"(at {path}); point context at a smaller directory or leave the rest out "
                "with a .containerignore",
            )


def _describe(path: str, info: os.stat_result, budget: _Budget) -> bytes:
    """What podman would copy of one entry: its type, and a file's contents and executable bit
    or a link's target."""
    # only whether a file is executable, as git keeps it: the other bits follow the umask of
    # whoever checked the context out, and would make one definition two builds
    executable = b"x" if info.st_mode & stat.S_IXUSR else b"-"
    if stat.S_ISLNK(info.st_mode):
        budget.count(path)
        return b"link " + os.fsencode(os.readlink(path))
    if stat.S_ISDIR(info.st_mode):
        budget.count(path)
        return b"dir"
    if not stat.S_ISREG(info.st_mode):
        budget.count(path)
        return f"special {stat.S_IFMT(info.st_mode):o}".encode()
    budget.count(path, info.st_size)
    return b"file " + executable + _file_digest(path, budget)


def _file_digest(path: str, budget: _Budget) -> bytes:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # swapped for a link since the walk: count it as one
            return b"link " + os.fsencode(os.readlink(path))
        raise ContextError("context", f"cannot read {path}: {exc.strerror}") from None
    digest = hashlib.sha256()
    read = 0
    try:
        while chunk := os.read(fd, CHUNK):
            digest.update(chunk)
            read += len(chunk)
            if read > MAX_BYTES:  # a file that grows while it is read
                budget.count(path, read)
    except OSError as exc:
        raise ContextError("context", f"cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    return digest.digest()


def _walk(
    context: str, rules: list[tuple[bool, Glob]], budget: _Budget
) -> Iterator[tuple[str, os.stat_result]]:
    """(path relative to the context, lstat) of every entry left in, sorted, without recursion
    and without following links. A directory left out is not entered unless an exception (!)
    could bring something below it back in, as podman's own matcher does."""
    pending = [""]
    reinclusions = any(not excluded for excluded, _ in rules)
    while pending:
        directory = pending.pop()
        try:
            names = sorted(os.listdir(os.path.join(context, directory) or context))
        except OSError as exc:
            raise ContextError("context", f"cannot read {os.path.join(context, directory)}: "
                               f"{exc.strerror}") from None  # fmt: skip
        below: list[str] = []
        for name in names:
            relative = os.path.join(directory, name) if directory else name
            path = os.path.join(context, relative)
            try:
                info = os.lstat(path)
            except OSError as exc:
                raise ContextError("context", f"cannot read {path}: {exc.strerror}") from None
            excluded = is_excluded(relative, rules)
            if stat.S_ISDIR(info.st_mode) and (not excluded or reinclusions):
                below.append(relative)
                budget.count(path)  # a walk of a big excluded tree is bounded too
            if not excluded:
                yield relative, info
        pending += reversed(below)


def _ignore_rules(context: str, ignore_file: str | None) -> list[tuple[bool, Glob]]:
    """(excludes, pattern) per line of the ignore file, in order; the last match decides."""
    if ignore_file is not None:
        path = os.path.normpath(os.path.join(context, ignore_file))
        if not os.path.isfile(path):
            raise ContextError("ignore_file", f"no such file: {path}")
    else:
        found = [os.path.join(context, n) for n in DEFAULT_IGNORE_FILES]
        path = next((p for p in found if os.path.isfile(p)), "")
        if not path:
            return []
    text = _read_small(path, "ignore_file").decode("utf-8", "surrogateescape")
    return parse_ignore(text)


def parse_ignore(text: str) -> list[tuple[bool, Glob]]:
    """The patterns of a .dockerignore: one per line, # comments, ! for exceptions, cleaned as
    paths relative to the context (a leading / is dropped). A pattern podman cannot read either
    (a character range like [z-a]) is refused, naming the ignore file's key."""
    rules = []
    for line in text.splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        include = pattern.startswith("!")
        pattern = pattern[1:].strip() if include else pattern
        pattern = os.path.normpath(pattern).lstrip("/")
        if pattern in ("", "."):
            continue
        try:
            rules.append((not include, _compiled(pattern)))
        except re.error as exc:
            raise ContextError(
                "ignore_file", f"the pattern {pattern!r} is not a valid pattern: {exc.msg}"
            ) from None
    return rules


def is_excluded(relative: str, rules: list[tuple[bool, Glob]]) -> bool:
    """Whether the last pattern matching the path, or one of the directories above it, is an
    exclusion."""
    parents = _parents(relative)
    excluded = False
    for excludes, pattern in rules:
        if excludes != excluded and any(pattern.fullmatch(p) for p in parents):
            excluded = excludes
    return excluded


def _parents(relative: str) -> list[str]:
    parts = relative.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


# A token of a pattern: (kind, argument). "char" matches one character for which the argument
# (a compiled one-character class, or the literal) holds; "star" any run without "/"; "any" any
# run at all, whose argument is how far its epsilon reaches (2 for "**/": it may skip the "/").
Token = tuple[str, object]


class Glob:
    """Go's filepath.Match syntax with ** for any number of directories, matched as a set of
    states rather than by a backtracking regex: a pattern like *a*a*a*a*b against a long name
    takes time proportional to the name times the pattern, never exponential."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens

    def _closure(self, states: set[int]) -> set[int]:
        pending = list(states)
        while pending:
            k = pending.pop()
            if k >= len(self.tokens):
                continue
            kind, arg = self.tokens[k]
            reach = (
                [] if kind == "char" else [k + 1] if kind == "star" else [k + 1, k + int(str(arg))]
            )
            for n in reach:
                if n not in states:
                    states.add(n)
                    pending.append(n)
        return states

    def fullmatch(self, text: str) -> bool:
        states = self._closure({0})
        for char in text:
            following = set()
            for k in states:
                if k >= len(self.tokens):
                    continue
                kind, arg = self.tokens[k]
                if kind == "any" or (kind == "star" and char != "/"):
                    following.add(k)
                elif kind == "char" and _char_matches(arg, char):
                    following.add(k + 1)
            if not following:
                return False
            states = self._closure(following)
        return len(self.tokens) in states


def _char_matches(arg: object, char: str) -> bool:
    if isinstance(arg, str):
        return arg == char if arg else char != "/"  # "" is "?": one character but "/"
    return isinstance(arg, re.Pattern) and arg.fullmatch(char) is not None


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> Glob:
    """The tokens of a pattern; raises re.error for a character class no matcher can read."""
    tokens: list[Token] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            slash = pattern.startswith("/", i)  # "**/" : no directory or any number of them
            tokens.append(("any", 2 if slash else 1))
            if slash:
                tokens.append(("char", "/"))
                i += 1
            continue
        if char == "*":
            tokens.append(("star", None))
        elif char == "?":
            tokens.append(("char", ""))
        elif char == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end].replace("\\", "\\\\")
            body = "^" + body[1:] if body.startswith("^") else body
            with warnings.catch_warnings():  # "possible nested set": [[:alpha:]] is literal
                warnings.simplefilter("ignore", FutureWarning)
                tokens.append(("char", re.compile("[" + body + "]", re.DOTALL)))
            i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            tokens.append(("char", pattern[i]))
        else:
            tokens.append(("char", char))
        i += 1
    return Glob(tokens)
