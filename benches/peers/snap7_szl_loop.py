"""Native Snap7 client side of `cargo bench --bench s7 -- szl` (benches/s7.rs).

Usage: snap7_szl_loop.py PORT SZL_ID INDEX SECONDS   (SZL_ID and INDEX in hex)

Connects to 127.0.0.1:PORT as rack 0 / slot 2 with the native Snap7 client bundled in
python-snap7 2.0.2 (`Client.read_szl(id_, index)` calls `Cli_ReadSZL`, which also sends the
follow-ups of fragmented answers), reads the SZL once to check it, then reads it back to back
for SECONDS seconds. Prints one JSON object:

{"polls": n, "seconds": wall, "cpu_seconds": user+sys of this process, "records": N_DR of the
first answer, "bytes": LENTHDR * N_DR of the first answer, "pdu": negotiated PDU}
or {"error": "..."} if connecting or the first read fails.

CPU time is `time.process_time()` over the loop only (not the interpreter start or the
connect), so it includes the Python loop and ctypes call overhead around the native client.
"""

import json
import sys
import time

import snap7


def main() -> int:
    port, szl_id, index, seconds = (
        int(sys.argv[1]),
        int(sys.argv[2], 16),
        int(sys.argv[3], 16),
        float(sys.argv[4]),
    )
    client = snap7.client.Client()
    try:
        client.connect("127.0.0.1", 0, 2, tcp_port=port)
        first = client.read_szl(szl_id, index)
    except Exception as error:  # reported in the benchmark's table
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
        return 0
    out = {
        "records": first.Header.NDR,
        "bytes": first.Header.LengthDR * first.Header.NDR,
        "pdu": client.get_pdu_length(),
    }
    polls = 0
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    deadline = t0 + seconds
    try:
        while time.perf_counter() < deadline:
            client.read_szl(szl_id, index)
            polls += 1
    except Exception as error:
        out["error"] = f"after {polls} polls: {type(error).__name__}: {error}"
    out.update(
        polls=polls,
        seconds=time.perf_counter() - t0,
        cpu_seconds=time.process_time() - cpu0,
    )
    client.disconnect()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
