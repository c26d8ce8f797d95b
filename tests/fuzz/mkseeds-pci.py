#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the hand-made seeds in tests/fuzz/corpus/pci/: what firmware, Linux's
PCI core and a virtio driver do (as tests/unit/test_pci.c, test_msix.c and
test_vpci.c do it), in the 12-byte records of tests/fuzz/fuzz_pci.c. The host
bridge is slot 0, the virtio-rng slot 1, the test device slot 2 (I/O BAR 0,
32-bit BAR 1 with the MSI-X table and PBA, 64-bit BAR 2, a ROM). Run from the
repository root; an argument names another directory to write to. The corpus
in the repository is these seeds and what a short fuzzing run found that
reaches new code (tests/fuzz/fuzz.mk says how)."""
import os
import struct
import sys

SIZES = {1: 0, 2: 1, 4: 2, 8: 3, 3: 7}
CMD_IO, CMD_MEM, CMD_MASTER, CMD_INTX_DISABLE = 1, 2, 4, 0x400
RNG, TDEV = 1, 2


def rec(kind, length, wr, r1=0, r2=0, r3=0, val=0):
    return bytes([kind << 4 | (8 if wr else 0) | SIZES[length], r1 & 0xff, r2 & 0xff, r3 & 0xff]) + \
        struct.pack('<Q', val & (1 << 64) - 1)


def slot_byte(slot):
    return slot if slot < 4 else 0x80 | slot << 2


def cf8(slot, reg, length=4, wr=False, val=0, enabled=True):
    """A config access through 0xCF8/0xCFC, bus 0 function 0."""
    return rec(0, length, wr, slot_byte(slot), reg, 0 if enabled else 0x40, val)


def ecam(slot, reg, length=4, wr=False, val=0):
    r3 = 0x08 | (reg >> 8) << 4 if reg >= 0x100 else 0
    return rec(4, length, wr, slot_byte(slot), reg & 0xff, r3, val)


def api(slot, reg, length=4, wr=False, val=0, end=False):
    r3 = 0x04 if end else (0x08 | (reg >> 8) << 4 if reg >= 0x100 else 0)
    return rec(6, length, wr, slot_byte(slot), reg & 0xff, r3, val)


def bar(target, off, length=4, wr=False, val=0):
    """The test device's I/O (1), 32-bit (2), 64-bit (3) BAR or ROM (4), wherever it is."""
    return rec(7, length, wr, target, off & 0xff, off >> 8, val)


# The rng's BAR 0 regions in fuzz_pci.c's rng_regions[].
COMMON, ISR, DEVCFG, NOTIFY, MSIX_TABLE, MSIX_PBA, BAR_END = 0, 2, 3, 4, 5, 6, 7


def rng(region, off, length=4, wr=False, val=0):
    return rec(7, length, wr, 0, region << 5, off, val)


def desc(i, buf, length_log=0, flags=0, nxt=0, addr=None):
    """Descriptor @i of the bring-up's table: buffer @buf (0x400 apart) of 16 << @length_log
    bytes, or at @addr (which is then also the next index's source)."""
    r3 = (flags & 7) << 3 | (length_log & 7) | (0x80 if addr is not None else 0)
    return rec(11, 1, False, i & 0xff, (i >> 8) | buf << 1, r3, nxt if addr is None else addr)


def avail(head):
    return rec(12, 1, False, head & 0xff, head >> 8, 0)


def avail_idx(idx):
    return rec(12, 1, False, 0, 0, 0x80, idx)


def bringup(qsize_log=4, driver_ok=True, event_idx=False, indirect=False, queue=0, vec=0,
            cfg_vec=0, reset=True, features=None):
    r1 = (0x80 if reset else 0) | qsize_log
    r3 = (1 if event_idx else 0) | (2 if indirect else 0) | (4 if features is not None else 0) | \
        (8 if queue else 0) | cfg_vec << 4
    return rec(13, 1, driver_ok, r1, vec << 6, r3, features or 0)


def host(what, r2=0, r3=0, val=0):
    """0: INTx of the test device, 1: an MSI-X notification, 2/3: MSI-X driver on the test
    device / the rng, 4: post an rng buffer and kick, 6: yield to the rng's worker."""
    return rec(14, 1, False, what, r2, r3, val)


