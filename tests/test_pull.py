"""`orchestrator pull`'s engine against real git (a bare repository in a temporary directory) and
a recording stand-in for apply: fast-forwards only, signatures, rings, unmatched hosts, failed
commits not retried, drift, and the status and metrics files."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from orchestrator.pull import PullStatus, Settings, prometheus, pull

FLEET = """
[host.web-1]
groups = ["web"]
[host.web-2]
groups = ["web"]
ring = "canary"
"""
WEB = """
[container.web]
image = "docker.io/library/busybox:1.36"
command = ["httpd", "-f", "-p", "${port}"]
"""
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
}  # fmt: skip


def git(cwd: Path, *argv: str, stdin: bytes | None = None) -> str:
    result = subprocess.run(
        ["git", *argv], cwd=cwd, env={**os.environ, **GIT_ENV}, input=stdin,
        capture_output=True, check=True,
    )  # fmt: skip
    return result.stdout.decode().strip()


@dataclass
class Outcome:
    unit: str
    ok: bool = True
    active: str = "active"
    done: list[str] = field(default_factory=list)


@dataclass
class Action:
    unit: str | None


@dataclass
class Report:
    ok: bool
    generation: int | None
    outcomes: list[Outcome]
    plan: Any


@dataclass
class Apply:
    """Stands in for apply: records what it was asked to run, answers as told."""

    ok: bool = True
    drifted: list[str] = field(default_factory=list)
    calls: list[dict[str, str]] = field(default_factory=list)

    def __call__(self, units: dict[str, str], sources: list[str], note: str) -> Report:
        self.calls.append(units)
        plan = type("Plan", (), {"actions": [Action(u) for u in self.drifted]})()
        outcomes = [Outcome(u, self.ok) for u in units]
        return Report(self.ok, len(self.calls), outcomes, plan)


class Repo:
    """The fleet's origin: a bare repository that the tests commit to directly, one
    `git fast-import` a commit (a working tree, its commit and a push were four git processes a
    commit, and each test a working tree of its own to copy)."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "origin.git"

    @classmethod
    def create(cls, root: Path) -> Repo:
        repo = cls(root)
        git(root, "init", "--quiet", "--bare", str(repo.bare))
        return repo

    def copy(self, root: Path) -> Repo:
        """The repository, copied under root. git never rewrites an object or pack file in
        place, so those are hard links: the copy costs a few small files instead of every
        object."""

        def link_objects(source: str, target: str) -> None:
            if f"{os.sep}objects{os.sep}" in source:
                os.link(source, target)
            else:
                shutil.copy2(source, target)

        copy = Repo(root)
        shutil.copytree(self.bare, copy.bare, symlinks=True, copy_function=link_objects)
        return copy

    def commit(
        self, files: dict[str, str], message: str, *sign: str, branch: str = "main",
        parent: str | None = "main", force: bool = False,
    ) -> str:  # fmt: skip
        """A commit of parent's files with files (path -> text) written over them, made the
        head of branch (force: even when that is no fast-forward); its id. sign: git options
        that name a signing key, for a commit signed with it."""
        committer = f"committer t <t@example.com> {int(time.time())} +0000"
        stream = [f"commit refs/heads/{branch}", "mark :1", committer, *_data(message)]
        if parent is not None:
            stream.append(f"from {parent}^0")  # ^0: a branch may not start from itself
        for name, text in files.items():
            stream += [f"M 100644 inline {name}", *_data(text)]
        stream.append("get-mark :1")
        flags = ["--quiet", *(["--force"] if force else [])]
        made = git(self.bare, "fast-import", *flags, stdin="\n".join(stream).encode() + b"\n")
        if not sign:
            return made
        signed = git(self.bare, *sign, "commit-tree", "-S", "-p", f"{made}^", "-m", message,
                     f"{made}^{{tree}}")  # fmt: skip
        git(self.bare, "update-ref", f"refs/heads/{branch}", signed)
        return signed

    def head(self, branch: str = "main") -> str:
        return git(self.bare, "rev-parse", f"refs/heads/{branch}")

    def show(self, path: str, branch: str = "main") -> str:
        return git(self.bare, "show", f"refs/heads/{branch}:{path}")


