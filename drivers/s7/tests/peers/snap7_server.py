"""Interop peer: the native Snap7 server bundled in python-snap7 2.0.2 (tests/snap7_peer.rs).

Binds 127.0.0.1 on a free non-privileged port, prints ``PORT <n>`` once listening, then reads
commands from stdin: ``stop`` / ``run`` set the CPU status (4 / 8) that SZL 0x0424 reports;
``OK`` is printed after each command. EOF on stdin stops the server.
"""

import socket
import sys

import snap7
from snap7.server import Server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    server = Server(log=False)
    # A DB so that read-var has something to read (DB1, 64 bytes, bytes 0..63).
    import ctypes

    db1 = (ctypes.c_uint8 * 64)(*range(64))
    server.register_area(snap7.type.SrvArea.DB, 1, db1)
    last_error = None
    for _ in range(20):
        port = free_port()
        try:
            server.start_to("127.0.0.1", tcp_port=port)
        except Exception as e:  # port taken meanwhile: retry with another one
            last_error = e
            continue
        break
    else:
        print(f"ERROR could not start: {last_error}", flush=True)
        return 1
    print(f"PORT {port}", flush=True)
    for line in sys.stdin:
        cmd = line.strip().lower()
        if cmd == "stop":
            server.set_cpu_status(4)
        elif cmd == "run":
            server.set_cpu_status(8)
        elif cmd == "":
            continue
        else:
            print(f"ERROR unknown command {cmd}", flush=True)
            continue
        print("OK", flush=True)
    server.stop()
    server.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
