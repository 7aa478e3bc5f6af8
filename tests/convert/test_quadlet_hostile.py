"""Whatever a Quadlet file holds, import quadlet answers with problems, never a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.convert.quadlet_in import check_written, read_quadlet, toml_files
from orchestrator.convert.quadlet_keys import KINDS
from orchestrator.errors import DefinitionError
from tests.support.depth import examples

KEYS = """Image Yaml Subnet Driver Options PodName File ImageTag Exec Environment Volume Network
PublishPort Label Mount HealthCmd User Group Secret Entrypoint Notify StopTimeout Pod AddHost
Ulimit Mask Foo""".split()
SECTIONS = ["Container", "Unit", "Service", "Install", "Quadlet", "X-Mine", "Bogus"]
VALUES = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=30
)
LINES = st.one_of(
    st.tuples(st.sampled_from(KEYS), VALUES).map(lambda kv: f"{kv[0]}={kv[1]}"),
    st.sampled_from(SECTIONS).map(lambda s: f"[{s}]"),
    VALUES,
)


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(LINES, max_size=12), st.sampled_from(sorted(KINDS)))
def test_any_file_imports_or_is_refused_with_problems(lines: list[str], suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"a{suffix}"
        section = KINDS[suffix][1]
        path.write_text(f"[{section}]\nImage=busybox\n" + "\n".join(lines) + "\n")
        try:
            converted = read_quadlet([str(path)])
            check_written(converted, toml_files(converted), str(Path(tmp) / "out"))
        except DefinitionError as exc:
            assert exc.problems


TEXT = st.text(st.characters(min_codepoint=0x20, blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=examples(150), deadline=None)
@given(
    st.dictionaries(st.from_regex(r"[A-Z_][A-Z0-9_]{0,5}", fullmatch=True), TEXT, max_size=3),
    st.dictionaries(st.from_regex(r"[a-z][a-z.]{0,5}", fullmatch=True), TEXT, max_size=3),
    st.lists(TEXT.filter(bool), min_size=1, max_size=4),
)
def test_any_valid_definition_exports_and_imports_back_or_is_refused(
    environment: dict[str, str], labels: dict[str, str], command: list[str]
) -> None:
    import tomllib

    from orchestrator.convert.quadlet_out import export
    from orchestrator.core.loader import checked_spec, validate_document
    from tests.convert.test_quadlet_roundtrip import differences

    data = {"container": {"a": {"image": "busybox", "environment": environment,
                                "labels": labels, "command": command}}}  # fmt: skip
    problems: list = []
    document = validate_document(data, "/tmp/a.toml", "a.toml", problems)
    if document is None:
        return  # not a definition: nothing to export
    spec = checked_spec([("/tmp/a.toml", document)], problems)
    try:
        files = export(spec)
    except DefinitionError as exc:
        assert exc.problems
        return
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in files.items():
            (Path(tmp) / name).write_text(text)
        converted = read_quadlet([tmp])
        again = tomllib.loads(toml_files(converted)["a.container.toml"])
    problems = []
    back = validate_document(again, "/tmp/a.toml", "a.toml", problems)
    assert back is not None, problems
    assert differences(back.container, document.container) == {}
