#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the hand-made seeds in tests/fuzz/corpus/virtio-blk/: the requests of
tests/unit/test_virtio_blk.c in the input format of
tests/fuzz/fuzz_virtio_blk.c (a 3-byte disk/driver header, then batches of
requests). Each seed is written twice, for io_uring and for synchronous I/O
(H_SYNC). Run from the repository root; an argument names another directory to
write to. The corpus in the repository is these seeds and what a short fuzzing
run found that reaches new code (tests/fuzz/fuzz.mk says how)."""
import os
import struct
import sys

# Header byte 0.
RO, SYNC, NO_FLUSH, NO_DISCARD, NO_WZ, NO_EVIDX, RESET_INFLIGHT = (1 << i for i in range(7))
# tsel & 7: the request type (7: a raw 32-bit type follows).
IN, OUT, FLUSH, GET_ID, DISCARD, WZ, RAW = 0, 1, 2, 3, 4, 5, 7
UNMAP = 1
# fuzz_virtio_blk.c's seg_lens[], for the raw chain shapes.
SEG_LENS = [0, 1, 8, 12, 16, 17, 32, 511, 512, 513, 1024, 1025, 4096, 4097, 8192, 16384]
U64 = (1 << 64) - 1


def le64(v):
    return struct.pack('<Q', v & U64)


def sector(s):
    """pick_sector's encoding: small, ('cap', j) = capacity - j, ('max', j) = 2^64 - 1 - j, raw."""
    if isinstance(s, tuple):
        kind, j = s
        return bytes([129 + j]) if kind == 'cap' else bytes([192 + j])
    if s < 128:
        return bytes([s])
    return bytes([0xE0]) + le64(s)


def req(typ, sec=0, n=0, pieces=1, hdr_in_data=False, st_in_data=False, dsec=0, dnum=0,
        flags=0, raw_type=0, segs=None):
    """One request. Canonical (header, @n sectors of data in @pieces, status) unless @segs:
    a raw chain of (length, device-writable) pairs, lengths from SEG_LENS."""
    wide = not isinstance(dnum, int) or dnum > 255
    tsel = typ | flags << 4 | (0x80 if wide else 0)
    if segs is None:
        shape = 0x08 | (pieces - 1) | (0x10 if hdr_in_data else 0) | (0x20 if st_in_data else 0)
    else:
        assert 1 <= len(segs) <= 8
        shape = len(segs) - 1
    out = bytes([shape, tsel])
    if typ == RAW:
        out += le64(raw_type)
    out += sector(sec) + sector(dsec) + (le64(dnum) if wide else bytes([dnum]))
    if segs is None:
        out += bytes([n])
    else:
        out += bytes(SEG_LENS.index(length) << 1 | int(w) for length, w in segs)
    return out


def batch(*reqs):
    assert 1 <= len(reqs) <= 8
    return bytes([len(reqs) - 1]) + b''.join(reqs)


def seed(h0, sectors, *batches, tail=0):
    """A disk of @sectors 512-byte sectors (1-128) and @tail bytes past them (multiple of 3)."""
    assert 1 <= sectors <= 128 and tail % 3 == 0 and tail // 3 < 128
    h2 = 0x80 | tail // 3 if tail else 0
    return bytes([h0, sectors - 1, h2]) + b''.join(batches)


