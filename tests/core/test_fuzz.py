"""Generated definitions across every key and type: `validate` exits 0 or 1 and never shows a
traceback, and every set it accepts renders to units systemd loads without a complaint.

Values are drawn near the valid (so that many sets are accepted and reach systemd), from the
boundaries systemd draws, and from anything at all (other TOML types, any text including control
characters, noncharacters, quotes, specifiers and long strings). systemd is asked once per batch.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator import cli
from orchestrator.core.loader import load
from orchestrator.core.render import render
from tests.support.definitions import toml_document, verify_units
from tests.support.depth import examples

EXAMPLES = examples(100)
# Resource names come from this pool, so that references resolve; each example gets them
# renamed apart, so that the units of many examples can be verified together.
CONTAINERS, VOLUMES, NETWORKS = ["zca", "zcb", "zcc"], ["zva"], ["zna"]

anything_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=8)
# Drawn from a list, which is much cheaper for hypothesis than building values each time.
HOSTILE_VALUES = [
    *("", " ", " lead", "a\nb", "a\tb", "\x7f", "\x85", "\u2028", "\ufffe", "\U0010ffff"),
    *("\u202e", "end\\", "%n%x", "100%", "$X", "${X}", ";", "-v", "--privileged", "a\"b'c"),
    *("/a/../b", "a,b:c", "é😀", "x" * 300, 0, -1, 2**64, 2**63, 1.5, -0.0, float("inf"), True),
    *([], ["x"], [1, "a"], {}, {"a": 1}, {"": ""}),
]  # fmt: skip
other = st.one_of(*[st.sampled_from(HOSTILE_VALUES)] * 3, anything_text)


class Values:
    """Strategies for one kind of set: valid values with now and then one just past a boundary
    (bad); a hostile set draws hostile values and any text as well. Flat sampled_from lists:
    nested strategies would make hypothesis, not the test, the cost."""

    def __init__(self, hostile: bool) -> None:
        self.hostile = hostile
        self.otherwise = other if hostile else st.nothing()
        # Free text: anything a unit file can carry must pass through, quoted as needed.
        self.scalar = self.near("hello", "a b c", '100% $HOME ${X} \\ "q" ;', "é 😀", 42, True, 1.5)
        self.free_text = self.text_like(
            "Web server", "50% off $HOME", "a 'quoted' \"word\" \\ ;", "é 😀 \u00a0"
        )

    def near(
        self, *valid: Any, bad: tuple[Any, ...] = (), rarity: int = 40
    ) -> st.SearchStrategy[Any]:
        extra = [*bad, *HOSTILE_VALUES] if self.hostile else list(bad)
        weight = max(1, rarity * len(extra) // len(valid))  # a few keys in a set are bad
        return st.sampled_from([*valid] * weight + extra)

    def text_like(self, *valid: str, bad: tuple[Any, ...] = ()) -> st.SearchStrategy[Any]:
        if not self.hostile:
            return self.near(*valid, bad=bad)
        return st.one_of(*[self.near(*valid, bad=bad)] * 3, anything_text)

    def key_like(self, *valid: str) -> st.SearchStrategy[str]:
        if not self.hostile:
            return st.sampled_from(valid)
        return st.one_of(*[st.sampled_from(valid)] * 6, anything_text)

    def listed(self, item: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        items = st.lists(item, max_size=3)
        return st.one_of(items, other) if self.hostile else items


def _duration(v: Values) -> st.SearchStrategy[Any]:
    return v.near("10s", 5, "1min 30s", "500ms", "2h", 0, "0.5s", bad=("0.0001s", -1, "1y"))


def _limits(v: Values) -> dict[str, st.SearchStrategy[Any]]:
    """The resource limits, with systemd's boundaries on both sides, the bad side often: what
    systemd ignores there leaves a container unlimited without a word."""
    size = v.near(
        *("512M", "1.5G", 1024, "50%", "99.99%", "infinity", "15E", "0.001K", 18446744073709551614),
        bad=("101%", "99.999%", "0.1", "15.9E", "050%", 18446744073709551615),
        rarity=2,
    )
    percent = v.near(
        *("50%", "200%", "0.01%", "21474836.47%"),
        bad=("0.001%", "12345678901234567890%", "0%"),
        rarity=2,
    )
    tasks = v.near(
        100, "10%", "infinity", "0.01%", bad=("101%", "0.001%", 18446744073709551615), rarity=2
    )
    return {"memory_max": size, "cpu_quota": percent, "tasks_max": tasks}


def _override(v: Values) -> st.SearchStrategy[Any]:
    """Unit overrides: directives whose values systemd takes as written."""
    return st.fixed_dictionaries(
        {},
        optional={
            "Unit": st.fixed_dictionaries(
                {},
                optional={
                    "Description": v.near("Overridden", "50%% off, %n"),
                    "Documentation": st.just("https://example.com/doc"),
                    "StartLimitBurst": st.sampled_from([3, 10]),
                    "X-Note": v.near("a note", "100%%"),
                },
            ),
            "Service": st.fixed_dictionaries(
                {},
                optional={
                    "Nice": st.sampled_from([5, -5, 19]),
                    "Environment": st.sampled_from(["A=b", ["A=1", "B=%n"]]),
                    "LimitNOFILE": st.sampled_from([1024, "4096:8192"]),
                    "TimeoutStartSec": st.sampled_from(["5min", 30]),
                },
            ),
            "Install": st.fixed_dictionaries({}, optional={"WantedBy": st.just("default.target")}),
            "X-Mine": st.dictionaries(
                st.sampled_from(["Note", "Who"]), v.near("x %%n"), max_size=2
            ),
            "Timer": v.near({"OnCalendar": "daily"}) if v.hostile else st.nothing(),
        },
    )


def _health(v: Values) -> st.SearchStrategy[Any]:
    """A health check table."""
    return st.fixed_dictionaries(
        {"command": v.near(["/bin/check", "--quick"], "curl -f http://localhost/", ["ok"])},
        optional={
            "interval": v.near("10s", "1min", bad=("500ms",)),
            "timeout": v.near("5s", 2, bad=("0.5s",)),
            "retries": v.near(3, bad=(0,)),
            "start_period": _duration(v),
            "on_failure": v.near("none", "kill", "stop", bad=("restart",)),
        },
    )


def _container(v: Values) -> st.SearchStrategy[Any]:
    """A container table: every key, most of them optional."""
    return st.fixed_dictionaries(
        {
            "image": v.text_like(
                *("docker.io/library/nginx:1.27", "localhost/busybox:test", "nginx", "Foo/bar"),
                f"app@sha256:{'a' * 64}",
                bad=("-v/etc/x", "Foo/Bar", "nginx:-x"),
            )
        },
        optional={
            "command": st.lists(v.free_text, min_size=1, max_size=3)
            | v.text_like("sleep 10", "echo 'a b'", bad=("",)),
            "entrypoint": st.lists(v.near("/bin/sh", "-c", "a b"), min_size=2, max_size=3)
            | v.text_like("/bin/sh", "/bin/sh -c"),
            "environment": st.dictionaries(v.key_like("A", "B_2"), v.scalar, max_size=3)
            | v.otherwise,
            "env_files": v.listed(
                v.text_like("a.env", "/etc/x.env", "sub/../b.env", bad=("c,d.env",))
            ),
            "ports": st.lists(
                v.near(
                    *(f"{port}:80" for port in range(8000, 8100)), "[::1]:8082:82/udp", bad=("0:1",)
                ),
                max_size=2,
                unique=True,
            )
            | v.otherwise,
            "volumes": v.listed(
                v.text_like(
                    "/srv/data:/data:ro", "./d:/d", "zva:/v", "/a%b $c:/c", bad=("/x:/y:bogus",)
                )
                | st.fixed_dictionaries(
                    {
                        "source": v.text_like("/srv", "zva", "./rel"),
                        "target": v.text_like("/t", bad=("rel",)),
                    },
                    optional={"options": v.listed(v.text_like("ro", "z", bad=("nosuch",)))},
                )
            ),
            "tmpfs": v.listed(v.text_like("/tmp", "/run:rw,size=64m", bad=("rel",))),
            "networks": v.listed(v.near(*NETWORKS, bad=("host", "nosuch"))),
            "network_aliases": v.listed(v.text_like("alias", "a.b", bad=("-bad",))),
            "hostname": v.text_like("web.local", bad=("x_y",)),
            "user": v.text_like("1000", "1000:1000", "www-data", bad=("a:b:c",)),
            "workdir": v.text_like("/app", bad=("app",)),
            "labels": st.dictionaries(v.key_like("a", "org.x/y"), v.scalar, max_size=3)
            | v.otherwise,
            "description": v.free_text,
            # a dependency on the last of the pool only: cycles are the exception they are
            "depends_on": v.listed(v.near(CONTAINERS[-1], bad=tuple(CONTAINERS[:-1])))
            | st.dictionaries(
                v.near(CONTAINERS[-1]), v.near("started", bad=("ready",)), max_size=1
            ),
            **_container_more(v),
            **_limits(v),
        },
    )


def _container_more(v: Values) -> dict[str, st.SearchStrategy[Any]]:
    """The container keys past the podman run basics."""
    return {
        "restart": v.near("no", "always", "on-failure", bad=("unless-stopped",)),
        "restart_sec": _duration(v),
        "start_timeout": _duration(v),
        "stop_timeout": v.near("10s", 5, "1min", bad=("500ms",)),
        "health": _health(v) | v.otherwise,
        "read_only": v.near(True, False),
        "cap_add": v.listed(v.text_like("NET_ADMIN", "CAP_CHOWN", "all", bad=("nosuch",))),
        "cap_drop": v.listed(v.text_like("ALL", "SYS_ADMIN")),
        "no_new_privileges": v.near(True, False),
        "devices": v.listed(v.text_like("/dev/fuse", "/dev/sda:/dev/xvda:rw", bad=("/dev/a,b",))),
        "secrets": v.listed(
            v.text_like("token", bad=("a b",))
            | st.fixed_dictionaries(
                {"name": v.text_like("token")},
                optional={"type": v.near("mount", "env"), "target": v.text_like("TOKEN", "/run/t")},
            )
        ),
        "auto_update": v.near("local", bad=("never", "registry")),
        "pull": v.near("missing", "always", "never", "newer", bad=("sometimes",)),
        "enabled": v.near(True, False),
        "podman_args": v.listed(
            v.text_like("--annotation=a=b", "--log-level=info", bad=("--restart=no",))
        ),
        "unit": _override(v) | v.otherwise,
    }


def _volume(v: Values) -> st.SearchStrategy[Any]:
    """A volume table."""
    return st.fixed_dictionaries(
        {},
        optional={
            "driver": v.text_like("local"),
            "options": st.dictionaries(v.key_like("type", "o"), v.scalar, max_size=2) | v.otherwise,
            "labels": st.dictionaries(v.key_like("a"), v.scalar, max_size=2) | v.otherwise,
            "description": v.free_text,
        },
    )


def _network(v: Values) -> st.SearchStrategy[Any]:
    """A network table."""
    return st.fixed_dictionaries(
        {"subnet": v.text_like("10.89.0.0/24", bad=("10.89.0.1/24", "fd00::/64"))},
        optional={
            "driver": v.text_like("bridge"),
            "gateway": v.text_like("10.89.0.1", bad=("10.90.0.1",)),
            "ip_range": v.text_like("10.89.0.128/25"),
            "internal": v.near(True, False),
            "ipv6": v.near(True, False),
            "dns": v.near(True, False),
            "options": st.dictionaries(v.key_like("mtu"), v.scalar, max_size=2) | v.otherwise,
            "labels": st.dictionaries(v.key_like("a"), v.scalar, max_size=2) | v.otherwise,
            "description": v.free_text,
        },
    )


def _sets(v: Values) -> st.SearchStrategy[Any]:
    """Sets of definition files."""
    container, volume, network = _container(v), _volume(v), _network(v)
    if not v.hostile:  # one file that declares what its containers refer to
        return st.lists(
            st.fixed_dictionaries(
                {
                    "container": st.fixed_dictionaries(
                        {CONTAINERS[-1]: container},
                        optional={name: container for name in CONTAINERS[:-1]},
                    ),
                    "volume": st.fixed_dictionaries({VOLUMES[0]: volume}),
                    "network": st.fixed_dictionaries({NETWORKS[0]: network}),
                }
            ),
            min_size=1,
            max_size=1,
        )
    return st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "container": st.dictionaries(
                    v.key_like(*CONTAINERS), container, min_size=1, max_size=3
                ),
                "volume": st.dictionaries(v.key_like(*VOLUMES), volume, max_size=2),
                "network": st.dictionaries(v.key_like(*NETWORKS), network, max_size=2),
            },
        ),
        min_size=1,
        max_size=2,
    )


# Sets of definition files: half of them valid but for a rare value past a boundary, half hostile.
DEFINITION_SETS = st.one_of(_sets(Values(hostile=False)), _sets(Values(hostile=True)))


def _rename_apart(text: str, index: int) -> str:
    for name in [*CONTAINERS, *VOLUMES, *NETWORKS]:
        text = text.replace(name, f"{name}{index}")
    return text


def _validate(directory: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(["validate", directory])
    return code, out.getvalue() + err.getvalue()


def test_validate_never_fails_badly_and_systemd_loads_all_it_accepts(tmp_path: Path) -> None:
    batches: list[dict[str, str]] = []
    where: dict[str, str] = {}
    counts = {"accepted": 0, "refused": 0}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(DEFINITION_SETS)
    def one_set(documents: list[dict[str, Any]]) -> None:
        index = counts["accepted"] + counts["refused"]
        directory = str(tmp_path / f"set{index}")
        Path(directory).mkdir()
        for number, document in enumerate(documents):
            text = _rename_apart(toml_document(document), index)
            (Path(directory) / f"part{number}.toml").write_text(text, encoding="utf-8")
        code, output = _validate(directory)
        assert code in (0, 1), output
        assert "Traceback" not in output and "internal error" not in output, output
        if code == 1:
            counts["refused"] += 1
            return
        counts["accepted"] += 1
        spec = load([directory])
        render(spec, "user")
        units = render(spec)
        batch = next((b for b in batches if not units.keys() & b.keys()), None)
        if batch is None:
            batch = {}
            batches.append(batch)
        batch.update(units)
        where.update(
            dict.fromkeys(units, "\n".join(p.read_text() for p in Path(directory).iterdir()))
        )

    one_set()
    assert counts["accepted"] >= EXAMPLES // 10, counts  # systemd must see a fair share
    complaints = []
    for number, batch in enumerate(batches):
        for line in verify_units(batch, tmp_path / f"batch{number}"):
            complaints.append((line, where.get(Path(line.split(":")[0]).name, "")))
    assert not complaints, complaints[:5]