def _data(text: str) -> list[str]:
    """fast-import's `data` command: the length in bytes, then the text."""
    return [f"data {len(text.encode())}", text]


@pytest.fixture(scope="module", autouse=True)
def _lean_git(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every repository here, the tests' and the checkouts pull makes, starts from an empty
    template: git's sample hooks are a dozen files per repository to write and remove again, and
    neither the tests nor pull use them. Nor do they need the `git maintenance run --auto` that
    each fetch starts afterwards (a process of five a fetch)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GIT_TEMPLATE_DIR", str(tmp_path_factory.mktemp("git-template")))
        for name, value in {"COUNT": "1", "KEY_0": "maintenance.auto", "VALUE_0": "false"}.items():
            patch.setenv(f"GIT_CONFIG_{name}", value)
        yield


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """The fleet every test starts from, committed once per module. Tests that only pull from
    it share it as it is: they must not commit to it (see repo)."""
    r = Repo.create(tmp_path_factory.mktemp("fleet"))
    r.commit({"fleet.toml": FLEET, "groups/web/web.toml": WEB,
              "base/vars.toml": ""}, "first", parent=None)  # fmt: skip
    r.commit({"fleet.toml": FLEET.replace("[host.web-1]", "[defaults]\nport = 80\n[host.web-1]")},
             "port")  # fmt: skip
    return r


@pytest.fixture
def repo(tmp_path: Path, origin: Repo) -> Repo:
    """A copy of origin of the test's own, to commit to."""
    return origin.copy(tmp_path)


def settings(tmp_path: Path, repo: Repo, host: str = "web-1", **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "url": str(repo.bare), "branch": None, "state_dir": str(tmp_path / "state"),
        "hostname": host, "machine_id": None,
    }  # fmt: skip
    values.update(extra)
    return Settings(**values)


def run(s: Settings, apply: Apply) -> PullStatus:
    return pull(s, apply, lambda _: None)


def test_a_first_pull_applies_the_host_s_merged_units_and_writes_status_and_metrics(
    tmp_path: Path, origin: Repo
) -> None:
    apply = Apply()
    status = run(settings(tmp_path, origin), apply)
    assert status.result == "ok" and status.host == "web-1"
    assert list(apply.calls[0]) == ["web.service"]
    assert '"-p" 80' in apply.calls[0]["web.service"] or " -p 80" in apply.calls[0]["web.service"]
    written = json.loads((tmp_path / "state" / "pull-status.json").read_text())
    assert written["commit"] == origin.head() and written["result"] == "ok"
    metrics = (tmp_path / "state" / "orchestrator.prom").read_text()
    assert 'orchestrator_pull_success{host="web-1",branch="main"' in metrics
    assert metrics.rstrip().endswith("orchestrator_drift_units 0")
    assert oct((tmp_path / "state" / "pull-status.json").stat().st_mode & 0o777) == "0o600"


def test_a_force_pushed_branch_is_refused_and_nothing_is_applied(
    tmp_path: Path, repo: Repo
) -> None:
    s = settings(tmp_path, repo)
    assert run(s, Apply()).result == "ok"
    repo.commit({"base/other.toml": "[volume.v]\n"}, "rewritten", parent="main~1", force=True)
    apply = Apply()
    status = run(s, apply)
    assert status.result == "refused" and "not a fast-forward" in status.message
    assert apply.calls == []


def test_only_commits_signed_by_an_allowed_key_are_applied(tmp_path: Path, repo: Repo) -> None:
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    signers = tmp_path / "allowed_signers"
    signers.write_text(f"t@example.com {(tmp_path / 'key.pub').read_text()}")
    s = settings(tmp_path, repo, allowed_signers=str(signers))
    unsigned = run(s, Apply())
    assert unsigned.result == "refused" and "not signed" in unsigned.message
    sign = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={key}"]
    repo.commit({"base/v.toml": "[volume.data]\n"}, "signed", *sign)
    apply = Apply()
    assert run(s, apply).result == "ok"
    assert "data-volume.service" in apply.calls[0]


def test_a_host_in_a_ring_follows_the_ring_s_branch(tmp_path: Path, repo: Repo) -> None:
    repo.commit({"hosts/web-2/extra.toml": "[volume.canary]\n"}, "canary only", branch="canary")
    canary, stable = Apply(), Apply()
    assert run(settings(tmp_path / "a", repo, "web-2"), canary).branch == "canary"
    assert run(settings(tmp_path / "b", repo, "web-1"), stable).branch == "main"
    assert "canary-volume.service" in canary.calls[0]
    assert "canary-volume.service" not in stable.calls[0]


def test_a_host_not_in_the_fleet_applies_nothing_and_says_so(tmp_path: Path, origin: Repo) -> None:
    apply = Apply()
    status = run(settings(tmp_path, origin, "db-9"), apply)
    assert status.result == "unmatched" and "not in fleet.toml" in status.message
    assert apply.calls == []


def test_a_failed_commit_is_not_retried_the_last_good_one_is_kept(
    tmp_path: Path, repo: Repo
) -> None:
    s = settings(tmp_path, repo)
    good = repo.head()
    assert run(s, Apply()).result == "ok"
    repo.commit({"base/v.toml": "[volume.broken]\n"}, "breaks")
    assert run(s, Apply(ok=False)).result == "failed"
    again = Apply()
    status = run(s, again)
    assert status.commit == good
    assert "broken-volume.service" not in again.calls[0]


def test_drift_on_an_unchanged_commit_is_reported(tmp_path: Path, origin: Repo) -> None:
    s = settings(tmp_path, origin)
    run(s, Apply())
    status = run(s, Apply(drifted=["web.service"]))
    assert status.result == "ok" and status.drift == ["web.service"]
    assert "orchestrator_drift_units 1" in (tmp_path / "state" / "orchestrator.prom").read_text()


def test_invalid_definitions_change_nothing_and_are_reported(tmp_path: Path, repo: Repo) -> None:
    repo.commit({"hosts/web-1/bad.toml": '[container.web]\nports = ["80:eighty"]\n'}, "bad")
    apply = Apply()
    status = run(settings(tmp_path, repo), apply)
    assert status.result == "invalid" and "hosts/web-1/bad.toml" in status.message
    assert apply.calls == []
    assert (status.host, status.branch, status.commit) == ("web-1", "main", repo.head())


def test_a_refused_unsigned_commit_is_named_in_the_status(tmp_path: Path, origin: Repo) -> None:
    signers = tmp_path / "allowed_signers"
    signers.write_text("")
    status = run(settings(tmp_path, origin, allowed_signers=str(signers)), Apply())
    assert status.result == "refused" and (status.branch, status.fetched) == ("main", origin.head())
    written = json.loads((tmp_path / "state" / "pull-status.json").read_text())
    assert written["fetched"] == origin.head()


def test_an_unreachable_repository_is_an_error_in_the_status_file(tmp_path: Path) -> None:
    s = Settings(url=str(tmp_path / "nowhere.git"), branch=None, state_dir=str(tmp_path / "s"),
                 hostname="web-1", machine_id=None)  # fmt: skip
    status = pull(s, Apply(), lambda _: None)
    assert status.result == "error"
    assert json.loads((tmp_path / "s" / "pull-status.json").read_text())["result"] == "error"


def test_a_pull_killed_mid_checkout_is_recovered_by_the_next(tmp_path: Path, repo: Repo) -> None:
    s = settings(tmp_path, repo)
    assert run(s, Apply()).result == "ok"
    (Path(s.checkout) / ".git" / "index.lock").write_text("")  # what a killed git leaves
    new = repo.commit({"base/v.toml": "[volume.data]\n"}, "more")
    status = run(s, Apply())
    assert status.result == "ok" and status.commit == new


def test_a_checkout_that_is_no_repository_any_more_is_started_afresh(
    tmp_path: Path, origin: Repo
) -> None:
    s = settings(tmp_path, origin)
    assert run(s, Apply()).result == "ok"
    (Path(s.checkout) / ".git" / "HEAD").unlink()  # a pull killed while git init wrote it
    apply = Apply()
    assert run(s, apply).result == "ok" and apply.calls


def test_a_pull_killed_during_its_apply_applies_the_commit_again_next_time(
    tmp_path: Path, origin: Repo
) -> None:
    s = settings(tmp_path, origin)

    def killed(units: dict[str, str], sources: list[str], note: str) -> Report:
        raise KeyboardInterrupt  # stands for SIGTERM/SIGKILL half-way through the apply

    with pytest.raises(KeyboardInterrupt):
        pull(s, killed, lambda _: None)
    assert not (tmp_path / "state" / "pull.json").exists()
    apply = Apply()
    status = run(s, apply)
    assert status.result == "ok" and apply.calls and status.drift == []
    memory = json.loads((tmp_path / "state" / "pull.json").read_text())
    assert memory["applied"] == status.commit


def test_a_dry_run_pull_does_not_count_as_applied(tmp_path: Path, origin: Repo) -> None:
    s = settings(tmp_path, origin)

    def dry(units: dict[str, str], sources: list[str], note: str) -> Report:
        report = Apply()(units, sources, note)
        report.dry_run = True  # type: ignore[attr-defined]
        return report

    assert pull(s, dry, lambda _: None).result == "ok"
    assert not (tmp_path / "state" / "pull.json").exists()


def test_a_host_kept_on_its_last_good_commit_says_which_head_failed(
    tmp_path: Path, repo: Repo
) -> None:
    s = settings(tmp_path, repo)
    good = repo.head()
    run(s, Apply())
    bad = repo.commit({"base/v.toml": "[volume.broken]\n"}, "breaks")
    run(s, Apply(ok=False))
    status = run(s, Apply())
    assert (status.commit, status.fetched) == (good, bad)
    assert f"{bad[:12]} failed before" in status.message


def test_the_generation_note_names_the_branch_and_the_commit(tmp_path: Path, origin: Repo) -> None:
    notes: list[str] = []

    def noting(units: dict[str, str], sources: list[str], note: str) -> Report:
        notes.append(note)
        return Apply()(units, sources, note)

    status = pull(settings(tmp_path, origin), noting, lambda _: None)
    assert notes == [f"pull main {status.commit[:12]}"]


def test_a_pull_while_another_pull_runs_raises_busy_and_writes_nothing(
    tmp_path: Path, origin: Repo
) -> None:
    from orchestrator.host import lock

    s = settings(tmp_path, origin)
    with lock.exclusive(s.state_dir, "pull"), pytest.raises(lock.BusyError, match="pull"):
        run(s, Apply())
    assert not (tmp_path / "state" / "pull-status.json").exists()


def test_a_user_mode_pull_renders_user_units(tmp_path: Path, origin: Repo) -> None:
    system, user = Apply(), Apply()
    run(settings(tmp_path / "s", origin), system)
    run(settings(tmp_path / "u", origin, mode="user"), user)
    assert "WantedBy=multi-user.target" in system.calls[0]["web.service"]
    assert "WantedBy=default.target" in user.calls[0]["web.service"]


# one sample line of the text exposition format: name, optional labels with escaped values, value
SAMPLE = re.compile(
    r'[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_]\w*="(?:[^"\\\n]|\\[\\"n])*"'
    r'(,[a-zA-Z_]\w*="(?:[^"\\\n]|\\[\\"n])*")*\})? -?[0-9.e+]+'
)


def test_the_metrics_file_stays_valid_whatever_the_branch_is_called() -> None:
    status = PullStatus("refused", "x", branch='we"ird\\ring\nx', host="web-1", commit="a" * 40)
    text = prometheus(status)
    for line in text.splitlines():
        assert line.startswith("# ") or SAMPLE.fullmatch(line), line
    assert 'branch="we\\"ird\\\\ring\\nx"' in text


@pytest.fixture
def gpg_homes() -> Iterator[tuple[Path, Path]]:
    """A GnuPG home with a throw-away signing key, and one holding only its public key; the
    agents gpg starts for them are stopped afterwards. The homes are short paths of their own:
    gpg-agent's sockets live in them, and a socket's path may not exceed 107 bytes (a deep
    tmp_path made the agent fail to start)."""
    base = Path(tempfile.mkdtemp(prefix="gpg", dir="/tmp" if os.path.isdir("/tmp") else None))
    sign, keyring = base / "s", base / "k"
    for home in (sign, keyring):
        home.mkdir(mode=0o700)
    gpg = ["gpg", "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", ""]
    try:
        subprocess.run([*gpg, "--homedir", str(sign), "--quick-gen-key", "T <t@example.com>",
                        "ed25519", "sign", "never"], check=True, capture_output=True)  # fmt: skip
        public = subprocess.run(["gpg", "--homedir", str(sign), "--export", "t@example.com"],
                                check=True, capture_output=True).stdout  # fmt: skip
        subprocess.run(["gpg", "--batch", "--quiet", "--homedir", str(keyring), "--import"],
                       input=public, check=True, capture_output=True)  # fmt: skip
        yield sign, keyring
    finally:
        for home in (sign, keyring):
            subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)
        shutil.rmtree(base, ignore_errors=True)


