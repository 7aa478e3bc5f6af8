"""The pure core: definitions in, unit texts and plans out. Reads definition files and nothing
else of the host (see docs/architecture.md)."""
