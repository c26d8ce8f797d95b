#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the hand-made seeds in tests/fuzz/corpus/vfio/: what
tests/unit/test_vfio_dev.c does to an assigned device, in the input format of
tests/fuzz/fuzz_vfio.c (a flags byte, the device: the template with patches or
raw config space, then 12-byte records). The template is the unit test's
device: BAR 0 128 KiB and BAR 2 (64-bit) 64 KiB mmap'd, I/O BAR 1, BAR 4 16
KiB, a ROM; MSI (4 vectors, 64-bit, maskable) at 0x50, MSI-X (8 vectors, table
at BAR 2 + 0x1800, PBA at + 0x3800) at 0x70, PCIe at 0x80. Run from the
repository root; an argument names another directory to write to. The corpus
in the repository is these seeds and what a short fuzzing run found that
reaches new code (tests/fuzz/fuzz.mk says how)."""
import os
import struct
import sys

SIZES = {1: 0, 2: 1, 4: 2, 8: 3, 3: 7}
# Flags byte.
CFG4K, NORESIZE, NO_INTX, NO_MSI, NO_MSIX, TEMPLATE, ROM, NO_MMAP = (1 << i for i in range(8))
CMD_IO, CMD_MEM, CMD_MASTER, CMD_INTX_DISABLE = 1, 2, 4, 0x400
# op_cfg's capability selector: MSI, MSI-X, PCIe, the first extended one.
AT_MSI, AT_MSIX, AT_PCIE, AT_EXT = range(4)


def rec(kind, length=1, wr=False, r1=0, r2=0, r3=0, val=0):
    return bytes([kind << 4 | (8 if wr else 0) | SIZES[length], r1 & 0xff, r2 & 0xff, r3 & 0xff]) + \
        struct.pack('<Q', val & (1 << 64) - 1)


def cfg(reg, length=4, wr=False, val=0, path=0, cap=None):
    """A config access: path 0 0xCF8/0xCFC, 1 ECAM, 2 pci_cfg_read/write; @cap: @reg is an
    offset into that capability."""
    kind = (0, 2, 4)[path]
    if cap is not None:
        return rec(kind, length, wr, reg & 0x3f, 0x10 | cap << 5, 0, val)
    return rec(kind, length, wr, reg & 0xff, reg >> 8, 0, val)


def command(val):
    return rec(5, 1, False, 0, 0, 0, val)


def msi_flags(enable, mme=0):
    return rec(5, 1, False, 1, (1 if enable else 0) | mme << 4)


def msix_flags(enable, maskall=False):
    return rec(5, 1, False, 2, (1 if enable else 0) | (2 if maskall else 0))


def msi_mask(val):
    return rec(5, 1, False, 3, 0, 0, val)


def bar_reg(i, val):
    """Write BAR @i's register (6: the ROM's)."""
    return rec(5, 1, False, 4, i, 0, val)


def bar(i, off, length=4, wr=False, val=0):
    """BAR @i (6: the ROM) at @off, wherever it is: r1 % 7 picks the BAR, its high nibble
    holds bits 16-19 of the offset."""
    hi = off >> 16
    return rec(6, length, wr, hi << 4 | (i - hi * 16) % 7, off & 0xff, off >> 8, val)


def msix_io(off, length=4, wr=False, val=0, pba=False):
    """Around the MSI-X table (or PBA): @off from 8 bytes before its start."""
    return rec(9 if pba else 8, length, wr, 0, off & 0xff, off >> 8, val)


def msix_driver(vec, enable=True, maskall=False, set_flags=True, masked=False, addr=None, data=None):
    r1 = (4 if set_flags else 0) | (1 if enable else 0) | (2 if maskall else 0) | (vec >> 8) << 4
    r3 = (1 if addr is not None else 0) | (2 if data is not None else 0) | (4 if masked else 0)
    val = (addr or 0) & 0xffffffff | ((data or 0) << 32)
    return rec(10, 1, False, r1, vec & 0xff, r3, val)


def msi_driver(enable=True, mme=0, data=0x4041, mask=0):
    return rec(11, 1, False, (1 if enable else 0) | mme << 4, data & 0xff, (data >> 8) & 0xf8 | (4 if mask else 0),
               mask << 16)


def signal_msix(vec):
    return rec(12, 1, False, 0, vec)


def signal_msi(vec):
    return rec(12, 1, False, 1, vec)


def signal_intx():
    return rec(12, 1, False, 3)


def device_writes(reg, val):
    """The device changes config bytes behind kvmio's back."""
    return rec(12, 1, False, 2, reg & 0xff, reg >> 8, val)


