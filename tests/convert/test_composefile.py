"""Reading a compose project as docker compose does: merge rules, extends, include, profiles,
relative paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.convert.composefile import load_project, merge
from orchestrator.errors import DefinitionError


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_mappings_merge_sequences_append_and_commands_are_replaced() -> None:
    base = {"services": {"web": {"dns": ["1.1.1.1"], "command": ["a"], "labels": {"a": "1"}}}}
    over = {"services": {"web": {"dns": ["8.8.8.8"], "command": ["b"], "labels": {"b": "2"}}}}
    web = merge(base, over)["services"]["web"]
    assert web == {"dns": ["1.1.1.1", "8.8.8.8"], "command": ["b"], "labels": {"a": "1", "b": "2"}}


def test_volumes_are_unique_by_target_and_a_later_file_replaces_one() -> None:
    base = {"services": {"web": {"volumes": ["a:/data", "b:/logs"]}}}
    over = {"services": {"web": {"volumes": ["c:/data"]}}}
    assert merge(base, over)["services"]["web"]["volumes"] == ["c:/data", "b:/logs"]


def test_healthcheck_test_is_replaced_not_appended() -> None:
    base = {"services": {"web": {"healthcheck": {"test": ["CMD", "a"], "interval": "5s"}}}}
    over = {"services": {"web": {"healthcheck": {"test": ["CMD", "b"]}}}}
    health = merge(base, over)["services"]["web"]["healthcheck"]
    assert health == {"test": ["CMD", "b"], "interval": "5s"}


def test_extends_from_another_file_takes_paths_relative_to_that_file(tmp_path: Path) -> None:
    write(
        tmp_path / "lib" / "base.yaml",
        "services:\n  base:\n    image: x\n    volumes: [./data:/d]\n",
    )
    main = write(
        tmp_path / "compose.yaml",
        "services:\n  web:\n    extends: {file: lib/base.yaml, service: base}\n"
        "    env_file: ./web.env\n",
    )
    web = load_project([main], {}).services["web"]
    assert web["volumes"] == [f"{tmp_path}/lib/data:/d"]
    assert web["env_file"] == [f"{tmp_path}/web.env"]
    assert web["image"] == "x" and "extends" not in web


def test_extends_in_a_loop_is_an_error_naming_the_key(tmp_path: Path) -> None:
    main = write(
        tmp_path / "compose.yaml",
        "services:\n  a: {extends: b, image: x}\n  b: {extends: a, image: y}\n",
    )
    with pytest.raises(DefinitionError) as error:
        load_project([main], {})
    assert "extends itself" in str(error.value.problems[0])


def test_override_files_take_paths_relative_to_the_first_file(tmp_path: Path) -> None:
    main = write(tmp_path / "compose.yaml", "services:\n  web: {image: x}\n")
    other = write(tmp_path / "more" / "extra.yaml", "services:\n  web: {volumes: [./d:/d]}\n")
    assert load_project([main, other], {}).services["web"]["volumes"] == [f"{tmp_path}/d:/d"]


def test_include_adds_the_resources_of_another_project(tmp_path: Path) -> None:
    write(tmp_path / "db" / "compose.yaml", "services:\n  db: {image: pg, volumes: [./x:/x]}\n")
    write(tmp_path / "db" / ".env", "IGNORED=1\n")
    main = write(
        tmp_path / "compose.yaml", "include: [db/compose.yaml]\nservices:\n  web: {image: x}\n"
    )
    project = load_project([main], {})
    assert sorted(project.services) == ["db", "web"]
    assert project.services["db"]["volumes"] == [f"{tmp_path}/db/x:/x"]


def test_several_documents_in_one_file_merge_in_order(tmp_path: Path) -> None:
    main = write(
        tmp_path / "compose.yaml",
        "services:\n  web: {image: x}\n---\nservices:\n  web: {image: y}\n",
    )
    assert load_project([main], {}).services["web"]["image"] == "y"


def test_reset_removes_and_override_replaces(tmp_path: Path) -> None:
    main = write(tmp_path / "a.yaml", "services:\n  web: {image: x, ports: ['1:1'], dns: [a]}\n")
    over = write(
        tmp_path / "b.yaml", "services:\n  web: {ports: !override ['2:2'], dns: !reset []}\n"
    )
    web = load_project([main, over], {}).services["web"]
    assert web["ports"] == ["2:2"] and "dns" not in web


def test_x_fields_and_inactive_profiles_are_left_out(tmp_path: Path) -> None:
    main = write(
        tmp_path / "compose.yaml",
        "x-top: 1\nservices:\n  web: {image: x}\n  dbg: {image: y, profiles: [debug]}\n"
        "  x-hidden: {image: z}\n",
    )
    project = load_project([main], {})
    assert sorted(project.services) == ["web"] and project.left_out == {"dbg": ["debug"]}
    assert sorted(load_project([main], {}, ["*"]).services) == ["dbg", "web"]


def test_an_include_loop_is_an_error_naming_the_chain(tmp_path: Path) -> None:
    main = write(tmp_path / "a.yaml", "include: [b.yaml]\nservices:\n  a: {image: x}\n")
    write(tmp_path / "b.yaml", "include: [a.yaml]\nservices:\n  b: {image: y}\n")
    with pytest.raises(DefinitionError) as error:
        load_project([main], {})
    assert "includes itself" in str(error.value.problems[0])
