#!/usr/bin/env python3
"""An independent Modbus TCP server (pymodbus 3.x) for plcdiag-modbus's peer tests.

Binds 127.0.0.1 port 0, prints one line ``PORT <n>`` on stdout once listening, and serves
until killed. All addresses are 0-based protocol addresses. Multi-register values are
encoded here with Python's ``struct`` (not with plcdiag code), each register big-endian
(Modbus Application Protocol Specification V1.1b3 §4.2):

  holding 0      u16  0x1234 (4660)
  holding 1      i16  -2 (0xFFFE)
  holding 10-11  f32  123.456, high word first: [0x42F6, 0xE979]
  holding 20-21  u32  305419896 (0x12345678), LOW word first: [0x5678, 0x1234]
  input   0-2    u16  1, 2, 3
  coils   0-7    1 0 1 1 0 0 1 1
  discrete 0-3   0 1 0 1

Addresses not listed are undefined: pymodbus answers them with exception 0x02
(Illegal Data Address).
"""

import asyncio
import struct
import sys

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice


def words_high_first(packed: bytes) -> list[int]:
    """Split big-endian bytes into 16-bit registers, most significant first."""
    return [int.from_bytes(packed[i : i + 2], "big") for i in range(0, len(packed), 2)]


F32_REGS = words_high_first(struct.pack(">f", 123.456))
U32_REGS = list(reversed(words_high_first(struct.pack(">I", 0x12345678))))


async def main() -> None:
    device = SimDevice(
        id=0,  # answer every unit id
        simdata=(
            [SimData(0, values=[True, False, True, True, False, False, True, True], datatype=DataType.BITS)],
            [SimData(0, values=[False, True, False, True], datatype=DataType.BITS)],
            [
                SimData(0, values=[0x1234, struct.unpack(">H", struct.pack(">h", -2))[0]], datatype=DataType.REGISTERS),
                SimData(10, values=F32_REGS, datatype=DataType.REGISTERS),
                SimData(20, values=U32_REGS, datatype=DataType.REGISTERS),
            ],
            [SimData(0, values=[1, 2, 3], datatype=DataType.REGISTERS)],
        ),
    )
    server = ModbusTcpServer(device, address=("127.0.0.1", 0))
    await server.serve_forever(background=True)
    port = server.transport.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    # Serve until the test kills us (or closes our stdin).
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
