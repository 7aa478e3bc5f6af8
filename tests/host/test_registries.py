"""Short image names: what registries.conf says podman does with them, and the warnings about it."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from orchestrator import cli
from orchestrator.core.loader import load
from orchestrator.host import registries

# Debian's registries.conf: everything commented out, so no search registries at all.
DEBIAN_MAIN = "# unqualified-search-registries = ['example.com']\n"
SHORTNAMES = """[aliases]
  "alpine" = "docker.io/library/alpine"
  "busybox" = "docker.io/library/busybox"
"""


@pytest.fixture
def etc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A host whose registries.conf files live under tmp_path, as Debian ships them."""
    root = tmp_path / "etc-containers"
    (root / "registries.conf.d").mkdir(parents=True)
    (root / "registries.conf").write_text(DEBIAN_MAIN)
    (root / "registries.conf.d" / "shortnames.conf").write_text(SHORTNAMES)
    monkeypatch.setattr(registries, "SYSTEM_CONF", str(root / "registries.conf"))
    monkeypatch.setattr(registries, "SYSTEM_ALIAS_CACHE", str(tmp_path / "cache" / "aliases.conf"))
    monkeypatch.setattr(registries, "_home", lambda user: str(tmp_path / "root-home"))
    return root


def test_on_debian_an_aliased_short_name_resolves_and_nginx_does_not(etc: Path) -> None:
    conf = registries.load(user=False)
    assert conf.search == () and conf.mode == "permissive"
    assert conf.files == (
        str(etc / "registries.conf"),
        str(etc / "registries.conf.d/shortnames.conf"),
    )
    alpine = registries.resolve(conf, "alpine:3.19")
    assert alpine.alias == "docker.io/library/alpine:3.19" and alpine.problem is None
    nginx = registries.resolve(conf, "nginx:1.27")
    assert nginx.problem == "no unqualified-search-registries and no alias for it"
    digest = "busybox@sha256:" + "a" * 64
    assert registries.resolve(conf, digest).alias == "docker.io/library/" + digest


def test_drop_ins_override_in_name_order_and_the_alias_cache_wins(etc: Path) -> None:
    dropins = etc / "registries.conf.d"
    (dropins / "10-search.conf").write_text('unqualified-search-registries = ["docker.io"]\n')
    (dropins / "zz-more.conf").write_text(  # read after shortnames.conf
        'unqualified-search-registries = ["quay.io", "docker.io"]\nshort-name-mode = "enforcing"\n'
        '[aliases]\n"busybox" = ""\n'  # an empty alias erases it
    )
    cache = Path(registries.SYSTEM_ALIAS_CACHE)
    cache.parent.mkdir()
    cache.write_text('[aliases]\n"alpine" = "quay.io/mirror/alpine"\n')
    conf = registries.load(user=False)
    assert conf.search == ("quay.io", "docker.io") and conf.mode == "enforcing"
    assert conf.aliases == {"alpine": "quay.io/mirror/alpine"}
    assert registries.resolve(conf, "alpine").alias == "quay.io/mirror/alpine"
    problem = registries.resolve(conf, "busybox").problem
    assert problem is not None and "no terminal" in problem


SEARCH, MODE = "unqualified-search-registries", "short-name-mode"
ONE, TWO = '["docker.io"]', '["a.io", "b.io"]'


@pytest.mark.parametrize(
    ("text", "search", "resolves"),
    [
        (f"{SEARCH} = {ONE}", ("docker.io",), True),
        (f"{SEARCH} = {TWO}", ("a.io", "b.io"), True),  # permissive: tries both in order
        (f'{SEARCH} = {TWO}\n{MODE} = "disabled"', ("a.io", "b.io"), True),
        (f'{SEARCH} = {TWO}\n{MODE} = "enforcing"', ("a.io", "b.io"), False),
        (f'{SEARCH} = {ONE}\n{MODE} = "enforcing"', ("docker.io",), True),
        (f"[registries.search]\nregistries = {ONE}", ("docker.io",), True),  # version 1
        (f"{SEARCH} = []", (), False),
    ],
)  # fmt: skip
def test_what_the_search_registries_and_the_mode_allow(
    tmp_path: Path, text: str, search: tuple[str, ...], resolves: bool
) -> None:
    (tmp_path / "registries.conf").write_text(text + "\n")
    resolution = registries.resolve(registries.read([str(tmp_path / "registries.conf")]), "nginx")
    assert resolution.search == search
    assert (resolution.problem is None) is resolves
    assert resolution.describe() == (
        f"searched in {', '.join(search)}"
        if resolves
        else f"cannot be pulled: {resolution.problem}"
    )


