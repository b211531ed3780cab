#!/usr/bin/env python3
"""An independent MAVLink peer for Airlock's tests, built on pymavlink.

  stream BYTES_OUT COUNTS_OUT SEED   make a pty, print its path, wait for "go" on stdin, write a
                                     mixed stream (v1, v2, signed v2, garbage, broken CRCs) into
                                     it, save the exact bytes and the count of valid frames per
                                     message type, print "done", wait for stdin to close
  count TLOG                         print {name: count} of a tlog as pymavlink reads it
  write-tlog OUT SEED                write a tlog of many message types, as pymavlink does
"""
import json
import os
import random
import struct
import sys
import time
import tty

os.environ.setdefault("MAVLINK20", "1")
from pymavlink import mavutil  # noqa: E402
from pymavlink.dialects.v10 import ardupilotmega as v1  # noqa: E402
from pymavlink.dialects.v20 import ardupilotmega as v2  # noqa: E402

INT_RANGES = {
    "int8_t": (-128, 127), "uint8_t": (0, 255), "int16_t": (-32768, 32767),
    "uint16_t": (0, 65535), "int32_t": (-2**31, 2**31 - 1), "uint32_t": (0, 2**32 - 1),
    "int64_t": (-2**63, 2**63 - 1), "uint64_t": (0, 2**64 - 1),
}


class Sink:
    def write(self, data):
        pass


def random_value(rng, ftype):
    if ftype in INT_RANGES:
        lo, hi = INT_RANGES[ftype]
        return rng.randint(lo, hi)
    if ftype in ("float", "double"):
        return rng.uniform(-1000.0, 1000.0)
    raise ValueError(ftype)


def random_message(rng, module, cls):
    args = []
    for name in cls.fieldnames:
        ftype = cls.fieldtypes[cls.fieldnames.index(name)]
        length = cls.array_lengths[cls.ordered_fieldnames.index(name)] if name in cls.ordered_fieldnames else 0
        if ftype == "char":
            size = length or 1
            args.append(bytes(rng.choice(b"ABCDEFGH xyz") for _ in range(rng.randint(0, size))))
        elif length:
            args.append([random_value(rng, ftype) for _ in range(length)])
        else:
            args.append(random_value(rng, ftype))
    return cls(*args)


def message_classes(module, max_id=None):
    classes = []
    for msgid, cls in sorted(module.mavlink_map.items()):
        if max_id is not None and msgid > max_id:
            continue
        classes.append(cls)
    return classes


def build_stream(seed, count=1500):
    rng = random.Random(seed)
    enc1 = v1.MAVLink(Sink(), srcSystem=1, srcComponent=1)
    enc2 = v2.MAVLink(Sink(), srcSystem=1, srcComponent=1)
    signer = v2.MAVLink(Sink(), srcSystem=1, srcComponent=2)
    signer.signing.secret_key = bytes(range(32))
    signer.signing.sign_outgoing = True
    signer.signing.timestamp = 1
    classes1 = message_classes(v1, max_id=255)
    classes2 = message_classes(v2)
    out = bytearray()
    counts = {}
    for _ in range(count):
        roll = rng.random()
        if roll < 0.1:
            # Garbage, with start bytes among it.
            out += bytes(rng.choice([0xFD, 0xFE, rng.randrange(256)]) for _ in range(rng.randint(1, 40)))
            continue
        if roll < 0.35:
            enc, cls = enc1, rng.choice(classes1)
        elif roll < 0.45:
            enc, cls = signer, rng.choice(classes2)
        else:
            enc, cls = enc2, rng.choice(classes2)
        try:
            msg = random_message(rng, None, cls)
            frame = bytearray(msg.pack(enc))
        except Exception:
            continue
        if rng.random() < 0.08:
            # Break its CRC: flip a bit in the payload or checksum.
            header = 6 if frame[0] == 0xFE else 10
            at = rng.randrange(header, len(frame) - (13 if frame[0] == 0xFD and frame[2] & 1 else 0))
            frame[at] ^= 1 << rng.randrange(8)
        else:
            name = msg.get_type()
            counts[name] = counts.get(name, 0) + 1
        out += frame
    return bytes(out), counts


def stream(bytes_out, counts_out, seed):
    data, counts = build_stream(int(seed))
    with open(bytes_out, "wb") as f:
        f.write(data)
    with open(counts_out, "w") as f:
        json.dump(counts, f, sort_keys=True)
    master, slave = os.openpty()
    tty.setraw(slave, tty.TCSANOW)
    print(os.ttyname(slave), flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    # Paced like a 115200 baud link, in uneven chunks.
    rng = random.Random(int(seed) + 1)
    pos = 0
    while pos < len(data):
        n = rng.randint(1, 700)
        os.write(master, data[pos:pos + n])
        pos += n
        time.sleep(n / 11520.0)
    print("done", flush=True)
    sys.stdin.read()
    os.close(master)


def count(path):
    conn = mavutil.mavlink_connection(path, dialect="ardupilotmega")
    counts = {}
    while True:
        msg = conn.recv_match()
        if msg is None:
            break
        name = msg.get_type()
        if name == "BAD_DATA":
            continue
        counts[name] = counts.get(name, 0) + 1
    print(json.dumps(counts, sort_keys=True))


def write_tlog(out, seed):
    rng = random.Random(int(seed))
    enc1 = v1.MAVLink(Sink(), srcSystem=7, srcComponent=1)
    enc2 = v2.MAVLink(Sink(), srcSystem=7, srcComponent=1)
    # pymavlink's own tlog reader loses sync after v1 frames of messages that have MAVLink 2
    # extensions, and after v1 frames shorter than a v2 header (Airlock reads both). So that a
    # comparison with it stays meaningful, this tlog uses v1 only where pymavlink copes.
    classes1 = [
        cls for cls in message_classes(v1, max_id=255)
        if cls.unpacker.size == v2.mavlink_map[cls.id].unpacker.size and cls.unpacker.size >= 4
    ]
    classes2 = message_classes(v2)
    t = 1_700_000_000.0
    with open(out, "wb") as f:
        for _ in range(3000):
            enc, classes = (enc1, classes1) if rng.random() < 0.3 else (enc2, classes2)
            try:
                frame = random_message(rng, None, rng.choice(classes)).pack(enc)
            except Exception:
                continue
            t += rng.uniform(0.0, 0.05)
            f.write(struct.pack(">Q", int(t * 1.0e6)) + frame)


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "stream":
        stream(*sys.argv[2:5])
    elif command == "count":
        count(sys.argv[2])
    elif command == "write-tlog":
        write_tlog(*sys.argv[2:4])
    else:
        sys.exit(__doc__)
