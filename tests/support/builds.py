"""The inputs of [build.X] and [kube.X] as the tests write them: a build context whose
Containerfile copies one file into an image FROM the test image, and a pod of one container."""

from __future__ import annotations

from pathlib import Path

from orchestrator.sandbox.testimage import DEFAULT_REF


def write_context(directory: Path, message: str, *, copy_to: str = "/msg") -> Path:
    """directory (made if need be) with a Containerfile FROM the test image that copies the file
    msg, holding message, to copy_to: a change of msg is a change of the build's inputs."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Containerfile").write_text(f"FROM {DEFAULT_REF}\nCOPY msg {copy_to}\n")
    (directory / "msg").write_text(message)
    return directory


def pod_yaml(*more: str) -> str:
    """Kubernetes YAML of the pod "demo", whose one container "web" runs the test image; more:
    further lines of that container, as `key: value` written at its level."""
    lines = [
        "apiVersion: v1",
        "kind: Pod",
        "metadata:",
        "  name: demo",
        "spec:",
        "  containers:",
        "  - name: web",
        f"    image: {DEFAULT_REF}",
        *(f"    {line}" for line in more),
    ]
    return "\n".join(lines) + "\n"
