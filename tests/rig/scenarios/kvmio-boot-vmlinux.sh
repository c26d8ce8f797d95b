# rig-needs: vmlinux
# kvmio boots Debian's kernel uncompressed: /rig/vmlinux, the ELF inside the L2 bzImage
# (tests/rig/mkimg.sh vmlinux), loaded segment by segment and entered at startup_64 (src/boot/
# elf.c), with the L2 initramfs, 2 vCPUs; the guest reports what it sees and powers off. Beyond
# kvmio-boot-1cpu's checks: the kernel runs where it was linked (no decompressor, so no KASLR):
# _text at the vmlinux's virtual address and "Kernel code" at its entry's physical address.
L2_KERNEL=/rig/vmlinux
if [ ! -f "$L2_KERNEL" ]; then
	fail "no $L2_KERNEL in L1 (rig.sh adds it for a scenario with '# rig-needs: vmlinux')"
	return 0
fi
kvmio_boot --cpus 2 --memory 512M -- rig.l2=vmlinux
expect_rc 0
expect_init
expect_cpus 2
expect_mem 512M
expect_dmesg_clean
expect_action poweroff
# Debian's x86-64 kernel is linked at 0xffffffff81000000, physical 0x1000000 (CONFIG_PHYSICAL_START),
# its e_entry (startup_64) there too: busybox od reads it from the ELF header (offset 24).
entry=$(od -An -tx1 -j24 -N8 "$L2_KERNEL" | awk '{ for (i = NF; i >= 1; i--) h = h $i } END { sub(/^0+/, "", h); print h }')
expect_eq "vmlinux e_entry" "$entry" 1000000
expect_eq "L2 _text (no KASLR)" "$(l2_value text)" ffffffff81000000
expect_eq "L2 Kernel code start (physical)" "$(l2_value kernel_code)" "0$entry"
