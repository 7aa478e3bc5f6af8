"""Declarative container definitions in TOML, turned into plain systemd units that run podman."""

__version__ = "0.1.0"