def bar_move(i, val=0, decode_off=True, size=False, hi=False, cmd=None):
    r1 = (1 if decode_off else 0) | (2 if size else 0) | (4 if hi else 0)
    r3 = cmd if cmd is not None else 0
    return rec(13, 1, False, r1, i, r3, val)


PBA = rec(14)
WALKS = rec(15, 1, False, 0)


def map_fail(on=True):
    return rec(15, 1, False, 2, 1 if on else 0)


def read_fail(on=True):
    return rec(15, 1, False, 3, 1 if on else 0)


def template(flags, patches=(), *ops):
    out = bytes([flags | TEMPLATE, len(patches)])
    for off, v in patches:
        out += bytes([off & 0xff, off >> 8, v])
    return out + b''.join(ops)


def raw(flags, codes, cfg256, window, *ops):
    assert len(codes) == 7 and len(cfg256) == 256 and len(window) == 256
    return bytes([flags & ~TEMPLATE]) + bytes(codes) + bytes(cfg256) + bytes(window) + b''.join(ops)


def raw_cfg(caps, ext=()):
    """A config space with a capability list: caps = [(offset, id, bytes after the header)]."""
    c = bytearray(256)
    c[0:4] = struct.pack('<HH', 0x8086, 0x1234)
    c[6] = 0x10					# status: capability list
    c[8:12] = struct.pack('<I', 0x02000001)
    c[0x10:0x14] = struct.pack('<I', 0xfe000000)
    c[0x14:0x18] = struct.pack('<I', 0xe001)
    c[0x3d] = 1
    c[0x34] = caps[0][0] if caps else 0
    for k, (off, cid, body) in enumerate(caps):
        nxt = caps[k + 1][0] if k + 1 < len(caps) else 0
        c[off] = cid
        c[off + 1] = nxt
        c[off + 2:off + 2 + len(body)] = body
    w = bytearray(256)
    for off, word in ext:
        w[off:off + 4] = struct.pack('<I', word)
    return c, w


ENABLE = command(CMD_IO | CMD_MEM | CMD_MASTER)


