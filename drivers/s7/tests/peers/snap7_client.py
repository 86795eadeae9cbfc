"""Independent S7 client for plcdiag's S7 simulator tests: python-snap7 3.3.0 (pure Python).

Usage: snap7_client.py PORT SZL_ID[:INDEX] [SZL_ID[:INDEX] ...]   (IDs and indexes in hex)

Connects to 127.0.0.1:PORT as rack 0 / slot 2 and reads each SZL with `Client.read_szl`,
which sends the follow-up requests of fragmented answers itself. Prints one JSON object:
{"pdu": <negotiated PDU>, "reads": [{"id": "00a0", "index": "0000", "ok": true,
"data": "<hex of LENTHDR, N_DR and records>"} | {"id": ..., "ok": false, "error": "..."}]}.
Deliberately unused (broken in 3.3.0, reference s7.md §8.2): get_cpu_state(),
read_diagnostic_buffer().
"""

import json
import sys

import snap7


def main() -> int:
    port = int(sys.argv[1])
    client = snap7.client.Client()
    client.connect("127.0.0.1", 0, 2, tcp_port=port)
    out = {"pdu": client.get_pdu_length(), "reads": []}
    try:
        for arg in sys.argv[2:]:
            szl_id, _, index = arg.partition(":")
            szl_id, index = int(szl_id, 16), int(index or "0", 16)
            read = {"id": f"{szl_id:04x}", "index": f"{index:04x}"}
            try:
                szl = client.read_szl(szl_id, index)
                data = bytes(szl.Data[: szl.Header.LengthDR])
                read.update(ok=True, data=data.hex())
            except Exception as error:  # the test asserts on refusals
                read.update(ok=False, error=f"{type(error).__name__}: {error}")
            out["reads"].append(read)
    finally:
        client.disconnect()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
