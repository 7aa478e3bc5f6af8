"""Random compose files, shaped like real ones but with any value anywhere: the import writes
definitions that validate or refuses naming a key, and never fails with an internal error."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.convert.compose import import_compose
from orchestrator.convert.composekeys import HANDLERS
from orchestrator.errors import DefinitionError
from tests.support.depth import examples

TEXT = st.sampled_from(
    ["", "x", "db", "web", "80:80", "127.0.0.1:8080:80/udp", "/data", "./data:/data:ro",
     "data:/d", "NONE", "CMD", "1m30s", "512m", "0.5", "host", "service:web", "a=b", "${X}",
     "$$", "on-failure:3", "no", "always", "unless-stopped", "nginx:1.27", "SIGINT", "1000:1000"]
)  # fmt: skip
SCALAR = st.one_of(TEXT, st.integers(-2, 70000), st.booleans(), st.none(), st.floats(0, 4))
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(TEXT | st.sampled_from(sorted(HANDLERS)), inner, max_size=3),
    ),
    max_leaves=8,
)
SERVICE = st.dictionaries(st.sampled_from(sorted(HANDLERS)), VALUE, max_size=6).map(
    lambda keys: {"image": "nginx", **keys}
)
PROJECT = st.fixed_dictionaries(
    {
        "services": st.dictionaries(
            st.sampled_from(["web", "db", "x"]), SERVICE, min_size=1, max_size=3
        )
    },
    optional={
        "volumes": st.dictionaries(st.sampled_from(["data", "d"]), VALUE, max_size=2),
        "networks": st.dictionaries(st.sampled_from(["back", "default"]), VALUE, max_size=2),
        "secrets": st.dictionaries(st.sampled_from(["pw"]), VALUE, max_size=1),
        "configs": st.dictionaries(st.sampled_from(["conf"]), VALUE, max_size=1),
    },
)


@settings(max_examples=examples(100), deadline=None, suppress_health_check=list(HealthCheck))
@given(PROJECT)
def test_any_compose_file_imports_or_is_refused_naming_a_key(project: dict[str, object]) -> None:
    from orchestrator.convert.validate import check_written, unknown_kinds

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory, "compose.yaml")
        path.write_text(yaml.safe_dump(project))
        out = Path(directory, "out")
        try:
            result = import_compose([str(path)], out_dir=str(out), environ={})
        except DefinitionError as exc:
            assert all(p.file for p in exc.problems)
            return
        out.mkdir()
        for name, text in result.files.items():
            (out / name).write_text(text)
        if not unknown_kinds(str(out)):
            try:
                check_written(str(out), str(out), result.origins)
            except DefinitionError as exc:
                assert all(p.file and p.message for p in exc.problems)
