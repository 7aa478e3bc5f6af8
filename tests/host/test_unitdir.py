"""The unit directory and systemd's search path: modes of the files we write, and names that
another unit already holds anywhere systemd looks (search paths injected: nothing under /etc)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from orchestrator.core.loader import load
from orchestrator.core.render import render
from orchestrator.errors import ConflictError
from orchestrator.host import paths
from orchestrator.host.systemd import UnitState
from orchestrator.host.unitdir import (
    carries_values,
    refuse_foreign_loaded,
    refuse_shadowing,
    shadowed,
    write_atomic,
)
from tests.support.disk import record_fsyncs, umask

MARKED = "[Service]\nExecStart=/bin/true\n\n[X-Orchestrator]\nKind=container\nName=web\n"
WITH_ENV = (
    "[Service]\nEnvironment=PODMAN_SYSTEMD_UNIT=%n\n"
    'ExecStart=/usr/bin/podman run --name=web "--env=TOKEN=s3 cret" img\n'
)


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        (WITH_ENV, 0o600),
        ("[Service]\nExecStart=/usr/bin/podman run --env=A=1 img\n", 0o600),
        ("[Service]\nExecStart=/usr/bin/podman run -e A=1 img\n", 0o600),
        ("[Service]\nEnvironment=PODMAN_SYSTEMD_UNIT=%n\nEnvironment=TOKEN=x\n", 0o600),
        ("[Service]\nEnvironment=PODMAN_SYSTEMD_UNIT=%n\nExecStart=/usr/bin/podman run i\n", 0o644),
        ("[Service]\nExecStart=/usr/bin/podman run --env-file=/etc/web.env img\n", 0o644),
    ],
)
def test_a_unit_file_carrying_environment_values_is_readable_by_its_owner_only(
    tmp_path: Path, text: str, mode: int
) -> None:
    with umask(0):
        write_atomic(str(tmp_path), "web.service", text)
    assert stat.S_IMODE((tmp_path / "web.service").stat().st_mode) == mode
    assert carries_values(text) == (mode == 0o600)


def test_rendered_units_without_environment_values_are_readable_by_all(tmp_path: Path) -> None:
    """Every line render writes (stop, its safety net, the wait for a healthy dependency) must
    not look like podman's --env/-e to carries_values; with environment, the unit is private."""
    plain = (
        '[container.web]\nimage = "i"\nports = ["80:80"]\nhealth = { command = ["true"] }\n'
        '[container.app]\nimage = "i"\ndepends_on = { web = "healthy" }\n'
        "[volume.data]\n[network.lan]\n[pod.group]\n"
    )
    (tmp_path / "a.toml").write_text(plain)
    units = render(load([str(tmp_path)]), "system")
    assert len(units) == 5 and not [name for name, text in units.items() if carries_values(text)]
    (tmp_path / "a.toml").write_text(
        plain + '[container.env]\nimage = "i"\nenvironment = { A = "1" }\n'
    )
    units = render(load([str(tmp_path)]), "system")
    assert [name for name, text in units.items() if carries_values(text)] == ["env.service"]


def test_writing_a_unit_fsyncs_the_file_and_then_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = record_fsyncs(monkeypatch)
    write_atomic(str(tmp_path), "web.service", MARKED)
    assert synced == [str(tmp_path / ".web.service.tmp"), str(tmp_path)]


def _search_path(tmp_path: Path) -> list[str]:
    """A search path as systemd's, in miniature: a transient directory above the unit
    directory, a generator's and a vendor directory below it."""
    names = ["transient", "units", "generator", "generator.late", "vendor"]
    for name in names:
        (tmp_path / name).mkdir()
    return [str(tmp_path / name) for name in names]


@pytest.mark.parametrize("directory", ["generator", "generator.late", "vendor"])
def test_a_unit_in_any_directory_of_the_search_path_is_not_shadowed(
    tmp_path: Path, directory: str
) -> None:
    search = _search_path(tmp_path)
    (tmp_path / directory / "web.service").write_text("[Service]\nExecStart=/bin/true\n")
    found = shadowed(["web.service", "db.service"], "system", str(tmp_path / "units"), search)
    assert found == {"web.service": f"would shadow {tmp_path / directory / 'web.service'}"}


