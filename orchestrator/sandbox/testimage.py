"""The local test image: busybox-static in an otherwise empty root file system, so containers run
without any registry. `orchestrator sandbox image` imports it into the host's podman; sandboxes
import it into their own storage."""

from __future__ import annotations

import io
import os
import struct
import tarfile
from pathlib import Path

from orchestrator.errors import UsageError
from orchestrator.host import runner

DEFAULT_REF = "localhost/busybox:test"
BUSYBOX = "/bin/busybox"
_ETC = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    "etc/group": "root:x:0:\nnogroup:x:65534:\n",
    "etc/hosts": "127.0.0.1 localhost\n",
}


def applets() -> list[str]:
    if not os.path.exists(BUSYBOX):
        raise UsageError(f"{BUSYBOX} is missing: apt-get install busybox-static (scripts/setup)")
    listing = runner.run([BUSYBOX, "--list"]).stdout.split()
    return sorted(a for a in listing if a and "/" not in a and a != "busybox")


def is_static(elf: bytes) -> bool:
    """True for a 64-bit little-endian ELF without a program interpreter (PT_INTERP)."""
    if elf[:5] != b"\x7fELF\x02" or elf[5] != 1:
        return False
    offset = struct.unpack_from("<Q", elf, 0x20)[0]
    size, count = struct.unpack_from("<HH", elf, 0x36)
    kinds = [struct.unpack_from("<I", elf, offset + i * size)[0] for i in range(count)]
    return 3 not in kinds  # PT_INTERP


def write_rootfs(archive: Path) -> None:
    """A tar of /bin/busybox, a symlink per applet, and the directories a program expects."""
    with open(BUSYBOX, "rb") as handle:
        binary = handle.read()
    if not is_static(binary):
        raise UsageError(f"{BUSYBOX} is dynamically linked: install busybox-static")
    with tarfile.open(archive, "w") as tar:
        for directory in ("bin", "etc", "tmp", "root", "srv", "var", "proc", "sys", "dev", "run"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
            tar.addfile(info)
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode = len(binary), 0o755
        tar.addfile(info, io.BytesIO(binary))
        for applet in applets():
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
        for name, text in _ETC.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))


def import_argv(archive: Path, reference: str) -> list[str]:
    return ["podman", "import", "--quiet", "--change", 'CMD ["/bin/sh"]', str(archive), reference]
