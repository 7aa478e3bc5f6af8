"""The git command line, for `orchestrator pull`: fetch a branch into a local checkout, check
that it moves forward and is signed, and check it out. Credentials are the host's own (an SSH
deploy key, a credential helper): nothing here stores them."""

from __future__ import annotations

import glob
import os
import shutil

from orchestrator.errors import OrchestratorError
from orchestrator.host import runner

# git must never stop to ask a question: a pull runs from a timer, with nobody to answer.
_QUIET = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/false", "LC_ALL": "C"}


class GitError(OrchestratorError):
    """A fetch, a signature or a history check failed; nothing was applied."""


def _env(checkout: str) -> dict[str, str]:
    """The checkout's own .git, named: a broken one is an error, never a search upwards that
    could land in a repository around the state directory."""
    top = os.path.abspath(checkout)
    return {**os.environ, **_QUIET, "GIT_DIR": os.path.join(top, ".git"), "GIT_WORK_TREE": top}


def _git(checkout: str, *argv: str, check: bool = True, timeout: float = 300) -> str:
    try:
        result = runner.run(
            ["git", "-C", checkout, *argv], check=check, timeout=timeout, env=_env(checkout)
        )
    except runner.CommandError as exc:
        raise GitError(str(exc)) from None
    return result.stdout.strip() if result.returncode == 0 else ""


def recover(checkout: str) -> None:
    """Make a checkout that a killed pull left behind usable again; the caller holds the pull
    lock, so no git is running in it. git's own *.lock files left by a killed git are removed;
    a .git that is no repository (killed during init) is started afresh: the checkout is only a
    cache of the remote, what was applied is remembered elsewhere."""
    dot_git = os.path.join(checkout, ".git")
    if not os.path.isdir(dot_git):
        return
    for stale in glob.glob(os.path.join(dot_git, "**", "*.lock"), recursive=True):
        os.unlink(stale)
    probe = runner.run(["git", "rev-parse", "--git-dir"], check=False, env=_env(checkout))
    if probe.returncode != 0:
        shutil.rmtree(checkout)


def fetch(checkout: str, url: str, branch: str) -> str:
    """Fetch branch from url into checkout (created on first use); the fetched commit."""
    if not os.path.isdir(os.path.join(checkout, ".git")):
        os.makedirs(checkout, mode=0o700, exist_ok=True)
        _git(checkout, "init", "--quiet")
    _git(checkout, "fetch", "--quiet", "--no-tags", "--", url, f"refs/heads/{branch}")
    return _git(checkout, "rev-parse", "--verify", "FETCH_HEAD^{commit}")


def is_ancestor(checkout: str, old: str, new: str) -> bool:
    """Whether new is old or a descendant of it (a fast-forward)."""
    argv = ["git", "-C", checkout, "merge-base", "--is-ancestor", old, new]
    result = runner.run(argv, check=False, env=_env(checkout))
    if result.returncode not in (0, 1):
        raise GitError(f"cannot compare {old[:12]} with {new[:12]}: {result.stderr.strip()}")
    return result.returncode == 0


def verify(
    checkout: str, commit: str, *, allowed_signers: str | None = None, gpg_home: str | None = None
) -> str:
    """Check commit's signature: SSH against an allowed-signers file, or OpenPGP against the
    public keys in a GnuPG home directory (every key there is allowed: it holds the allowed keys
    only, so gpg's web of trust is not consulted); the signer's line."""
    env = _env(checkout)
    if gpg_home is not None:
        config = ["-c", "gpg.format=openpgp"]
        env["GNUPGHOME"] = gpg_home
    else:
        config = ["-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={allowed_signers}"]
    argv = ["git", *config, "-C", checkout, "verify-commit", "--raw", commit]
    result = runner.run(argv, check=False, env=env)
    if result.returncode != 0:
        why = (result.stderr.strip().splitlines() or ["no signature"])[-1]
        raise GitError(f"commit {commit[:12]} is not signed by an allowed key: {why}")
    return (result.stderr.strip().splitlines() or [""])[0]


def checkout(checkout_dir: str, commit: str) -> None:
    """Make the working tree exactly commit: files of other commits do not linger."""
    _git(checkout_dir, "checkout", "--quiet", "--force", "--detach", commit)
    _git(checkout_dir, "clean", "--quiet", "-d", "--force", "-x")


def subject(checkout: str, commit: str) -> str:
    return _git(checkout, "log", "-1", "--format=%s", commit, check=False)