def test_a_unit_above_the_unit_directory_would_hide_ours(tmp_path: Path) -> None:
    search = _search_path(tmp_path)
    (tmp_path / "transient" / "web.service").write_text("[Service]\nExecStart=/bin/true\n")
    with pytest.raises(ConflictError, match=r"web.service \(would be hidden by .*transient/web"):
        refuse_shadowing(["web.service"], "system", str(tmp_path / "units"), search)


def test_an_alias_link_is_not_shadowed(tmp_path: Path) -> None:
    search = _search_path(tmp_path)
    (tmp_path / "vendor" / "ssh.service").write_text("[Service]\nExecStart=/bin/true\n")
    (tmp_path / "generator" / "sshd.service").symlink_to(tmp_path / "vendor" / "ssh.service")
    assert "sshd.service" in shadowed(["sshd.service"], "system", str(tmp_path / "units"), search)


def test_an_alias_a_disabled_unit_declares_is_not_taken(tmp_path: Path) -> None:
    search = _search_path(tmp_path)
    (tmp_path / "vendor" / "ssh.service").write_text(
        "[Service]\nExecStart=/bin/true\n\n[Install]\nWantedBy=multi-user.target\n"
        "Alias = sshd.service %N-server.service\n"
    )
    found = shadowed(
        ["sshd.service", "ssh-server.service", "web.service"], "user", str(tmp_path / "units"),
        search,
    )  # fmt: skip
    assert found == {
        "sshd.service": f"is an alias that {tmp_path / 'vendor' / 'ssh.service'} declares",
        "ssh-server.service": f"is an alias that {tmp_path / 'vendor' / 'ssh.service'} declares",
    }


def test_our_own_units_wherever_they_are_do_not_count(tmp_path: Path) -> None:
    search = _search_path(tmp_path)
    (tmp_path / "units" / "web.service").write_text("[Service]\nExecStart=/bin/true\n")
    (tmp_path / "vendor" / "web.service").write_text(MARKED)  # rendered there, say
    assert shadowed(["web.service"], "system", str(tmp_path / "units"), search) == {}


def test_the_default_search_path_is_the_one_systemd_reports() -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("no systemd-analyze")
    result = subprocess.run([analyze, "unit-paths"], capture_output=True, text=True, check=True)
    assert paths.unit_search_path(False) == result.stdout.split()


@pytest.mark.parametrize("xdg", [True, False])
def test_the_user_search_path_follows_the_xdg_variables_as_systemd_does(
    tmp_path: Path, xdg: bool
) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("no systemd-analyze")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "XDG_RUNTIME_DIR": str(tmp_path / "run"),
    }
    if xdg:
        env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
        env["XDG_DATA_HOME"] = str(tmp_path / "data")
        env["XDG_CONFIG_DIRS"] = f"{tmp_path}/xdg1:{tmp_path}/xdg2"
        env["XDG_DATA_DIRS"] = f"{tmp_path}/share:/usr/share"
    result = subprocess.run(
        [analyze, "--user", "unit-paths"], capture_output=True, text=True, check=True, env=env
    )
    ours = [d for d in paths.unit_search_path(True, env) if d != "/lib/systemd/user"]
    assert ours == result.stdout.split()


def test_systemd_unit_path_replaces_or_extends_the_defaults() -> None:
    assert paths.unit_search_path(False, {"SYSTEMD_UNIT_PATH": "/a:/b"}) == ["/a", "/b"]
    extended = paths.unit_search_path(False, {"SYSTEMD_UNIT_PATH": "/a:"})
    assert extended[0] == "/a" and "/run/systemd/generator" in extended


def test_systemd_is_asked_where_it_loads_a_unit_from_and_what_name_it_answers_to(
    tmp_path: Path,
) -> None:
    units = str(tmp_path)
    observed = {
        "web.service": UnitState("web.service", "loaded", fragment_path=f"{units}/web.service"),
        "db.service": UnitState("db.service"),  # not found: free
        "ghost.service": UnitState(
            "ghost.service", "loaded", fragment_path="/run/systemd/transient/ghost.service"
        ),
        "sshd.service": UnitState("ssh.service", "loaded", names=("ssh.service", "sshd.service")),
    }
    refuse_foreign_loaded(["web.service", "db.service"], observed, units)
    with pytest.raises(ConflictError) as caught:
        refuse_foreign_loaded(list(observed), observed, units)
    assert str(caught.value) == (
        "these units belong to the system: ghost.service (systemd loads it from "
        "/run/systemd/transient/ghost.service), sshd.service (systemd knows it as an alias of "
        "ssh.service); rename the definitions"
    )
