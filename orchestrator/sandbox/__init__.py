"""The throw-away systemd with real podman that tests and `orchestrator sandbox` run in."""
