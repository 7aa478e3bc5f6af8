"""Characters a unit file cannot carry, for strategies that generate what it can."""

# systemd refuses a line holding a Unicode noncharacter: U+FDD0..U+FDEF and the last two code
# points of every plane.
NONCHARACTERS = "".join(chr(c) for c in range(0xFDD0, 0xFDF0)) + "".join(
    chr(plane | last) for plane in range(0, 0x110000, 0x10000) for last in (0xFFFE, 0xFFFF)
)
