"""Everything that touches the host: systemd over D-Bus, podman, the journal, files under the
unit and state directories, and the one subprocess helper (see docs/architecture.md)."""
