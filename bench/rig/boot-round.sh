# rig-timeout: 600
# rig-needs: vmlinux
# One round of bench/boot: the same L2 kernel and initramfs, vCPUs and memory booted by kvmio,
# QEMU microvm and QEMU q35 (KVM in L1), in that order, then the same kernel uncompressed
# (/rig/vmlinux, an ELF: tests/rig/mkimg.sh vmlinux) by kvmio and QEMU microvm; the guest's init
# powers off at once (rig.l2=none rig.action=poweroff). bench/boot runs N rounds, so the VMMs
# interleave. Times are taken in L1 (lib/bench.sh timed_boot): VMM start to the guest's
# "RIG-L2 init" line on the console, and to the VMM's exit.
. /rig/ext/lib/bench.sh
words="rig.l2=none rig.action=poweroff"

kvmio_cmd -- $words
# shellcheck disable=SC2086
timed_boot kvmio $CMD $APPEND_OPT "$APPEND"

# microvm: qboot firmware, direct kernel boot, ACPI (HW-reduced; poweroff through the GED's
# sleep registers), ISA serial on ttyS0, no PCI, no option ROMs; no virtio-mmio devices.
qemu_cmd microvm,x-option-roms=off,isa-serial=on,rtc=on -- $words
# shellcheck disable=SC2086
timed_boot microvm $CMD $APPEND_OPT "$APPEND"

# q35: SeaBIOS, linuxboot_dma option ROM, as tests/rig/scenarios/qemu-ref.sh.
qemu_cmd q35 -- $words
# shellcheck disable=SC2086
timed_boot q35 $CMD $APPEND_OPT "$APPEND"

# The vmlinux: no decompression in the guest (and no KASLR). kvmio loads its PT_LOAD segments
# and enters startup_64 (src/boot/elf.c); QEMU's -kernel finds the PVH note (Debian has
# CONFIG_PVH=y) and qboot enters the kernel's 32-bit PVH entry.
L2_KERNEL=$L2_VMLINUX
kvmio_cmd -- $words
# shellcheck disable=SC2086
timed_boot kvmio-vmlinux $CMD $APPEND_OPT "$APPEND"

qemu_cmd microvm,x-option-roms=off,isa-serial=on,rtc=on -- $words
# shellcheck disable=SC2086
timed_boot microvm-vmlinux $CMD $APPEND_OPT "$APPEND"
L2_KERNEL=$L2_BZIMAGE
