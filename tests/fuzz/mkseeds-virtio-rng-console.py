#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the hand-made seeds in tests/fuzz/corpus/virtio-rng-console/ (input
format: tests/fuzz/fuzz_virtio_rng_console.c). The rings sit where the
target's fake_virtio_start puts them: rng queue 0 at 0x1000/0x2000/0x3000,
console receiveq at 0x4000.., transmitq at 0x7000... Run from the
repository root."""
import os
import struct

RAM_DATA, RAM_SIZE = 0x1000, 0x10000
RNG, RXQ, TXQ = (0x1000, 0x2000, 0x3000), (0x4000, 0x5000, 0x6000), (0x7000, 0x8000, 0x9000)
WRITE, NEXT, INDIRECT = 2, 1, 4
OP = dict(rng_kick=0, rx_kick=1, tx_kick=2, input=3, rng_reset=4, con_reset=5, scribble=6)


class Ram:
    def __init__(self):
        self.b = bytearray(RAM_SIZE - RAM_DATA)

    def put(self, gpa, data):
        self.b[gpa - RAM_DATA:gpa - RAM_DATA + len(data)] = data

    def desc(self, table, i, addr, length, flags, nxt=0):
        self.put(table + 16 * i, struct.pack('<QIHH', addr, length, flags, nxt))

    def avail(self, q, heads):
        self.put(q[1], struct.pack('<HH', 0, len(heads)) + b''.join(struct.pack('<H', h) for h in heads))


def op(name, arg=0):
    return OP[name] | (arg << 3)


def seed(rng_feat, con_feat, ops, ram):
    ops = bytes(ops) + bytes([7] * (30 - len(ops)))  # 7: no op
    assert len(ops) == 30
    # RAM past the input stays zero in the target: trailing zeros need no bytes.
    return bytes([rng_feat, con_feat]) + ops + bytes(ram.b).rstrip(b'\0')


def basic():
    r = Ram()
    r.desc(RNG[0], 0, 0xA000, 64, WRITE)
    r.avail(RNG, [0])
    r.put(0xB000, b'hello, world\n')
    r.desc(TXQ[0], 0, 0xB000, 13, 0)
    r.avail(TXQ, [0])
    r.desc(RXQ[0], 0, 0xC000, 16, WRITE)
    r.desc(RXQ[0], 1, 0xC100, 16, WRITE)
    r.avail(RXQ, [0, 1])
    return seed(0, 0, [op('rng_kick'), op('tx_kick'), op('rx_kick'), op('input', 20), op('rx_kick'),
                       op('tx_kick'), op('con_reset'), op('input', 3), op('rng_reset', 3),
                       op('rng_kick')], r)


def indirect():
    r = Ram()
    r.desc(RNG[0], 0, 0xA800, 32, INDIRECT)
    r.desc(0xA800, 0, 0xA000, 100, WRITE | NEXT, 1)
    r.desc(0xA800, 1, 0xB000, 5000, WRITE)
    r.avail(RNG, [0])
    r.desc(TXQ[0], 0, 0xE000, 48, INDIRECT)
    for i in range(3):
        r.desc(0xE000, i, 0xD000 + 16 * i, 16, NEXT if i < 2 else 0, i + 1)
    r.put(0xD000, b'indirect output, three parts\n'.ljust(48, b'.'))
    r.avail(TXQ, [0])
    return seed(3, 3, [op('rng_kick'), op('tx_kick'), op('input', 7), op('rx_kick')], r)


def flood():
    r = Ram()
    for i in range(64):
        r.desc(TXQ[0], i, 0xA000, 0x1000, 0)
        r.desc(RNG[0], i, 0xA000 + 0x100 * (i % 16), 0x4000, WRITE)
    r.avail(TXQ, list(range(64)))
    r.avail(RNG, list(range(64)))
    return seed(1, 1, [op('rng_kick'), op('rng_kick'), op('tx_kick'), op('tx_kick'), op('tx_kick')], r)


if __name__ == '__main__':
    d = 'tests/fuzz/corpus/virtio-rng-console'
    os.makedirs(d, exist_ok=True)
    for name, fn in (('basic', basic), ('indirect', indirect), ('flood', flood)):
        with open(os.path.join(d, name), 'wb') as f:
            f.write(fn())