def test_only_commits_signed_by_a_key_in_the_gpg_home_are_applied(
    tmp_path: Path, repo: Repo, gpg_homes: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    sign, keyring = gpg_homes
    s = settings(tmp_path, repo, gpg_home=str(keyring))
    unsigned = run(s, Apply())
    assert unsigned.result == "refused" and "not signed" in unsigned.message
    monkeypatch.setenv("GNUPGHOME", str(sign))  # the signer's keys, for the commit only
    repo.commit({"base/v.toml": "[volume.data]\n"}, "signed", "-c", "user.signingkey=t@example.com")
    monkeypatch.delenv("GNUPGHOME")
    apply = Apply()
    assert run(s, apply).result == "ok"
    assert "data-volume.service" in apply.calls[0]


def test_the_pull_timer_passes_the_signature_check_on() -> None:
    from orchestrator.host.selfunits import PullSettings

    argv = PullSettings(repo="/srv/fleet.git", gpg_home="/etc/orchestrator/gpg").argv(user=False)
    assert argv[-2:] == ["--gpg-home", "/etc/orchestrator/gpg"]
    ssh = PullSettings(repo="/srv/fleet.git", allowed_signers="/etc/ssh/signers").argv(user=False)
    assert ssh[-2:] == ["--allowed-signers", "/etc/ssh/signers"]


def test_an_unsigned_main_cannot_send_a_host_to_another_ring_s_branch(
    tmp_path: Path, repo: Repo
) -> None:
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    signers = tmp_path / "allowed_signers"
    signers.write_text(f"t@example.com {(tmp_path / 'key.pub').read_text()}")
    sign = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={key}"]
    repo.commit({"base/v.toml": "[volume.other]\n"}, "signed, on another branch", *sign,
                branch="other")  # fmt: skip
    fleet = repo.show("fleet.toml")
    repo.commit({"fleet.toml": fleet.replace("[host.web-1]\n", '[host.web-1]\nring = "other"\n')},
                "unsigned: web-1 follows other")  # fmt: skip
    apply = Apply()
    status = run(settings(tmp_path, repo, allowed_signers=str(signers)), apply)
    assert status.result == "refused" and status.branch == "main", status
    assert apply.calls == []