def ram(off, val):
    return rec(15, 1, False, off & 0xff, off >> 8, 0, val)


YIELD = host(6)


def size_bars(slot, regs):
    """As Linux: decoding off, all-ones, read back, restore, decoding on."""
    out = [cf8(slot, 4, 2, True, 0)]
    for reg in regs:
        out += [cf8(slot, reg), cf8(slot, reg, 4, True, 0xffffffff), cf8(slot, reg),
                cf8(slot, reg, 4, True, 0)]
    out.append(cf8(slot, 4, 2, True, CMD_IO | CMD_MEM | CMD_MASTER))
    return out


def seeds():
    s = {}
    s['enumerate'] = [cf8(sl, reg) for sl in range(4) for reg in (0, 8, 0xc, 0x2c, 0x34, 0x3c)] + \
        [cf8(5, 0), cf8(31, 0), cf8(2, 0, enabled=False), rec(0, 4, False, 0x60 | 2, 0, 3),
         rec(0, 4, False, 2, 0, 0xf9), cf8(2, 2, 2), cf8(2, 3, 1), cf8(2, 6, 2)]
    s['bar-sizing-cf8'] = size_bars(TDEV, (0x10, 0x14, 0x18, 0x1c, 0x20, 0x24, 0x30)) + \
        size_bars(RNG, (0x10, 0x14))
    s['bar-sizing-ecam'] = [ecam(TDEV, reg, 4, True, 0xffffffff) for reg in (0x10, 0x14, 0x18, 0x1c, 0x30)] + \
        [ecam(TDEV, reg) for reg in (0x10, 0x14, 0x18, 0x1c, 0x30)] + \
        [ecam(TDEV, 0x100), ecam(TDEV, 0xffc), ecam(0, 0x40), ecam(3, 0), ecam(TDEV, 0x3c, 1, True, 0x55)]
    s['bar-move'] = [cf8(TDEV, 4, 2, True, 0),
                     cf8(TDEV, 0x10, 4, True, 0x2000), cf8(TDEV, 0x14, 4, True, 0xc8000000),
                     cf8(TDEV, 0x18, 4, True, 0x10000000), cf8(TDEV, 0x1c, 4, True, 0x1),
                     cf8(TDEV, 0x30, 4, True, 0xc8100001),
                     cf8(TDEV, 4, 2, True, CMD_IO | CMD_MEM),
                     bar(1, 4), bar(1, 8, 4, True, 7), bar(2, 0x10), bar(3, 0x100, 8), bar(4, 0x7fc),
                     bar(4, 0x800, 4, True, 1), bar(1, 0x20, 2),
                     # Over RAM, the IOAPIC, the LAPIC, the ECAM; an I/O BAR at 0 and at the top.
                     cf8(TDEV, 0x14, 4, True, 0x1000), cf8(TDEV, 0x14, 4, True, 0xfec00000),
                     cf8(TDEV, 0x14, 4, True, 0xfee00000), cf8(TDEV, 0x14, 4, True, 0xe0000000),
                     cf8(TDEV, 0x10, 4, True, 0), cf8(TDEV, 0x10, 4, True, 0xffe0),
                     cf8(TDEV, 0x18, 4, True, 0xfffff000), cf8(TDEV, 0x1c, 4, True, 0xffffffff),
                     cf8(TDEV, 0x18, 8, True, 0xffffffffffffc000), cf8(TDEV, 0x16, 2, True, 0xc900),
                     bar(3, 0), cf8(TDEV, 4, 2, True, 0), bar(2, 0)]
    s['rng-bringup'] = [bringup(), rng(COMMON, 0x14, 1), rng(ISR, 0, 1),
                        desc(0, 0, 6, 2), avail(0), rng(NOTIFY, 0, 2, True, 0), YIELD,
                        host(4, 4, 0), host(4, 12, 1), YIELD, YIELD, rng(DEVCFG, 0, 1),
                        rng(COMMON, 0x1c, 2, True, 0), rng(COMMON, 0x14, 1, True, 0), rng(ISR, 0, 1)]
    s['rng-event-idx-indirect'] = [bringup(5, event_idx=True, indirect=True),
                                   desc(0, 1, 4, 4), desc(1, 2, 3, 2), avail(0), avail(1),
                                   rng(NOTIFY, 0, 2, True, 0), YIELD, host(4, 8, 1), YIELD]
    s['rng-bad-rings'] = [bringup(9, driver_ok=True), bringup(4, reset=False, features=0xffffffff),
                          desc(0, 0, 7, 1, 0), avail(0), avail(300), avail_idx(0x8000),
                          rng(NOTIFY, 0, 2, True, 0), YIELD, ram(0, 0x1234),
                          desc(1, 0, 0, 2, addr=1 << 63), avail(1), rng(NOTIFY, 0, 2, True, 0), YIELD]
    s['rng-queue-select'] = [bringup(2, queue=1), bringup(3, driver_ok=False),
                             rng(COMMON, 0x16, 2, True, 0), rng(COMMON, 0x18, 2),
                             rng(COMMON, 0x16, 2, True, 5), rng(COMMON, 0x18, 2, True, 8),
                             rng(COMMON, 0x14, 1, True, 0x0f), rng(COMMON, 0x14, 1),
                             rng(BAR_END, 0, 8), rng(BAR_END, 4, 8)]
    s['rng-msix'] = [bringup(4, vec=1, cfg_vec=0), host(3, 1 << 2, 0), host(3, 0, 0),
                     desc(0, 0, 5, 2), avail(0), rng(NOTIFY, 0, 2, True, 0), YIELD,
                     host(3, 1, 1), host(4, 5), YIELD, rng(MSIX_PBA, 0, 8), host(3, 0, 0), YIELD,
                     rng(MSIX_TABLE, 0, 8, True, 0xfee01000), rng(MSIX_TABLE, 12, 4, True, 1)]
    s['tdev-msix'] = [host(2, 0, 0), host(1, 0), host(2, 1 << 2 | 1, 1), host(1, 1), host(1, 5),
                      bar(2, 0x800, 8), host(2, 1 << 2, 0), host(1, 1), host(2, 3 << 2 | 2, 0, 0x12345678),
                      host(1, 3), host(1, 4), bar(2, 0x10, 4, True, 0xfee00000), bar(2, 0x1c, 4, True, 0),
                      bar(2, 0x3c, 4, True, 1), bar(2, 0x30, 3)]
    s['intx'] = [host(0, 1), cf8(TDEV, 6, 2), cf8(TDEV, 4, 2, True, CMD_IO | CMD_MEM | CMD_INTX_DISABLE),
                 cf8(TDEV, 6, 2), cf8(TDEV, 4, 2, True, CMD_IO | CMD_MEM), host(0, 0), cf8(TDEV, 6, 2),
                 host(0, 1), host(0, 1), cf8(TDEV, 0x3c, 1, True, 9), cf8(TDEV, 0x3d, 1, True, 4),
                 host(0, 0), cf8(RNG, 4, 2, True, CMD_MEM | CMD_INTX_DISABLE), cf8(RNG, 6, 2)]
    s['cfg-api'] = [api(TDEV, 0, 8), api(TDEV, 0, 3), api(TDEV, 0xff8, 8, end=True),
                    api(TDEV, 0xffa, 8, True, 0xffffffffffffffff, end=True), api(TDEV, 0x100, 4),
                    api(RNG, 0x40, 8), api(RNG, 0x10, 4, True, 0xffffffff), api(RNG, 0x10, 4),
                    api(0, 0x10, 4, True, 0xffffffff), api(7, 0)]
    s['cf8-raw'] = [rec(3, 4, True, 0, 0, 0, 0x80001000), rec(3, 1, True, 1, 0, 0, 0x7f),
                    rec(3, 4, False, 0), rec(3, 2, True, 2, 0, 0, 0x8000), rec(3, 4, False, 4),
                    rec(3, 8, True, 0, 0, 0, 0x1234567880001004), rec(3, 3, False, 5),
                    rec(3, 1, False, 7)]
    return {name: b''.join(recs) for name, recs in s.items()}


if __name__ == '__main__':
    d = sys.argv[1] if len(sys.argv) > 1 else 'tests/fuzz/corpus/pci'
    os.makedirs(d, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)
