#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the hand-made seeds in tests/fuzz/corpus/virtq/: the rings of
tests/unit/test_virtq.c in the input format of tests/fuzz/fuzz_virtq.c (a
50-byte header, then guest RAM: R0 [0, 16 KiB), R1 [20 KiB, 24 KiB), R2 [2^64
- 4 KiB, 2^64)). Rings sit where the target puts them without F_GPAS:
descriptors at 0, the avail ring at 16 * size, the used ring after it; buffers
from 0x2000. Run from the repository root; an argument names another directory
to write to. The corpus in the repository is these seeds and what a short
fuzzing run found that reaches new code (tests/fuzz/fuzz.mk says how)."""
import os
import struct
import sys

R0_SIZE, R1_GPA, R1_SIZE, R2_GPA = 0x4000, 0x5000, 0x1000, (1 << 64) - 0x1000
NEXT, WRITE, INDIRECT = 1, 2, 4
F_EVENT_IDX, F_INDIRECT, F_GPAS, F_TAME, F_NOTIFY, F_IOMMU, F_CHANGE = (1 << i for i in range(7))
H_LEN = 50
BUF = 0x2000


class Q:
    def __init__(self, size=8, flags=0, start=0, lag=None, kick=0, hold=0, off=0, gpas=None,
                 pmap=None, raw_size=None):
        self.size, self.flags = size, flags
        self.ram = bytearray(R0_SIZE + R1_SIZE + 0x1000)
        self.h = bytearray(H_LEN)
        if raw_size is not None:
            self.h[0] = 0x80
            self.h[8:10] = struct.pack('<H', raw_size)
        else:
            self.h[0] = size.bit_length() - 1
        self.h[1] = flags
        self.h[2:4] = struct.pack('<H', start)
        self.start = start
        self.lag = lag
        self.h[5], self.h[6], self.h[7] = kick, hold, off
        if gpas:
            self.h[1] |= F_GPAS
            self.h[10:34] = struct.pack('<QQQ', *gpas)
            self.desc, self.avail = gpas[0], gpas[1]
        else:
            self.desc, self.avail = 0, 16 * size
        if pmap is not None:
            self.h[1] |= F_IOMMU
            self.h[34:34 + len(pmap)] = bytes(pmap)
        self.heads = []

    def put(self, gpa, data):
        if gpa >= R2_GPA:
            i = R0_SIZE + R1_SIZE + gpa - R2_GPA
        elif gpa >= R1_GPA:
            i = R0_SIZE + gpa - R1_GPA
        else:
            i = gpa
        self.ram[i:i + len(data)] = data

    def d(self, i, addr, length, flags=0, nxt=0, table=None):
        t = self.desc if table is None else table
        self.put(t + 16 * i, struct.pack('<QIHH', addr, length, flags, nxt))

    def chain(self, first, segs):
        """Descriptors @first.. linked in order: segs = [(addr, len, writable)]."""
        for k, (addr, length, w) in enumerate(segs):
            last = k + 1 == len(segs)
            self.d(first + k, addr, length, (WRITE if w else 0) | (0 if last else NEXT),
                   0 if last else first + k + 1)
        return first

    def post(self, *heads):
        self.heads += heads

    def bytes(self):
        for k, head in enumerate(self.heads):
            self.put(self.avail + 4 + 2 * ((self.start + k) % self.size), struct.pack('<H', head))
        h = bytearray(self.h)
        if self.lag is None:
            h[4] = len(self.heads)
        elif self.lag == 'ram':			# avail->idx as RAM has it
            h[4] = 0x80
            self.put(self.avail + 2, struct.pack('<H', (self.start + len(self.heads)) & 0xffff))
        else:
            h[4] = self.lag
        # RAM past the input is zero: trailing zeros need no bytes.
        return bytes(h) + bytes(self.ram).rstrip(b'\0')


def seeds():
    s = {}
    q = Q(8)
    q.post(q.chain(0, [(BUF, 64, False), (BUF + 0x100, 128, True)]))
    q.post(q.chain(2, [(BUF + 0x200, 16, False)]))
    q.post(q.chain(3, [(BUF + 0x300, 512, True), (BUF + 0x600, 8, True)]))
    s['chain-out-in'] = q

    q = Q(8, F_INDIRECT)
    q.d(0, BUF + 0x1000, 48, INDIRECT)
    for i in range(3):
        q.d(i, BUF + 0x10 * i, 16, (WRITE if i == 2 else 0) | (NEXT if i < 2 else 0), i + 1,
            table=BUF + 0x1000)
    q.chain(1, [(BUF + 0x400, 32, False), (BUF + 0x500, 32, True)])
    q.post(0, 1)
    s['indirect'] = q

    q = Q(8, F_INDIRECT)
    q.d(0, BUF + 0x1000, 32, INDIRECT)			# nested indirect
    q.d(0, BUF + 0x1100, 16, INDIRECT, table=BUF + 0x1000)
    q.d(1, BUF + 0x1000, 33, INDIRECT)			# not a multiple of 16
    q.d(2, BUF + 0x1000, 0, INDIRECT)			# empty table
    q.d(3, BUF + 0x1000, 16, INDIRECT | NEXT, 4)	# indirect with NEXT
    q.d(4, BUF, 16, 0)
    q.d(5, (1 << 64) - 8, 16, INDIRECT)		# table past 2^64
    q.post(0, 1, 2, 3, 5)
    s['indirect-rejects'] = q

    q = Q(8, F_INDIRECT)				# indirect without the feature
    q.d(0, BUF + 0x1000, 16, INDIRECT)
    q.d(0, BUF, 16, 0, table=BUF + 0x1000)
    q.flags &= ~F_INDIRECT
    q.h[1] &= ~F_INDIRECT
    q.post(0)
    s['indirect-not-negotiated'] = q

    q = Q(8)
    q.chain(0, [(BUF, 0, False), (BUF + 0x100, 16, True)])
    q.chain(2, [(BUF, 0, True)])
    q.post(0, 2)
    s['zero-length'] = q

    q = Q(8)
    q.d(0, BUF, 16, NEXT, 0)				# itself
    q.d(1, BUF, 16, NEXT, 2)
    q.d(2, BUF, 16, NEXT, 1)				# 1 -> 2 -> 1
    q.d(3, BUF, 16, NEXT, 200)				# next past the table
    q.post(0, 1, 3)
    s['loops'] = q

    q = Q(256)						# every descriptor in one chain
    q.chain(0, [(BUF + 16 * i, 16, i >= 128) for i in range(256)])
    q.post(0)
    s['max-iov'] = q

    q = Q(8)
    q.chain(0, [(BUF, 16, True), (BUF + 0x100, 16, False)])	# readable after writable
    q.post(0)
    s['readable-after-writable'] = q

    q = Q(8)
    q.chain(0, [(R1_GPA, 0x1000, False)])			# all of R1
    q.chain(1, [(R0_SIZE - 8, 16, False)])			# across R0's end, into the hole
    q.chain(2, [(R0_SIZE, 16, True)])				# in the hole
    q.chain(3, [(R2_GPA, 0x1000, True)])			# all of R2
    q.chain(4, [((1 << 64) - 8, 16, False)])			# past 2^64
    q.chain(5, [(R1_GPA - 16, 0x1010, False)])		# the hole into R1
    q.post(0, 1, 2, 3, 4, 5)
    s['addresses'] = q

    q = Q(8, lag=100)						# avail->idx jumps past the size
    q.post(q.chain(0, [(BUF, 16, False)]))
    s['avail-idx-jump'] = q

    q = Q(8)
    q.chain(0, [(BUF, 16, False)])
    q.post(200, 0)						# head out of range, then a good one
    s['head-out-of-range'] = q

    q = Q(8, hold=3)
    q.chain(0, [(BUF, 16, True)])
    q.post(0, 0)						# the same head twice in flight
    s['head-twice'] = q

    q = Q(16, hold=16)					# every entry in flight, then all pushed
    for i in range(16):
        q.chain(i, [(BUF + 0x100 * i, 64, True)])
    q.post(*range(16))
    s['inflight-bound'] = q

    q = Q(16, start=0xfff8)				# the indices wrap around
    for i in range(12):
        q.chain(i, [(BUF + 0x100 * i, 32, i % 2 == 1)])
    q.post(*range(12))
    s['wraparound'] = q

    q = Q(8, F_EVENT_IDX | F_NOTIFY, kick=2, lag='ram')
    q.post(q.chain(0, [(BUF, 16, True)]), q.chain(1, [(BUF + 0x100, 16, True)]))
    q.put(q.avail + 4 + 2 * 8, struct.pack('<H', 1))		# used_event
    q.put(q.avail + 4 + 2 * 2, struct.pack('<HH', 0, 1))		# what the kick adds
    s['notify-event-idx'] = q

    q = Q(8, F_NOTIFY, off=40)
    q.put(q.avail, struct.pack('<H', 1))				# VRING_AVAIL_F_NO_INTERRUPT
    q.post(q.chain(0, [(BUF, 64, False), (BUF + 0x100, 64, True)]))
    s['notify-flags'] = q

    q = Q(4, gpas=(R1_GPA, R1_GPA + 0x100, R2_GPA))		# rings in R1 and R2
    q.post(q.chain(0, [(BUF, 16, False), (R1_GPA + 0x800, 32, True)]))
    s['rings-elsewhere'] = q

    q = Q(4, gpas=(R0_SIZE - 32, R1_GPA, R2_GPA + 0xff0))	# rings across the ends
    q.post(0)
    s['rings-across'] = q

    q = Q(8, raw_size=3)					# not a power of two
    s['size-3'] = q
    q = Q(8, raw_size=0)
    s['size-0'] = q

    q = Q(8, F_TAME)
    q.d(0, 0x123456789abc, 64, 0)
    q.post(0)
    s['tame'] = q

    # Through an IOMMU: IOVA page i -> guest page pmap[i] & 31 (bit 7 present, 6 write, 5 read).
    ident = [0xe0 | i for i in range(16)]
    q = Q(8, pmap=ident)
    q.post(q.chain(0, [(BUF, 64, False), (BUF + 0x1000 - 8, 16, True)]))	# across two pages
    s['iommu'] = q

    pm = list(ident)
    pm[2] = 0xa0 | 2						# the buffers' page read-only
    pm[3] = 0x80 | 3						# and one not readable
    q = Q(8, pmap=pm)
    q.post(q.chain(0, [(BUF, 16, False), (BUF + 0x100, 16, True)]))
    q.post(q.chain(2, [(0x3000, 16, False)]))
    q.post(q.chain(3, [(0x9000, 16, False)]))			# IOVA not mapped
    s['iommu-perms'] = q

    pm = list(ident)
    pm[5] = 0xe0 | 31						# IOVA page 5 is R2
    pm[6] = 0xe0 | 5						# IOVA page 6 is R1
    pm[7] = 0xe0 | 4						# the hole
    q = Q(8, F_CHANGE, pmap=pm, kick=1)
    q.post(q.chain(0, [(0x5000, 32, False), (0x6000, 32, True)]))
    q.chain(1, [(0x7000, 16, False)])
    q.put(q.avail + 4 + 2, struct.pack('<H', 1))
    s['iommu-change'] = q

    q = Q(8, F_INDIRECT, pmap=ident)
    q.d(0, BUF + 0x800, 32, INDIRECT)
    q.d(0, BUF, 16, NEXT, 1, table=BUF + 0x800)
    q.d(1, BUF + 0x100, 16, WRITE, table=BUF + 0x800)
    q.post(0)
    s['iommu-indirect'] = q
    return {name: q.bytes() for name, q in s.items()}


if __name__ == '__main__':
    d = sys.argv[1] if len(sys.argv) > 1 else 'tests/fuzz/corpus/virtq'
    os.makedirs(d, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)
