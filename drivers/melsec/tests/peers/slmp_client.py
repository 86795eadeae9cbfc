"""Independent MC/SLMP client for plcdiag's MELSEC simulator: the Python package
plc-comm-slmp 5.2.0 (reference melsec-cclink.md §4.1).

Usage: slmp_client.py PORT tcp|udp 3e|4e [iq-r]

Profiles: `melsec:qnu` (QnU built-in port, 3E, Q/L device specification) and
`melsec:qnu:qj71e71-100` (QJ71E71-100, 4E, Q/L specification); with `iq-r`, `melsec:iq-r`
(4E, iQ-R specification, subcommands 0002/0003). Reads SW0080 x 4, SB0040.. as 6 words,
D100..D109, M20..M27 (bits), SD0..SD4, SD203, a random read of SW0080/SW0090 + D100 as a
double word, and then sends one write (D0) expecting it to be refused. Prints one JSON object.
"""

import json
import sys

from slmp import SlmpClient, SlmpError, SlmpTarget


def main() -> int:
    port = int(sys.argv[1])
    transport = sys.argv[2]
    frame = sys.argv[3]
    iqr = len(sys.argv) > 4 and sys.argv[4] == "iq-r"
    if iqr:
        profile = "melsec:iq-r"
    elif frame == "3e":
        profile = "melsec:qnu"
    else:
        profile = "melsec:qnu:qj71e71-100"
    target = SlmpTarget(network=0x00, station=0xFF, module_io=0x03FF, multidrop=0x00)
    out = {"client": "plc-comm-slmp", "profile": profile, "transport": transport}
    with SlmpClient(
        "127.0.0.1",
        port,
        transport=transport,
        default_target=target,
        plc_profile=profile,
        timeout=5.0,
    ) as client:
        out["frame"] = str(client.frame_type.value).upper()
        out["sw0080"] = client.read_devices("SW0080", 4, bit_unit=False)
        out["sb0040_words"] = client.read_devices("SB0040", 6, bit_unit=False)
        out["d100"] = client.read_devices("D100", 10, bit_unit=False)
        out["m20"] = [bool(b) for b in client.read_devices("M20", 8, bit_unit=True)]
        out["sd0"] = client.read_devices("SD0", 5, bit_unit=False)
        out["sd203"] = client.read_devices("SD203", 1, bit_unit=False)[0]
        random = client.read_random(word_devices=["SW0080", "SW0090"], dword_devices=["D100"])
        # Keys are the client's normalised device names; the order is the request's.
        out["random_words"] = list(random.word.values())
        out["random_dword"] = list(random.dword.values())[0]
        try:
            client.write_devices("D0", [1], bit_unit=False)
            out["write_end_code"] = 0
        except SlmpError as error:
            out["write_end_code"] = error.end_code
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