def seeds():
    s = {}
    s['identity-caps'] = template(CFG4K | ROM, (), *[cfg(r) for r in range(0, 0x40, 4)],
                                  *[cfg(r, 4, path=1) for r in (0x40, 0x50, 0x70, 0x80, 0x100, 0x140,
                                                                0x180, 0x1c0, 0xffc)], WALKS)
    s['odd-accesses'] = template(CFG4K | ROM, (),
                                 cfg(1, 2), cfg(3, 1), cfg(0x3e, 8, path=2), cfg(0xffe, 8, path=2),
                                 cfg(0x52, 3, path=2), cfg(0x10, 2, True, 0xffff), cfg(0x11, 1, True, 0xff),
                                 cfg(0, 4, True, 0), cfg(0x3c, 1, True, 0x0b), cfg(0x0c, 4, True, 0xffffffff),
                                 cfg(0, 8, True, 0xffffffffffffffff, path=2), cfg(0x40, 4, True, 0x5a5a5a5a),
                                 cfg(2, 2, True, 0, cap=AT_MSI), cfg(2, 2, True, 0xffff, cap=AT_MSIX),
                                 cfg(0, 4, True, 0xffffffff, cap=AT_EXT, path=1), WALKS)
    s['bar-sizing'] = template(CFG4K | ROM, (), command(0),
                               *[bar_move(i, size=True) for i in range(7)],
                               *[cfg(0x10 + 4 * i) for i in range(6)], cfg(0x30), ENABLE)
    s['bar-move'] = template(CFG4K | ROM, (), ENABLE, bar(0, 0x10), bar(0, 0x1fffc, 4),
                             bar(1, 4, 2, True, 7), bar(2, 0x1800, 8), bar(4, 0x3ff0, 8, True, 1),
                             bar_move(0, 0xd0000000), bar_move(2, 0x1_0000_0000c, hi=True),
                             bar_move(4, 0xfee00000), bar_move(1, 0xd001), bar_move(6, 0xd8000001),
                             bar(0, 0x10), bar(2, 0x1800, 4), bar(6, 0x10), bar_reg(6, 0xd8000001),
                             bar(6, 0x7ff0, 8), bar_move(0, 0xd0000000, decode_off=False),
                             bar_move(0, 0xd0020000, cmd=0x0f), command(0), bar(0, 0), ENABLE)
    s['decode-off-touched'] = template(CFG4K, (), command(0), bar_reg(0, 0xd0000000), bar(0, 0x100),
                                       bar_reg(0, 0xfebc0000), ENABLE, bar(0, 0x100, 8, True, 1),
                                       bar_move(2, 0xfebc0000, hi=False))		# onto BAR 0
    s['map-fails'] = template(CFG4K | ROM, (), map_fail(), ENABLE, bar_move(0, 0xd0000000),
                              bar(0, 0x40), map_fail(False), bar_move(0, 0xd1000000), bar(0, 0x40),
                              command(0), ENABLE)
    s['msix-table'] = template(CFG4K, (), ENABLE, msix_io(8, 4), msix_io(8, 8, True, 0xfee00000),
                               msix_io(0x14, 4, True, 0x4041), msix_io(0x14 + 4, 4, True, 0),
                               msix_io(0, 8), msix_io(8 + 0x7c, 8), msix_io(8, 4, pba=True),
                               msix_io(0, 8, True, 0xffffffffffffffff, pba=True), msix_io(6, 4))
    s['msix-enable'] = template(CFG4K, (), ENABLE, *[msix_driver(v) for v in range(8)],
                                *[signal_msix(v) for v in range(8)], PBA, msix_driver(3, masked=True),
                                signal_msix(3), PBA, msix_driver(3), PBA, msix_flags(True, True),
                                signal_msix(1), PBA, msix_flags(True), msix_flags(False), PBA)
    s['msix-grow'] = template(CFG4K, (), ENABLE, msix_driver(0), msix_driver(5), msix_driver(7),
                              msix_driver(2, maskall=True), msix_driver(6), signal_msix(6),
                              msix_driver(8), msix_driver(1, addr=0xfee01004, data=0x55))
    s['msix-noresize'] = template(CFG4K | NORESIZE, (), ENABLE, msix_driver(0), msix_driver(7),
                                  signal_msix(7), msix_driver(7, addr=0x12345678), msix_flags(False))
    s['msi'] = template(CFG4K, (), ENABLE, msi_driver(), signal_msi(0), msi_driver(mme=2),
                        signal_msi(3), msi_mask(0xa), signal_msi(1), msi_flags(False),
                        msi_driver(mme=7, mask=1), msi_flags(True, 3), signal_msi(2))
    s['msix-over-msi'] = template(CFG4K, (), ENABLE, msi_driver(), msix_driver(0), signal_msi(0),
                                  signal_msix(0), msi_flags(False), msix_flags(False), msi_driver(),
                                  signal_intx())
    s['intx'] = template(CFG4K | ROM, (), ENABLE, signal_intx(), cfg(6, 2),
                         command(CMD_IO | CMD_MEM | CMD_INTX_DISABLE), signal_intx(), cfg(6, 2),
                         ENABLE, signal_intx(), msi_driver(), signal_intx(), msi_flags(False),
                         signal_intx())
    s['no-intx-msi-msix'] = template(NO_INTX | NO_MSI | NO_MSIX, (), ENABLE, signal_intx(),
                                     msi_driver(), msix_driver(0), signal_msix(0), cfg(0x3c, 4), WALKS)
    s['cfg256-no-mmap'] = template(NO_MMAP, (), ENABLE, cfg(0x100, 4, path=1), cfg(0xffc, 4, path=2),
                                   bar(0, 0x40), bar(2, 0x40, 8, True, 3), msix_driver(0), WALKS)
    s['device-changes'] = template(CFG4K | ROM, (), ENABLE, device_writes(6, 0xffff),
                                   device_writes(0x40, 0x12345678), device_writes(0x52, 0),
                                   device_writes(0x72, 0x8000), device_writes(0x100, 0),
                                   cfg(4), cfg(0x40), cfg(0x50), cfg(0x70), WALKS, read_fail(),
                                   cfg(0), cfg(0x40), bar(4, 0x10), bar(0, 0x10), read_fail(False),
                                   cfg(0x44))
    # Patched templates: a capability loop, a hidden ID, MSI-X in a BAR that is not there,
    # an extended list that loops, the PBA over the table.
    s['patch-cap-loop'] = template(CFG4K, [(0xd1, 0x40)], WALKS, cfg(0xd0), ENABLE)
    s['patch-hidden-id'] = template(CFG4K, [(0x68, 0x11), (0xc0, 0x09), (0x40, 0x0f)], WALKS, ENABLE)
    s['patch-msix-bir'] = template(CFG4K, [(0x74, 0x05), (0x78, 0x07)], ENABLE, msix_driver(0), WALKS)
    s['patch-msix-past-bar'] = template(CFG4K, [(0x74, 0xf2), (0x75, 0xff), (0x72, 0xff), (0x73, 0x07)],
                                        ENABLE, msix_driver(2047), msix_driver(0), signal_msix(0))
    s['patch-pba-over-table'] = template(CFG4K, [(0x78, 0x02), (0x79, 0x18)], ENABLE, msix_driver(0),
                                         PBA, msix_io(8, 4, pba=True))
    s['patch-ext-loop'] = template(CFG4K, [(0x1c2, 0x00), (0x1c3, 0x10)], WALKS, cfg(0x1c0, 4, path=1))
    s['patch-msi-32'] = template(CFG4K, [(0x52, 0x00), (0x53, 0x00)], ENABLE, msi_driver(), signal_msi(0))
    # Raw config spaces.
    c, w = raw_cfg([(0x40, 0x05, struct.pack('<H', 0x0080)), (0x60, 0x11, struct.pack('<HII', 3, 0x1000, 0x1800)),
                    (0x80, 0x10, struct.pack('<H', 2))], [(0, 0x0001 | 1 << 16 | 0x100 << 20)])
    s['raw-ext-window-loop'] = raw(CFG4K, [0x0c, 0x01, 0x04, 0, 0, 0, 0], c, w, WALKS, ENABLE,
                                   msix_driver(1), msi_driver(), cfg(0x100, 4, path=1),
                                   cfg(0x900, 4, path=1))
    c, w = raw_cfg([(0x40, 0x05, b''), (0x44, 0x05, b'')])
    s['raw-two-msi'] = raw(0, [0x02, 0, 0, 0, 0, 0, 0], c, w, WALKS, ENABLE, msi_driver())
    c, w = raw_cfg([(0xfc, 0x11, struct.pack('<H', 0))])
    s['raw-cap-at-end'] = raw(NO_MMAP, [0x0b, 0x01, 0x07, 0x07, 0x05, 0x0f, 0], c, w, WALKS, ENABLE)
    c, w = raw_cfg([])
    c[0x10:0x14] = struct.pack('<I', 0x0000000c)
    s['raw-no-caps-64bit'] = raw(ROM | CFG4K, [0x0d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01], c, w, WALKS,
                                 bar_move(0, 0xffffffff_fff00000, hi=True), ENABLE, bar(0, 0))
    return s


if __name__ == '__main__':
    d = sys.argv[1] if len(sys.argv) > 1 else 'tests/fuzz/corpus/vfio'
    os.makedirs(d, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)
