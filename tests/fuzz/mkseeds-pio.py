#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the hand-made seeds in tests/fuzz/corpus/pio/ (record format: pio_run in
tests/fuzz/pio_world.h). Seeds use raw ports (mode 4) so they do not depend on
the pio_bases table. Run from the repository root."""
import os
import struct

SIZE = {1: 0, 2: 1, 4: 2, 3: 8, 8: 9, 5: 10, 6: 11, 7: 12, 0: 13, 9: 14, 16: 15}


def io(port, size, write, val=0):
    return struct.pack('<BBBBI', SIZE[size] | (0x10 if write else 0) | (4 << 5),
                       port & 0xFF, port >> 8, 0, val & 0xFFFFFFFF)


def out(port, val, size=1):
    return io(port, size, True, val)


def inp(port, size=1):
    return io(port, size, False)


def host_rx(data):
    assert 1 <= len(data) <= 4
    return struct.pack('<BBBB4s', 5 << 5, len(data), 0, 0, data.ljust(4, b'\0'))


def event(n, b1=0, b2=0, b3=0, val=0):
    return struct.pack('<BBBBI', (6 << 5) | n, b1, b2, b3, val)


COM1 = 0x3F8
seeds = {}

# Linux 8250 autoconfig() + autoconfig_16550a(), then serial8250_do_startup()
# and a console line at 115200 8N1 with FIFOs, IRQs on, host input echoed.
s = [inp(COM1 + 1), out(COM1 + 1, 0), inp(COM1 + 1), out(COM1 + 1, 0x0F), inp(COM1 + 1),
     out(COM1 + 1, 0), inp(COM1 + 4), out(COM1 + 4, 0x1A), inp(COM1 + 6), out(COM1 + 4, 0),
     out(COM1 + 3, 0xBF), out(COM1 + 2, 0), out(COM1 + 3, 0), out(COM1 + 2, 0x01),
     inp(COM1 + 2), out(COM1 + 3, 0x80), inp(COM1 + 2), out(COM1 + 3, 0xBF), inp(COM1 + 2),
     out(COM1 + 3, 0), inp(COM1 + 4), out(COM1 + 3, 0xE0), inp(COM1 + 2), out(COM1 + 3, 0),
     out(COM1 + 2, 0x21), inp(COM1 + 2), out(COM1 + 3, 0x80), out(COM1 + 2, 0x21),
     inp(COM1 + 2), out(COM1 + 3, 0), out(COM1 + 1, 0x40), inp(COM1 + 1), out(COM1 + 1, 0),
     out(COM1 + 2, 0x07), out(COM1 + 2, 0), inp(COM1 + 5), inp(COM1 + 0), inp(COM1 + 2),
     inp(COM1 + 6),
     out(COM1 + 3, 0x83), out(COM1 + 0, 0x01), out(COM1 + 1, 0x00), out(COM1 + 3, 0x03),
     out(COM1 + 2, 0xC7), out(COM1 + 4, 0x0B), out(COM1 + 1, 0x02), inp(COM1 + 2),
     out(COM1 + 1, 0x00), out(COM1 + 1, 0x02), inp(COM1 + 2), out(COM1 + 1, 0x05)]
for c in b'kvmio\n':
    s += [inp(COM1 + 5), out(COM1, c)]
s += [host_rx(b'ls\r'), inp(COM1 + 2), inp(COM1 + 5), inp(COM1), inp(COM1), inp(COM1),
      inp(COM1 + 5), inp(COM1 + 2)]
seeds['uart-16550a-autoconfig'] = s

# Linux i8042 probe: flush, controller self-test, CTR read/write, AUX loopback
# (the MUX check), AUX and keyboard resets, identify.
s = [inp(0x64), inp(0x60), out(0x64, 0xAA), inp(0x64), inp(0x60), out(0x64, 0x20), inp(0x60),
     out(0x64, 0x60), out(0x60, 0x65), out(0x64, 0xA8), out(0x64, 0xD3), out(0x60, 0xF0),
     inp(0x64), inp(0x60), out(0x64, 0xD3), out(0x60, 0x56), inp(0x60), out(0x64, 0xD3),
     out(0x60, 0xA4), inp(0x60), out(0x64, 0xA9), inp(0x60), out(0x64, 0xAB), inp(0x60),
     out(0x64, 0xD4), out(0x60, 0xFF), inp(0x60), inp(0x60), inp(0x60), out(0x64, 0xD4),
     out(0x60, 0xE9), inp(0x60), inp(0x60), inp(0x60), inp(0x60), out(0x60, 0xFF), inp(0x60),
     inp(0x60), out(0x60, 0xF2), inp(0x60), inp(0x60), inp(0x60), out(0x60, 0xF0),
     out(0x60, 0x00), inp(0x60), inp(0x60), out(0x60, 0xF4), inp(0x60), out(0x64, 0xD0),
     inp(0x60)]
seeds['i8042-selftest'] = s

# psmouse probe and setup through controller command 0xD4: the IntelliMouse
# knock (sample rates 200/100/80, then get ID), resolution, status, modes.
s = []
for cmd in ([0xF5], [0xF6], [0xE6], [0xE8, 0x03], [0xF3, 0xC8], [0xF3, 0x64], [0xF3, 0x50],
            [0xF2], [0xE9], [0xEA], [0xEB], [0xF0], [0xEC], [0xEE], [0xE7], [0xF4], [0xFE],
            [0x00], [0xFF]):
    for b in cmd:
        s += [out(0x64, 0xD4), out(0x60, b), inp(0x64), inp(0x60)]
    s += [inp(0x64), inp(0x60), inp(0x64), inp(0x60), inp(0x64), inp(0x60)]
seeds['i8042-psmouse'] = s

# mc146818_get_time(): wait for UIP to clear, read the time with NMI masked,
# B and the century; then set the time (SET in B) and enable periodic IRQs.
s = [out(0x70, 0x8A), inp(0x71)]
for reg in (0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32, 0x0B, 0x0A):
    s += [out(0x70, 0x80 | reg), inp(0x71)]
s += [out(0x70, 0x0B), out(0x71, 0x82)]
for reg, v in ((0x00, 0x30), (0x02, 0x59), (0x04, 0x23), (0x07, 0x31), (0x08, 0x12),
               (0x09, 0x99), (0x32, 0x19)):
    s += [out(0x70, reg), out(0x71, v)]
s += [out(0x70, 0x0B), out(0x71, 0x02), out(0x70, 0x0A), out(0x71, 0x26),
      out(0x70, 0x0B), out(0x71, 0x42), event(1, 20, 0, 0, 1000), out(0x70, 0x0C), inp(0x71),
      out(0x70, 0x17), inp(0x71), out(0x70, 0x35), inp(0x71), inp(0x70), out(0x70, 0x0B, 2)]
seeds['cmos-time-read'] = s

# ACPI: PM1 status/enable, SCI via a GPE, the PM timer, an S3 request (ignored),
# the reset register read.
s = [inp(0x600, 2), inp(0x602, 2), out(0x602, 0x0100, 2), inp(0x604, 2), out(0x604, 0x0001, 2),
     inp(0x608, 4), inp(0x608, 4), inp(0x608, 4), inp(0x620), inp(0x622),
     out(0x622, 0x01), event(0, 0, 0), inp(0x620), out(0x620, 0x01), inp(0x608, 4),
     out(0x604, (3 << 10) | 0x2000, 2), inp(0x604, 2), inp(0x610), inp(0x600, 4)]
seeds['acpi-pm'] = s

# Odd sizes and PCI config ports that nobody claims here.
s = [out(0xCF8, 0x80000000, 4), inp(0xCFC, 4), inp(0xCFD, 3), inp(0xCFE, 2), out(0xCFC, 0, 3),
     inp(COM1, 8), inp(COM1 + 6, 4), inp(0x70, 3), inp(0x5FE, 4), inp(0x603, 4), inp(0x60A, 8),
     io(0x80, 0, True), io(0x80, 16, False), inp(0xFFFF, 4), out(0x2E, 0x55, 2), inp(0x4E, 4),
     inp(0x92), out(0x92, 0x03), out(0x80, 0xAB)]
seeds['odd-sizes'] = s

outdir = 'tests/fuzz/corpus/pio'
os.makedirs(outdir, exist_ok=True)
for name, recs in seeds.items():
    with open(os.path.join(outdir, name), 'wb') as f:
        f.write(b''.join(recs))
