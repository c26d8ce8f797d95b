#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the hand-made seeds in tests/fuzz/corpus/boot/ (input: a whole --kernel file,
tests/fuzz/fuzz_boot.c): vmlinux-like ELF images as tests/unit/test_boot.c makes them (one
that places in the fuzzer's 16 MiB guest, with bss; one laid out like Debian's vmlinux, with
.data..percpu's segment and a PT_NOTE, that does not fit; one below 1 MiB), and a bzImage
header as test_boot.c's make_image. Run from the repository root."""
import os
import struct

MiB = 1 << 20
OUT = 'tests/fuzz/corpus/boot'


def elf(segs, entry, notes=()):
    """segs: (paddr, filesz, memsz) PT_LOADs, file data packed after the headers."""
    phnum = len(segs) + len(notes)
    data_off = 64 + 56 * phnum
    body = bytearray()
    ph = b''
    for i, (paddr, filesz, memsz) in enumerate(segs):
        off = data_off + len(body)
        body += bytes((j * 7 + i) & 0xff for j in range(filesz))
        ph += struct.pack('<IIQQQQQQ', 1, 7, off, 0xffffffff80000000 + paddr, paddr,
                          filesz, memsz, 0x1000)
    for paddr, size in notes:
        ph += struct.pack('<IIQQQQQQ', 4, 4, data_off, paddr, paddr, size, size, 4)
    ident = b'\x7fELF' + bytes([2, 1, 1]) + bytes(9)
    eh = ident + struct.pack('<HHIQQQIHHHHHH', 2, 62, 1, entry, 64, 0, 0, 64, 56, phnum,
                             64, 0, 0)
    return eh + ph + bytes(body)


def bzimage():
    b = bytearray(8192)
    b[0x1F1] = 4
    b[0x1FE:0x200] = b'\x55\xaa'
    b[0x200] = 0xEB
    b[0x201] = 0x6A
    b[0x202:0x206] = b'HdrS'
    b[0x206:0x208] = struct.pack('<H', 0x020F)
    b[0x211] = 1
    b[0x234] = 1
    b[0x230:0x234] = struct.pack('<I', 2 * MiB)
    b[0x236:0x238] = struct.pack('<H', 1)
    b[0x238:0x23C] = struct.pack('<I', 2047)
    b[0x22C:0x230] = struct.pack('<I', 0x7FFFFFFF)
    b[0x258:0x260] = struct.pack('<Q', 16 * MiB)
    b[0x260:0x264] = struct.pack('<I', MiB)
    return bytes(b)


SEEDS = {
    'vmlinux-fits': elf([(2 * MiB, 0x800, 0x1800), (4 * MiB, 0x400, 0x400)], 2 * MiB + 0x40),
    'vmlinux-debian-layout': elf([(16 * MiB, 0x400, 0x400), (42 * MiB, 0x200, 0x200),
                                  (0x3044000, 0x100, 0x100), (0x3079000, 0x200, 0x1000)],
                                 16 * MiB, notes=[(0x24c1990, 0x20)]),
    'vmlinux-low': elf([(0x7000, 0x100, 0x100)], 0x7000),
    'bzimage': bzimage(),
}

os.makedirs(OUT, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)
