#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the hand-made seeds in tests/fuzz/corpus/virtio-net/: what
tests/unit/test_virtio_net.c does, in the input format of
tests/fuzz/fuzz_virtio_net.c (a TX-moderation byte, a feature byte, then
operations). Queue 0 is RX, 1 is TX. Run from the repository root; an argument
names another directory to write to. The corpus in the repository is these
seeds and what a short fuzzing run found that reaches new code
(tests/fuzz/fuzz.mk says how)."""
import os
import struct
import sys

# Feature byte bits, in fuzz_virtio_net.c's feature_bits[] order.
MRG, GUEST_CSUM, GUEST_TSO4, GUEST_TSO6, GUEST_ECN, CSUM, EVENT_IDX, INDIRECT = (1 << i for i in range(8))
ALL = MRG | GUEST_CSUM | GUEST_TSO4 | GUEST_TSO6 | GUEST_ECN | CSUM
TX_NOW, TX_HOLD, TX_AUTO = 0, 1, 2
RX, TX = 0, 1
NEXT, WRITE, IND = 1, 2, 4
HDR = 12
NEEDS_CSUM, DATA_VALID = 1, 2
GSO_TCPV4 = 1


def chain(q, *descs):
    """descs: (offset into the data area, len, flags[, next]); offsets in 16-byte steps."""
    assert 1 <= len(descs) <= 4
    out = bytes([0, q, len(descs) - 1])
    for d in descs:
        off, length, fl = d[:3]
        assert off % 16 == 0
        b = fl & 7
        if len(d) > 3:				# an explicit next
            b |= 0x10
        if length > 0xffff:
            assert length % 4 == 0
            b |= 0x40
            length //= 4
        out += struct.pack('<HHBB', off // 16, length, b, d[3] if len(d) > 3 else 0)
    return out


def wild(q, hi, lo, length, fl=0):
    """One descriptor at (hi << 20) | lo: outside the data area."""
    return bytes([0, q, 0]) + struct.pack('<HHBB', hi, length, 0x80 | (fl & 7), lo)


def hdr(flags=0, gso=0, hdr_len=0, gso_size=0, csum_start=0, csum_off=0, nbuf=0):
    return struct.pack('<BBHHHHH', flags, gso, hdr_len, gso_size, csum_start, csum_off, nbuf)


def frame(length, h=None):
    """The peer sends @length bytes: the header from @h (zeros if None), then 0x5a."""
    double = length > 0xffff
    n = length // 2 if double else length
    h = (h or bytes(HDR))[:min(length, HDR)]
    return bytes([2]) + struct.pack('<HB', n, int(double)) + h


def notify(q):
    return bytes([3 if q == RX else 129])


POLL, DRAIN = bytes([4]), bytes([5])


def restart(features):
    return bytes([6, features])


def avail(q, idx):
    return bytes([7 if q == RX else 133]) + struct.pack('<H', idx)


HANGUP = bytes([242])


def seed(tx, features, *ops):
    return bytes([tx, features]) + b''.join(ops)


def seeds():
    s = {}
    tx3 = [chain(TX, (0x1000 * i, HDR + 1000 + i, 0)) for i in range(3)]
    s['tx-frame'] = seed(TX_NOW, ALL, *tx3, notify(TX), DRAIN)
    s['tx-frame-event-idx'] = seed(TX_NOW, ALL | EVENT_IDX, *tx3, notify(TX), DRAIN, *tx3,
                                   notify(TX), POLL, DRAIN)
    s['tx-split-header'] = seed(TX_NOW, ALL, chain(TX, (0, 5, 0), (16, 7, 0), (32, 1000, 0)),
                                notify(TX), DRAIN)
    s['tx-bad-chains'] = seed(TX_NOW, ALL,
                              chain(TX, (0, HDR - 1, 0)),
                              chain(TX, (0x4000, 65560, 0)),		# near the largest
                              chain(TX, (0x4000, 65564, 0)),		# past it
                              chain(TX, (0, HDR, 0), (0x100, 40, WRITE)),
                              chain(TX, (0, HDR + 20, 0)),
                              wild(TX, 0xfff, 0, 64),
                              notify(TX), DRAIN)
    s['tx-hold'] = seed(TX_HOLD, ALL, *tx3, notify(TX), POLL, POLL, DRAIN, *tx3, notify(TX),
                        restart(ALL), POLL, DRAIN)
    s['tx-auto-bulk'] = seed(TX_AUTO, ALL, *(c for _ in range(4) for c in
                                             [chain(TX, (0x1000 * i, HDR + 1500, 0)) for i in range(8)]
                                             + [notify(TX), POLL, DRAIN]))
    s['tx-auto-conversation'] = seed(TX_AUTO, ALL, chain(RX, (0x8000, 2048, WRITE)),
                                     *(c for _ in range(4) for c in
                                       [chain(TX, (0, HDR + 60, 0)), notify(TX), DRAIN,
                                        frame(HDR + 60), POLL, chain(RX, (0x8000, 2048, WRITE)),
                                        notify(RX)]))
    s['rx-one-buffer'] = seed(TX_NOW, ALL, chain(RX, (0, 2048, WRITE)),
                              frame(HDR + 1000, hdr(DATA_VALID, nbuf=77)), POLL)
    s['rx-mergeable'] = seed(TX_NOW, ALL, chain(RX, (0, 5, WRITE), (16, 595, WRITE)),
                             *(chain(RX, (0x1000 * i, 600, WRITE)) for i in (1, 2, 3)),
                             frame(HDR + 1700), POLL, frame(HDR + 100), POLL)
    s['rx-mergeable-waits'] = seed(TX_NOW, ALL, chain(RX, (0, 600, WRITE)), frame(HDR + 1700),
                                   POLL, chain(RX, (0x1000, 600, WRITE)), notify(RX),
                                   chain(RX, (0x2000, 600, WRITE)), notify(RX), POLL)
    s['rx-no-mrg-too-small'] = seed(TX_NOW, ALL & ~MRG, chain(RX, (0, 200, WRITE)),
                                    frame(HDR + 1000), POLL, frame(HDR + 100), POLL)
    s['rx-no-buffers'] = seed(TX_NOW, ALL, frame(HDR + 100), POLL, chain(RX, (0, 2048, WRITE)),
                              notify(RX), POLL)
    s['rx-sizes'] = seed(TX_NOW, ALL, *(chain(RX, (0x1000 * i, 0x1000, WRITE)) for i in range(8)),
                         chain(RX, (0x8000, 0xffff * 4, WRITE | 0)),
                         frame(0), POLL, frame(1), POLL, frame(HDR), POLL, frame(HDR + 1), POLL,
                         frame(HDR + 65536 + 14), POLL, frame(HDR + 65536 + 15), POLL,
                         frame(70000), POLL)
    s['rx-offloads'] = seed(TX_NOW, ALL, chain(RX, (0, 4096, WRITE)),
                            frame(HDR + 3000, hdr(NEEDS_CSUM, GSO_TCPV4, 54, 1448, 34, 16)), POLL,
                            restart(MRG), chain(RX, (0, 4096, WRITE)),
                            frame(HDR + 3000, hdr(NEEDS_CSUM, GSO_TCPV4, 54, 1448, 34, 16)), POLL)
    s['rx-bad-chains'] = seed(TX_NOW, ALL, chain(RX, (0, 2048, 0)),
                              chain(RX, (0, 8, WRITE)), wild(RX, 0x7ff, 3, 2048, WRITE),
                              chain(RX, (0x1000, 2048, WRITE)),
                              frame(HDR + 100), POLL, frame(HDR + 100), POLL)
    s['rx-budget'] = seed(TX_NOW, ALL, *(chain(RX, (0x800 * i, 0x800, WRITE)) for i in range(40)),
                          *(frame(HDR + 60 + i) for i in range(40)), POLL, POLL, notify(RX), POLL)
    s['rx-many-segments'] = seed(TX_NOW, ALL & ~MRG,
                                 chain(RX, (0, 1, WRITE), (16, 11, WRITE), (32, 100, WRITE),
                                       (0x100, 2000, WRITE)),
                                 frame(HDR + 1500), POLL)
    s['rx-larger-than-ring'] = seed(TX_NOW, ALL, *(chain(RX, (0x100 * i, 256, WRITE)) for i in range(8)),
                                    frame(HDR + 4000), POLL, notify(RX), POLL)
    s['stop-start'] = seed(TX_HOLD, ALL, chain(RX, (0, 2048, WRITE)), *tx3, notify(TX),
                           frame(HDR + 500), restart(ALL | EVENT_IDX), chain(RX, (0, 2048, WRITE)),
                           POLL, *tx3, notify(TX), POLL, DRAIN)
    s['link-down'] = seed(TX_NOW, ALL, chain(RX, (0, 2048, WRITE)), frame(HDR + 100), HANGUP,
                          POLL, *tx3, notify(TX), POLL, notify(RX), POLL)
    s['broken-ring'] = seed(TX_NOW, ALL, chain(TX, (0, HDR + 60, 0)), avail(TX, 1000), notify(TX),
                            avail(RX, 300), frame(HDR + 60), POLL, restart(ALL),
                            chain(TX, (0, HDR + 60, 0)), notify(TX), DRAIN)
    s['loops-and-next'] = seed(TX_NOW, ALL, chain(TX, (0, HDR + 10, NEXT, 0)),
                               chain(TX, (0, 16, NEXT, 200)), chain(RX, (0, 64, WRITE | NEXT, 10)),
                               frame(HDR + 10), notify(TX), POLL, DRAIN)
    s['indirect'] = seed(TX_NOW, ALL | INDIRECT, chain(RX, (0x1000, 16 * 3, WRITE)),
                         frame(HDR + 36, hdr()), POLL,		# the peer writes a table of zeros
                         chain(TX, (0x1000, 16 * 3, IND)), chain(RX, (0x1000, 48, IND)),
                         notify(TX), frame(HDR + 10), POLL, DRAIN)
    return s


if __name__ == '__main__':
    d = sys.argv[1] if len(sys.argv) > 1 else 'tests/fuzz/corpus/virtio-net'
    os.makedirs(d, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)
