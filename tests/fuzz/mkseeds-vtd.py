#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the hand-made seeds in tests/fuzz/corpus/vtd/ (input format:
tests/fuzz/fuzz_vtd.c): flags, operation count, 12-byte operations, then
guest RAM. Each seed is a guest doing what Linux's intel-iommu does: tables
for one device and lookups through them, queued invalidation with a wait,
faults until the records overflow; replays (the range walk behind shadow
mappings) over those tables and over tables that loop. Run from the repository
root."""
import os
import struct

F_SETUP = 1
WRITE, READ, LOOKUP, FAULT, REPLAY = range(5)
RAM_SIZE = 0x10000
R, W = 1, 2
SID = 0x18                      # 00:03.0


def op(kind, off=0, size=0, arg=0):
    return struct.pack('<BHBQ', kind, off, size, arg)


def ram_tables():
    """Root at 0 (F_SETUP's RTADDR), context table at 0x1000, 4-level tables from 0x2000:
    IOVA 0x1000 -> 0x8000 (read/write), IOVA 0x2000 -> 0x9000 (read only), a 2 MiB page at
    IOVA 0x200000 -> 0; device 00:04.0 in pass-through."""
    ram = bytearray(RAM_SIZE)

    def q(addr, val):
        ram[addr:addr + 8] = struct.pack('<Q', val)
    q(0x0000, 0x1000 | 1)
    q(0x1000 + 16 * SID, 0x2000 | 1)
    q(0x1000 + 16 * SID + 8, 7 << 8 | 2)
    q(0x1000 + 16 * 0x20, 2 << 2 | 1)
    q(0x1000 + 16 * 0x20 + 8, 8 << 8 | 2)
    q(0x2000, 0x3000 | 3)
    q(0x3000, 0x4000 | 3)
    q(0x4000, 0x5000 | 3)
    q(0x4000 + 8, 0x0 | 0x80 | 3)
    q(0x5000 + 8, 0x8000 | 3)
    q(0x5000 + 16, 0x9000 | R)
    return ram


def seed(name, flags, ops, ram):
    os.makedirs('tests/fuzz/corpus/vtd', exist_ok=True)
    with open(f'tests/fuzz/corpus/vtd/{name}', 'wb') as f:
        f.write(bytes([flags, len(ops)]) + b''.join(ops) + bytes(ram))


seed('lookups', F_SETUP, [
    op(LOOKUP, SID, R, 0x1010), op(LOOKUP, SID, W, 0x2010), op(LOOKUP, SID, R, 0x2010),
    op(LOOKUP, SID, R, 0x201234), op(LOOKUP, 0x20, W, 0x5000), op(LOOKUP, 0x28, R, 0x1000),
    op(LOOKUP, SID, R | 0x80, 1 << 50),
], ram_tables())

qram = ram_tables()
# The queue at 0xA000: IOTLB domain 7, context global, wait with status write to 0xB000 and IF.
for i, (lo, hi) in enumerate([(0x2 | 2 << 4 | 7 << 16, 0), (0x1 | 1 << 4, 0),
                              (0x5 | 1 << 5 | 1 << 4 | 2 << 32, 0xB000), (0x3, 0)]):
    qram[0xA000 + 16 * i:0xA000 + 16 * i + 16] = struct.pack('<QQ', lo, hi)
seed('queue', F_SETUP, [
    op(WRITE, 0xA0, 3, 0), op(WRITE, 0x90, 7, 0xA000), op(WRITE, 0x88, 7, 3 << 4),
    op(READ, 0x80, 7), op(READ, 0x9C, 3), op(WRITE, 0x9C, 3, 1), op(WRITE, 0x88, 7, 4 << 4),
    op(READ, 0x34, 3), op(WRITE, 0x34, 3, 0x10), op(WRITE, 0x88, 7, 300 << 4),
], qram)

seed('faults', F_SETUP, [op(WRITE, 0x38, 3, 0)] +
     [op(LOOKUP, SID, W, 0x2000 + i) for i in range(10)] +
     [op(READ, 0x34, 3), op(WRITE, 0x20C, 3, 1 << 31), op(WRITE, 0x208, 7, 1 << 63),
      op(WRITE, 0x34, 3, 1), op(FAULT, SID, 0x5, 0x1234)], ram_tables())

seed('registers', 0, [
    op(WRITE, 0x20, 7, 0x1000), op(WRITE, 0x18, 3, 1 << 30), op(WRITE, 0x18, 3, 1 << 31),
    op(WRITE, 0x28, 7, 1 << 63 | 3 << 61 | SID << 16 | 7), op(WRITE, 0x100, 7, 0x8000 | 2),
    op(WRITE, 0x108, 7, 1 << 63 | 3 << 60 | 7 << 32), op(READ, 0x108, 7), op(READ, 0x0A, 1),
    op(WRITE, 0x2C, 3, 0xE0000000), op(READ, 0xFFE, 7),
], ram_tables())

# Replays: everything (size 52: 2^64 bytes), one page, a 2 MiB page's range, pass-through, no context.
seed('replay', F_SETUP, [
    op(REPLAY, SID, 52 | 0x80, 0), op(REPLAY, SID, 0, 0x2000), op(REPLAY, SID, 9, 0x200000),
    op(REPLAY, 0x20, 20, 0), op(REPLAY, 0x28, 30, 0),
], ram_tables())

# Tables that fan out to themselves: every entry of the level-3 and level-2 tables points back at
# its own table, so the walk would visit 512^2 tables without its budget.
lram = ram_tables()
for i in range(512):
    lram[0x3000 + 8 * i:0x3000 + 8 * i + 8] = struct.pack('<Q', 0x3000 | 3)
seed('replay-loop', F_SETUP, [op(REPLAY, SID, 52 | 0x80, 0), op(LOOKUP, SID, R, 0x1000)], lram)