def seeds():
    s = {}
    s['write-read'] = seed(0, 64,
                           batch(req(OUT, 9, n=8)), batch(req(IN, 9, n=8)),
                           batch(req(OUT, ('cap', 2), n=2, hdr_in_data=True)),
                           batch(req(IN, ('cap', 2), n=2, pieces=3, st_in_data=True)))
    s['flush'] = seed(0, 16, batch(req(FLUSH)), batch(req(FLUSH, 12345)))
    s['writethrough'] = seed(NO_FLUSH, 128, batch(req(OUT, 100, n=16)), batch(req(IN, 100, n=16)))
    s['discard-write-zeroes'] = seed(0, 128,
                                     batch(req(DISCARD, dsec=8, dnum=16)),
                                     batch(req(WZ, dsec=101, dnum=3)),
                                     batch(req(WZ, dsec=60, dnum=64, flags=UNMAP)),
                                     batch(req(IN, 60, n=32)),
                                     batch(req(DISCARD, dsec=0, dnum=0)))
    s['get-id'] = seed(0, 8, batch(req(GET_ID, n=0)),
                       batch(req(GET_ID, segs=[(16, False), (8, True), (1, True)])),
                       batch(req(GET_ID, segs=[(16, False), (32, True)])))
    s['readonly'] = seed(RO, 32,
                         batch(req(OUT, 0, n=8)), batch(req(DISCARD, dsec=0, dnum=8)),
                         batch(req(WZ, dsec=0, dnum=8)), batch(req(WZ, dsec=0, dnum=8, flags=UNMAP)),
                         batch(req(FLUSH)), batch(req(IN, 0, n=8)))
    s['hostile-ranges'] = seed(0, 32,
                               batch(req(OUT, ('max', 0), n=1)), batch(req(IN, ('max', 7), n=8)),
                               batch(req(OUT, 1 << 55, n=1)), batch(req(IN, (1 << 55) + 1, n=1)),
                               batch(req(OUT, 1 << 63, n=1)), batch(req(IN, (1 << 54) * 3, n=1)),
                               batch(req(OUT, ('cap', 0), n=1)), batch(req(IN, ('cap', 1), n=2)),
                               batch(req(OUT, ('cap', 7), n=16)), batch(req(IN, ('cap', -1), n=0)))
    s['hostile-range-requests'] = seed(0, 32,
                                       batch(req(DISCARD, dsec=('max', 0), dnum=1)),
                                       batch(req(WZ, dsec=('max', 15), dnum=16)),
                                       batch(req(WZ, dsec=1 << 55, dnum=1, flags=UNMAP)),
                                       batch(req(DISCARD, dsec=('cap', 0), dnum=1)),
                                       batch(req(WZ, dsec=('cap', 8), dnum=16)),
                                       batch(req(DISCARD, dsec=0, dnum=(1 << 21) + 1)),
                                       batch(req(WZ, dsec=0, dnum=0xFFFFFFFF)),
                                       batch(req(DISCARD, dsec=0, dnum=8, flags=UNMAP)),
                                       batch(req(WZ, dsec=0, dnum=8, flags=2)),
                                       batch(req(DISCARD, segs=[(16, False), (32, False), (1, True)])),
                                       batch(req(WZ, segs=[(16, False), (12, False), (1, True)])),
                                       batch(req(DISCARD, segs=[(16, False), (1, True)])))
    s['status-placement'] = seed(0, 16,
                                 batch(req(OUT, segs=[(16, False), (512, False), (1, False)])),
                                 batch(req(IN, segs=[(16, False), (513, False)])),
                                 batch(req(GET_ID, segs=[(16, False), (17, False)])),
                                 batch(req(OUT, segs=[(16, True), (512, True), (1, True)])),
                                 batch(req(OUT, segs=[(8, False), (1, True)])),
                                 batch(req(IN, segs=[(16, False), (0, True), (1, True)])))
    s['unaligned-data'] = seed(0, 16, *(batch(req(t, 4, segs=[(16, False), (n, t == IN), (1, True)]))
                                        for n in (1, 511, 513, 4097, 1025) for t in (OUT, IN)))
    s['image-sizes'] = seed(0, 8,
                            batch(req(OUT, 7, n=1)), batch(req(OUT, 7, n=2)), batch(req(IN, 8, n=1)),
                            batch(req(WZ, dsec=7, dnum=2)), batch(req(IN, 0, n=8)), tail=99)
    s['one-sector'] = seed(0, 1, batch(req(IN, 0, n=1)), batch(req(OUT, 0, n=1)),
                           batch(req(WZ, dsec=0, dnum=1, flags=UNMAP)), tail=3)
    s['batch'] = seed(0, 128, *(batch(*(req(IN, 8 * (8 * b + i) % 120, n=8) for i in range(8)))
                                for b in range(8)))
    s['batch-mixed'] = seed(0, 64, batch(req(OUT, 0, n=4), req(IN, 0, n=4), req(FLUSH),
                                         req(GET_ID), req(DISCARD, dsec=4, dnum=4),
                                         req(WZ, dsec=8, dnum=4), req(IN, 60, n=8),
                                         req(RAW, raw_type=10)))
    s['stop-inflight'] = seed(RESET_INFLIGHT, 128,
                              *(batch(*(req(IN if i % 2 else OUT, 8 * i + b, n=8, pieces=1 + i % 6)
                                        for i in range(8))) for b in range(8)))
    s['features-off'] = seed(NO_DISCARD | NO_WZ | NO_EVIDX, 16,
                             batch(req(DISCARD, dsec=0, dnum=1)), batch(req(WZ, dsec=0, dnum=1)),
                             batch(req(OUT, 1, n=1)), batch(req(IN, 1, n=1)))
    # SCSI_CMD, FLUSH_OUT, GET_LIFETIME, SECURE_ERASE, and junk: all UNSUPP.
    s['unknown-types'] = seed(0, 8, *(batch(req(RAW, raw_type=t, n=1))
                                      for t in (2, 5, 10, 14, 0x80000001, 0xFFFFFFFF)))
    s['raw-chains'] = seed(0, 64,
                           batch(req(IN, 0, segs=[(16, False), (511, True), (1, True), (512, True)])),
                           batch(req(OUT, 0, segs=[(8, False), (8, False), (512, False), (1, True)])),
                           batch(req(IN, 2, segs=[(17, False), (16384, True), (1, True)])),
                           batch(req(OUT, 3, segs=[(16, False), (8192, False), (1024, False),
                                                   (1024, False), (1, True)])))
    return s


if __name__ == '__main__':
    d = sys.argv[1] if len(sys.argv) > 1 else 'tests/fuzz/corpus/virtio-blk'
    os.makedirs(d, exist_ok=True)
    for name, data in seeds().items():
        for mode, h in (('uring', 0), ('sync', SYNC)):
            with open(os.path.join(d, '%s-%s' % (name, mode)), 'wb') as f:
                f.write(bytes([data[0] | h]) + data[1:])
