"""Every hostile string in every string field: validate refuses it naming the file and the key,
or the definitions render, and systemd loads the units without a complaint."""

from __future__ import annotations

from pathlib import Path

from orchestrator.core.loader import load
from orchestrator.core.render import render
from orchestrator.errors import DefinitionError
from tests.support.definitions import toml_string, verify_units

HOSTILE = [
    "",
    " ",
    " lead",
    "a\nb",
    "a\tb",
    "a\x7fb",
    "a\x85b",
    "a\u2028b",
    "a\ufffeb",
    "a\U0010ffffb",
    "a\u202eb",
    "end\\",
    "%n %% %q %x %Z $HOME ${X} $$ 100%",
    "a\"b'c\\d",
    ";",
    "-v/etc/x",
    "--privileged",
    "/a/../b:c,d",
    "é ü 😀",
    "x" * 5_000,  # the limits of length have their own tests (test_hostile_values)
]
IMAGE = '"docker.io/library/nginx:1.27"'
# {n}: a name unique to the case; {v}: the hostile string as a TOML string.
FIELDS = [
    "[container.c{n}]\nimage = {v}",
    "[container.{v}]\nimage = " + IMAGE,
    *(
        f"[container.c{{n}}]\nimage = {IMAGE}\n{line}"
        for line in [
            "command = [{v}]",
            "command = {v}",
            "entrypoint = {v}",
            'entrypoint = [{v}, "x"]',
            "environment = {{ A = {v} }}",
            'environment = {{ {v} = "x" }}',
            "env_files = [{v}]",
            "ports = [{v}]",
            "volumes = [{v}]",
            'volumes = [{{ source = {v}, target = "/data" }}]',
            'volumes = [{{ source = "/srv", target = {v}, options = ["ro"] }}]',
            "tmpfs = [{v}]",
            "networks = [{v}]",
            "network_aliases = [{v}]",
            "hostname = {v}",
            "user = {v}",
            "workdir = {v}",
            'labels = {{ {v} = "x" }}',
            "labels = {{ k = {v} }}",
            "description = {v}",
            "depends_on = [{v}]",
            "restart_sec = {v}",
            "memory_max = {v}",
            "cpu_quota = {v}",
            "tasks_max = {v}",
            "cap_add = [{v}]",
            "devices = [{v}]",
            "secrets = [{v}]",
            'secrets = [{{ name = "s", target = {v} }}]',
            "podman_args = [{v}]",
            "health.command = {v}",
            'health.command = ["/bin/check", {v}]',
            "unit.Unit.Description = {v}",
            "unit.Service.X-Note = {v}",
            "unit.X-Mine.Note = {v}",
        ]
    ),
    "[volume.v{n}]\ndriver = {v}",
    "[volume.v{n}]\noptions = {{ o = {v} }}",
    "[volume.v{n}]\nlabels = {{ {v} = 1 }}",
    "[volume.v{n}]\ndescription = {v}",
    "[volume.{v}]",
    "[network.n{n}]\ndriver = {v}",
    "[network.n{n}]\noptions = {{ mtu = {v} }}",
    "[network.n{n}]\ndescription = {v}",
    "[network.n{n}]\nsubnet = {v}",
]


def test_every_hostile_string_is_refused_with_file_and_key_or_renders_to_units_systemd_loads(
    tmp_path: Path,
) -> None:
    accepted: dict[str, str] = {}
    cases: dict[str, str] = {}
    unnamed = []
    for n, (field, text) in enumerate((f, t) for f in FIELDS for t in HOSTILE):
        file = tmp_path / f"case{n}.toml"
        file.write_text(field.format(n=n, v=toml_string(text)) + "\n", encoding="utf-8")
        try:
            spec = load([str(file)])
        except DefinitionError as exc:
            unnamed += [
                (field, text[:20], str(p))
                for p in exc.problems
                if not (p.file.endswith(file.name) and p.path)
            ]
            continue
        render(spec, "user")  # must not raise either; systemd is asked about system units
        for unit, body in render(spec).items():
            accepted[unit] = body
            cases[unit] = f"{field!r} with {text[:20]!r}"
    assert not unnamed, unnamed
    assert len(accepted) > 100  # the test must see units, not only refusals
    complaints = verify_units(accepted, tmp_path / "units")
    assert not complaints, [(line, cases.get(Path(line.split(":")[0]).name)) for line in complaints]
