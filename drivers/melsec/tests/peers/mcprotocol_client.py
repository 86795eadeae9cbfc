"""Independent MC protocol client for plcdiag's MELSEC simulator: the Python package
pymcprotocol 0.3.0, binary mode only (its ASCII mode encodes hexadecimal devices in decimal,
reference melsec-cclink.md §4.1), TCP.

Usage: mcprotocol_client.py PORT 3e|4e

Reads SW0080 x 4, SB0040.. as 6 words, D100..D109, M20..M27 (bits), SD0..SD4, SD203 and a
random read of SW0080/SW0090 + D100 as a double word, then sends one write (D0) expecting
it to be refused. pymcprotocol returns signed words; they are printed as read (the Rust test
masks them). Prints one JSON object.
"""

import json
import sys

import pymcprotocol
from pymcprotocol.mcprotocolerror import MCProtocolError, UnsupportedComandError


def main() -> int:
    port = int(sys.argv[1])
    frame = sys.argv[2]
    plc = pymcprotocol.Type4E("Q") if frame == "4e" else pymcprotocol.Type3E("Q")
    plc.setaccessopt(commtype="binary")
    plc.soc_timeout = 5
    plc.connect("127.0.0.1", port)
    out = {"client": "pymcprotocol", "frame": frame}
    try:
        out["sw0080"] = plc.batchread_wordunits("SW0080", 4)
        out["sb0040_words"] = plc.batchread_wordunits("SB0040", 6)
        out["d100"] = plc.batchread_wordunits("D100", 10)
        out["m20"] = [bool(b) for b in plc.batchread_bitunits("M20", 8)]
        out["sd0"] = plc.batchread_wordunits("SD0", 5)
        out["sd203"] = plc.batchread_wordunits("SD203", 1)[0]
        words, dwords = plc.randomread(["SW0080", "SW0090"], ["D100"])
        out["random_words"] = words
        out["random_dword"] = dwords[0]
        try:
            plc.batchwrite_wordunits("D0", [1])
            out["write_end_code"] = 0
        except UnsupportedComandError:
            # pymcprotocol raises this for end code C059 and keeps no code.
            out["write_end_code"] = 0xC059
        except MCProtocolError as error:
            out["write_end_code"] = int(error.errorcode, 16)
    finally:
        plc.close()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
