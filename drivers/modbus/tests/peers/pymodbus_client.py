#!/usr/bin/env python3
"""An independent Modbus TCP client (pymodbus 3.x) for plcdiag-modbus's peer tests.

Usage: pymodbus_client.py HOST PORT [UNIT]

Reads these 0-based ranges and prints one JSON object on stdout:

  "holding":   holding registers 0-3 (FC03)
  "input":     input registers 0-2 (FC04)
  "coils":     coils 0-9 (FC01), exactly 10 bits
  "discrete":  discrete inputs 0-4 (FC02), exactly 5 bits
  "f32_hr10":  holding 10-11 decoded with struct as an f32, high word first, big-endian
  "u32_hr20":  holding 20-21 decoded with struct as a u32, low word first, big-endian
  "hr100":     holding 100 (FC03, 1 register): {"registers": [...]} or {"exception": code}

A read that fails with an exception gives {"exception": code} in place of the list.
"""

import asyncio
import json
import struct
import sys

from pymodbus.client import AsyncModbusTcpClient


def outcome(response, field: str, count: int | None = None):
    if response.isError():
        return {"exception": response.exception_code}
    values = getattr(response, field)
    return values[:count] if count is not None else values


async def main() -> int:
    host, port = sys.argv[1], int(sys.argv[2])
    unit = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    client = AsyncModbusTcpClient(host, port=port, timeout=5, retries=0)
    if not await client.connect():
        print(json.dumps({"error": f"cannot connect to {host}:{port}"}))
        return 1
    result = {}
    result["holding"] = outcome(await client.read_holding_registers(0, count=4, device_id=unit), "registers")
    result["input"] = outcome(await client.read_input_registers(0, count=3, device_id=unit), "registers")
    result["coils"] = outcome(await client.read_coils(0, count=10, device_id=unit), "bits", 10)
    result["discrete"] = outcome(await client.read_discrete_inputs(0, count=5, device_id=unit), "bits", 5)
    f32 = await client.read_holding_registers(10, count=2, device_id=unit)
    result["f32_hr10"] = (
        {"exception": f32.exception_code}
        if f32.isError()
        else struct.unpack(">f", struct.pack(">HH", *f32.registers))[0]
    )
    u32 = await client.read_holding_registers(20, count=2, device_id=unit)
    result["u32_hr20"] = (
        {"exception": u32.exception_code}
        if u32.isError()
        else struct.unpack(">I", struct.pack(">HH", u32.registers[1], u32.registers[0]))[0]
    )
    hr100 = await client.read_holding_registers(100, count=1, device_id=unit)
    result["hr100"] = (
        {"exception": hr100.exception_code} if hr100.isError() else {"registers": hr100.registers}
    )
    client.close()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
