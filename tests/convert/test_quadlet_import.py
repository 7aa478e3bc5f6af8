"""import quadlet over the corpus in tests/quadlet_import (every key Quadlet 5.4 documents):
each case imports and validates, and each container, pod, volume, network, image, build and kube
runs the podman arguments Quadlet 5.4.2's own generator makes of the same files (skipped when
fetch-quadlet cannot provide it)."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from orchestrator.convert.quadlet_in import check_written, read_quadlet, toml_files
from orchestrator.convert.quadlet_keys import NEWER
from orchestrator.core.loader import load
from orchestrator.core.models import Spec
from orchestrator.core.render import (
    oneshot_argv,
    podman_build_argv,
    podman_kube_argv,
    podman_pod_create_argv,
    podman_pull_argv,
    podman_run_argv,
)
from orchestrator.core.values import duration_ms
from orchestrator.errors import DefinitionError
from tests.test_quadlet_conformance import OURS_ON_PURPOSE, _quadlet, pairs

CORPUS = Path(__file__).resolve().parents[1] / "quadlet_import"
CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir())


def imported(case: Path, tmp: Path) -> Path:
    converted = read_quadlet([str(case)])
    files = toml_files(converted)
    out = tmp / "toml"
    check_written(converted, files, str(out))
    out.mkdir()
    for name, text in files.items():
        (out / name).write_text(text)
    return out


class Corpus:
    """The corpus's cases imported and loaded, and Quadlet's units of them, each made once per
    module: the cases are read-only and three tests check each (Quadlet's dry run and the import
    of a whole case were most of this module's time)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._specs: dict[Path, Spec] = {}
        self._units: dict[Path, dict[str, str]] = {}

    def spec(self, case: Path) -> Spec:
        if case not in self._specs:
            (self.root / case.name).mkdir(exist_ok=True)
            self._specs[case] = load([str(imported(case, self.root / case.name))])
        return self._specs[case]

    def quadlet_units(self, case: Path) -> dict[str, str]:
        if case not in self._units:
            self._units[case] = quadlet_units(_quadlet(), case)
        return self._units[case]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return Corpus(tmp_path_factory.mktemp("corpus"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_case_of_the_corpus_imports_and_validates(case: Path, corpus: Corpus) -> None:
    corpus.spec(case)


def quadlet_units(quadlet: str, case: Path) -> dict[str, str]:
    """unit name -> text, as Quadlet's -dryrun prints them."""
    env = {**os.environ, "QUADLET_UNIT_DIRS": str(case)}
    done = subprocess.run(
        [quadlet, "-dryrun"], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    units: dict[str, str] = {}
    name = None
    for line in done.stdout.splitlines():
        if line.startswith("---") and line.endswith("---"):
            name = line.strip("-")
            units[name] = ""
        elif name is not None:
            units[name] += line + "\n"
    return units


DURATIONS = {f"--health-{k}" for k in ("interval", "timeout", "start-period")}
DURATIONS |= {f"--health-startup-{k}" for k in ("interval", "timeout")}


def normalised(argv: list[str]) -> tuple[Counter[tuple[str, str | None]], list[str], list[str]]:
    """The run flags as a multiset, spelled one way: -v as --volume, an anonymous volume as the
    --mount podman reads the same, Quadlet's systemd-X names of volumes and networks as X,
    capabilities as CAP_X, durations in ms, masks one path per option."""
    flags, global_args, rest = pairs(argv)
    kept: Counter[tuple[str, str | None]] = Counter()
    for (flag, value), count in flags.items():
        if flag in OURS_ON_PURPOSE - {"--sdnotify"} or flag in ("--pod", "--pod-id-file"):
            continue  # the pod is named by its id file here, by its name in Quadlet's
        value = None if value is None else value.replace("systemd-", "")
        flag = "--volume" if flag == "-v" else flag
        if flag == "--volume" and value and ":" not in value:  # an anonymous volume
            flag, value = "--mount", f"type=volume,destination={value}"
        if flag in ("--cap-add", "--cap-drop") and value:
            value = (
                value.upper()
                if value.upper() == "ALL"
                else "CAP_" + value.upper().removeprefix("CAP_")
            )
        if flag in DURATIONS and value:
            value = f"{duration_ms(value)}ms"
        if flag == "--secret" and value:
            value = _secret(value)
        if flag == "--security-opt" and value and value.startswith(("mask=", "unmask=")):
            kind, _, paths = value.partition("=")
            for path in paths.split(":"):
                kept[(flag, f"{kind}={path}")] += count
            continue
        kept[(flag, value)] += count
    return kept, global_args, rest


def _secret(value: str) -> str:
    """A --secret value spelled one way: the name first (source=NAME is the name), the default
    type=mount left out, the other options in order."""
    options = dict(o.partition("=")[::2] if "=" in o else ("source", o) for o in value.split(","))
    options.pop("type") if options.get("type") == "mount" else None
    return ",".join([options.pop("source"), *(f"{k}={v}" for k, v in sorted(options.items()))])


def _execstart(text: str, key: str = "ExecStart") -> list[str]:
    line = next(x for x in text.splitlines() if x.startswith(f"{key}="))
    text = line.removeprefix(f"{key}=")
    return [w.replace("%%", "%").replace("$$", "$") for w in shlex.split(text)]


CONTAINERS = [
    pytest.param(case, f.stem, id=f"{case.name}/{f.name}")
    for case in CASES
    for f in sorted(case.glob("*.container"))
]


@pytest.mark.parametrize(("case", "unit"), CONTAINERS)
def test_imported_containers_run_the_podman_arguments_quadlet_generates(
    case: Path, unit: str, corpus: Corpus
) -> None:
    theirs = _execstart(corpus.quadlet_units(case)[f"{unit}.service"])
    spec = corpus.spec(case)
    name = next(n for n, c in spec.containers.items() if spec.sources[("container", n)].endswith(
        f"{n}.container.toml") and (n == unit or unit == n))  # fmt: skip
    ours = [str(w) for w in podman_run_argv(name, spec.containers[name])]
    (our_flags, *our_rest), (their_flags, *their_rest) = normalised(ours), normalised(theirs)
    assert (our_flags - their_flags, their_flags - our_flags) == (Counter(), Counter())
    assert our_rest == their_rest


# the command of each kind's unit and the line of Quadlet's unit that holds it
VERBS = {
    "pod": (("pod", "create"), "ExecStartPre"),
    "volume": (("volume", "create"), "ExecStart"),
    "network": (("network", "create"), "ExecStart"),
    "image": (("image", "pull"), "ExecStart"),
    "build": (("build",), "ExecStart"),
    "kube": (("kube", "play"), "ExecStart"),
}
# what each side adds on purpose: names, id files, how a pod ends, --ignore where Quadlet uses it
# (a volume or network unit here checks that it exists first), --file where it is the default
OTHERS_ON_PURPOSE = {
    "--name", "--infra-name", "--pod-id-file", "--infra-conmon-pidfile", "--exit-policy",
    "--replace", "--ignore", "--service-container", "--file",
}  # fmt: skip
LONG_OTHERS = {"-v": "--volume"}
# flags Quadlet writes with their default value, which leaving them out means as well
DEFAULTS = {("--all-tags", "false")}


def _flags(argv: list[str], verb: tuple[str, ...]) -> tuple[Counter[tuple[str, str]], list[str]]:
    """The command's flags as a multiset of (flag, value), `--flag value` and `--flag=value`
    alike, and its positional arguments; Quadlet's systemd-X names as X."""
    start = next(i for i in range(len(argv)) if tuple(argv[i : i + len(verb)]) == verb)
    flags: Counter[tuple[str, str]] = Counter()
    i, rest = start + len(verb), []
    while i < len(argv):
        word, value = argv[i], "true"  # a switch: --internal is --internal=true
        if not word.startswith("-"):
            rest.append(word.removeprefix("systemd-"))
        elif "=" in word:
            word, _, value = word.partition("=")
        elif i + 1 < len(argv) - (verb != ("pod", "create")) and not argv[i + 1].startswith("-"):
            i, value = i + 1, argv[i + 1]  # the last word is the name, YAML, image or context
        word = LONG_OTHERS.get(word, word)
        pair = (word, value.replace("systemd-", ""))
        if word.startswith("-") and word not in OTHERS_ON_PURPOSE and pair not in DEFAULTS:
            flags[pair] += 1
        i += 1
    return flags, rest


def _ours(kind: str, name: str, spec: Spec) -> list[str]:
    if kind in ("volume", "network"):
        _, _, script, named, *args = oneshot_argv(kind, name, getattr(spec, f"{kind}s")[name])
        return [*shlex.split(script.split(" || ")[0])[:-3], kind, "create", *args, named]
    if kind == "pod":
        return podman_pod_create_argv(name, spec.pods[name])
    if kind == "image":
        return podman_pull_argv(spec.images[name])
    if kind == "build":
        return podman_build_argv(name, spec.builds[name], spec.inputs[name])
    return podman_kube_argv(spec.kubes[name])


OTHERS = [
    pytest.param(case, f, id=f"{case.name}/{f.name}")
    for case in CASES
    for f in sorted(case.iterdir())
    # keys of a later Quadlet (in their own section) are what 5.4 would not pass on
    if f.suffix[1:] in VERBS and f"[{NEWER}]" not in f.read_text() and case.name != "newer"
]


@pytest.mark.parametrize(("case", "file"), OTHERS)
def test_the_other_kinds_run_the_podman_arguments_quadlet_generates(
    case: Path, file: Path, corpus: Corpus
) -> None:
    kind = file.suffix[1:]
    verb, line = VERBS[kind]
    unit = f"{file.stem}{'' if kind == 'kube' else '-' + kind}.service"
    theirs = _execstart(corpus.quadlet_units(case)[unit], line)
    converted = next(c for c in read_quadlet([str(case)]) if c.source == str(file))
    spec = corpus.spec(case)
    assert _flags(_ours(kind, converted.name, spec), verb) == _flags(theirs, verb)


def test_an_unknown_key_names_the_file_the_line_and_the_key(tmp_path: Path) -> None:
    (tmp_path / "a.container").write_text("[Container]\nImage=busybox\n\nFrobnicate=yes\n")
    with pytest.raises(DefinitionError) as caught:
        read_quadlet([str(tmp_path)])
    (problem,) = caught.value.problems
    assert problem.file.endswith("a.container")
    assert (problem.line, problem.path) == (4, "[Container] Frobnicate")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("Image=busybox\nEnvironment=HOME=%h", "'%h'"),
        ("Image=missing.build", "missing.build is not among the files given"),
        ("Image=busybox\nNetwork=missing.network", "missing.network is neither"),
        ('Image=busybox\nExec=echo "unbalanced', "unbalanced quote"),
        ("Image=busybox\nCgroupsMode=no-conmon", "cgroups mode"),
        ("Image=busybox\nGroup=100", "Group= needs User="),
        ("Image=busybox\nSecret=s,nodes=1", "secret option 'nodes'"),
        ("Image=busybox\nNetwork=n:ip=10.0.0.2", "network options"),
        ("Image=busybox\nRemapUsers=auto\nUserNS=host", "deprecated spelling of UserNS="),
        ("Image=busybox\nRemapUid=0:1:2", "need RemapUsers="),
        ("Image=busybox\nRemapUsers=keep-id\nRemapUid=1\nRemapUid=2", "RemapUsers=keep-id"),
    ],
)
def test_what_cannot_be_expressed_is_refused_with_the_reason(
    tmp_path: Path, body: str, says: str
) -> None:
    (tmp_path / "a.container").write_text(f"[Container]\n{body}\n")
    with pytest.raises(DefinitionError) as caught:
        read_quadlet([str(tmp_path)])
    assert says in str(caught.value.problems[0])


def test_drop_ins_override_the_file_in_the_order_quadlet_reads_them(tmp_path: Path) -> None:
    spec = load([str(imported(CORPUS / "dropins", tmp_path))])
    api = spec.containers["api"]
    assert api.image == "localhost/api:2"
    assert api.environment == {"STAGE": "override"}
    assert api.labels == {"managed-by": "quadlet"}


def test_a_template_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "web@.container").write_text("[Container]\nImage=busybox\n")
    with pytest.raises(DefinitionError) as caught:
        read_quadlet([str(tmp_path)])
    assert "template" in caught.value.problems[0].message


def test_an_entrypoint_with_spaces_says_podman_would_run_it_as_one_program(tmp_path: Path) -> None:
    (tmp_path / "a.container").write_text("[Container]\nImage=busybox\nEntrypoint=top -b\n")
    (text,) = toml_files(read_quadlet([str(tmp_path)])).values()
    assert "podman would run 'top -b' as one program" in text


def test_unmask_all_in_any_case_is_all_here(tmp_path: Path) -> None:
    body = "[Container]\nImage=busybox\nUnmask=/proc/kcore\nUnmask=all\n"
    (tmp_path / "a.container").write_text(body)
    (converted,) = read_quadlet([str(tmp_path)])
    assert converted.table["unmask"] == ["/proc/kcore", "ALL"]
