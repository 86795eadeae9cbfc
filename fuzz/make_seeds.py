#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/seeds/TARGET/) from the test vectors: every
hex("..") frame of the drivers' frame-vector and scripted-client tests (byte frames from the
manuals and from independent implementations), the shipped example config and the rule
conditions of docs/RULES.md. Run it again when those change; the seeds are committed."""
import hashlib
import pathlib
import re

root = pathlib.Path(__file__).resolve().parent.parent
seeds = root / "fuzz" / "seeds"


def put(target, data):
    d = seeds / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


def hex_frames(*paths):
    for p in paths:
        text = (root / p).read_text()
        for m in re.finditer(r'hex\("([0-9A-Fa-f |]+)"\)', text):
            digits = m.group(1).replace("|", " ").split()
            yield bytes(int(b, 16) for b in digits)


for f in hex_frames("drivers/s7/tests/frame_vectors.rs", "drivers/s7/tests/client_fragments.rs"):
    put("s7_frames", f)
    put("s7_records", f)
for f in hex_frames("drivers/melsec/tests/frame_vectors.rs", "drivers/melsec/tests/client_scripted.rs"):
    put("mc_frames", f)
# CC-Link: a shape byte, then SW words with stations 3 and 64 in SW0080/SW0083 (manual §1.8).
sw = [0] * 0x100
sw[0x80], sw[0x83] = 0x0004, 0x8000
words = b"".join(w.to_bytes(2, "little") for w in sw + [0] * 0x40)
for shape in (0, 1, 2 | (8 << 2), 3 | (4 << 2)):
    put("cclink_status", bytes([shape]) + words)
# Modbus: a shape byte (type, byte and word order), then registers.
for shape in range(0, 64, 7):
    put("modbus_values", bytes([shape]) + bytes.fromhex("41480000 3F800000 00000001"))
for p in ("examples/plcdiag.toml",):
    put("config", (root / p).read_bytes())
rules = (root / "docs" / "RULES.md").read_text()
for m in re.finditer(r'^when = ["\'](.+)["\']$', rules, re.M):
    put("rule_expr", m.group(1).encode())
for q in ("2026-11-25T08:00:00Z", "1700000000000", "2026-11-25T08:00", "1700000000000-42",
          "-8334601228800000", "4"):
    put("api_query", q.encode())