def test_a_user_registries_conf_replaces_the_system_one_and_its_drop_ins(tmp_path: Path) -> None:
    home = tmp_path / "home"
    system = registries.config_files(user=True, home=str(home))
    assert system[0] == registries.SYSTEM_CONF
    assert system[-1].endswith("/containers/short-name-aliases.conf")
    (home / ".config/containers/registries.conf.d").mkdir(parents=True)
    (home / ".config/containers/registries.conf").write_text("")
    (home / ".config/containers/registries.conf.d/a.conf").write_text("")
    own = registries.config_files(user=True, home=str(home))
    assert own[:2] == [
        str(home / ".config/containers/registries.conf"),
        str(home / ".config/containers/registries.conf.d/a.conf"),
    ]
    assert not any(f.startswith("/etc/") for f in own)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: p.write_text("unqualified-search-registries = [\n"),  # not TOML
        lambda p: p.write_bytes(b"\xff\xfe"),  # not UTF-8
        lambda p: p.write_text("[aliases]\n" + "x" * (2 << 20)),  # too big to be one
        lambda p: p.mkdir(),
        lambda p: os.mkfifo(p),  # nobody writes: reading it would hang
    ],
)
def test_a_file_that_cannot_be_read_is_reported_never_hangs_or_crashes(
    tmp_path: Path, make: object
) -> None:
    path = tmp_path / "registries.conf"
    make(path)  # type: ignore[operator]
    result: list[registries.Registries] = []
    reader = threading.Thread(target=lambda: result.append(registries.read([str(path)])))
    reader.start()
    reader.join(timeout=5)
    assert result, "reading registries.conf hung"
    assert result[0].search == () and result[0].aliases == {}
    assert result[0].unreadable == (str(path),) and result[0].files == ()


def test_settings_of_the_wrong_shape_are_ignored_as_podman_would_refuse_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "registries.conf"
    path.write_text('registries = ["v1"]\naliases = 3\nunqualified-search-registries = "x"\n')
    conf = registries.read([str(path)])
    assert (conf.search, conf.aliases, conf.files) == ((), {}, (str(path),))


def _definitions(tmp_path: Path) -> Path:
    defs = tmp_path / "defs"
    defs.mkdir()
    (defs / "web.toml").write_text(
        '[container.web]\nimage = "nginx:1.27"\n'
        '[container.cache]\nimage = "nginx:1.27"\npull = "never"\n'  # never pulls: no warning
        '[container.db]\nimage = "alpine:3.19"\n'
        '[container.app]\nimage = "localhost/app:1"\n'
    )
    return defs


def test_validate_warns_about_a_short_name_podman_cannot_pull(
    etc: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    defs = _definitions(tmp_path)
    assert cli.main(["validate", str(defs)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("ok: 1 file(s), 4 container(s)")
    [line] = err.splitlines()
    assert line.startswith(f"warning: {defs / 'web.toml'}: container.web.image: short name ")
    assert "no unqualified-search-registries and no alias" in line
    assert '"docker.io/library/nginx:1.27"' in line

    assert cli.main(["validate", "--json", str(defs)]) == 0
    out, err = capsys.readouterr()
    [warning] = json.loads(out)["warnings"]
    assert warning["path"] == "container.web.image" and err == ""
    spec = load([str(defs)])
    assert [w.path for w in registries.warnings(spec, registries.load(False))] == [
        "container.web.image"
    ]


def test_plan_says_how_podman_resolves_each_short_name(
    etc: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (etc / "registries.conf").write_text(
        'unqualified-search-registries = ["docker.io", "quay.io"]\n'
    )
    defs = _definitions(tmp_path)
    assert cli.main(["plan", str(defs), "--unit-dir", str(tmp_path / "units"), "--no-diff"]) == 2
    out = capsys.readouterr().out
    assert "Short image names, as podman resolves them" in out
    assert "  nginx:1.27 (web, cache): searched in docker.io, quay.io\n" in out
    assert "  alpine:3.19 (db): alias docker.io/library/alpine:3.19\n" in out
    assert "localhost/app" not in out.split("Short image names")[1]

    assert cli.main(["plan", str(defs), "--unit-dir", str(tmp_path / "u"), "--json"]) == 2
    short = json.loads(capsys.readouterr().out)["short_names"]
    assert short[0] == {
        "image": "nginx:1.27",
        "alias": None,
        "search": ["docker.io", "quay.io"],
        "resolves": True,
        "problem": None,
        "containers": ["web", "cache"],
    }
