# rig-timeout: 220
# QEMU's edu device (1234:11e8) assigned to a tiny freestanding guest (tests/guests/vfio_edu.c,
# built by make guests, at /rig/guests/vfio_edu.bzImage) under kvmio --device vfio=BDF; the guest
# checks (one "UCALL SYNC edu: NAME ok" line each): find (BAR0 1 MiB in the MMIO32 window, INTA,
# an MSI capability), ident (ID register, liveness), fact (factorial through MMIO), dma (two 4 KiB
# patterns RAM -> device -> RAM and an unaligned piece: the IOMMU maps guest RAM at its GPAs), msi
# (raises, DMA and factorial completions arrive as the programmed vector), intx (three level
# interrupts in a row, acked in the handler: the second needs the VMM's unmask on EOI), intx-dis
# (COMMAND.Interrupt Disable holds one back, clearing it delivers it). Twice: the second run
# finds the device as the first left it. kvmio exits 0 each time; no IOMMU faults in L1; edu is
# back on its driver (none) afterwards. A third run puts edu behind kvmio's VT-d (see run 3).
img=/rig/guests/vfio_edu.bzImage
bdf=$(pci_find 1234:11e8) || { fail "no edu device (1234:11e8) in L1"; return; }
if [ ! -f "$img" ]; then
	fail "no $img: build it (make guests) before rig.sh, or run make check-rig"
	return
fi
[ -x "$KVMIO" ] || { fail "kvmio is not in L1 (rig.sh --kvmio PATH)"; return; }
info "edu at $bdf, IOMMU group $(pci_group "$bdf")"
vfio_bind "$bdf"
l1_dmesg_mark
# edu_run NAME KVMIO-FLAGS CHECKS: one run of the guest, its checks (one "edu: CHECK ok" line each).
edu_run() {
	# shellcheck disable=SC2086
	vmm_run "$KVMIO" run --kernel "$img" --memory 256M --serial stdio --device "vfio=$bdf" $2
	expect_rc 0
	expect_no_stderr 'error|warning'
	sed -n 's/^.*UCALL SYNC edu: note: /info: guest note: /p' "$RIG_WORK/serial.log"
	if grep -q 'UCALL ABORT' "$RIG_WORK/serial.log"; then
		fail "$1: guest: $(sed -n 's/^.*UCALL ABORT //p' "$RIG_WORK/serial.log" | head -n 1)"
	fi
	for c in $3; do
		line=$(sed -n "s/^.*UCALL SYNC edu: $c ok: //p" "$RIG_WORK/serial.log" | head -n 1)
		if [ -n "$line" ]; then ok "$1: $c: $line"; else fail "$1: $c: no 'edu: $c ok' line"; fi
	done
	if grep -q 'UCALL SYNC edu: all checks passed' "$RIG_WORK/serial.log" && grep -q 'UCALL DONE' "$RIG_WORK/serial.log"; then
		ok "$1: the guest passed every check and powered off"
	else
		fail "$1: the guest did not finish (UCALL DONE missing)"
	fi
}
checks="find ident fact dma msi intx intx-dis"
edu_run "run 1" "" "$checks"
edu_run "run 2" "" "$checks"
expect_l1_dmesg_clean

# Run 3, behind kvmio's VT-d (--iommu): the same checks with translation off (the container maps
# all of RAM, as without it), then vtd: the guest's own tables for edu, mirrored by kvmio into the
# container. L1's IOMMU refuses the two writes the guest expects refused: exactly those faults
# are in L1's log, from edu, at the guest's two addresses; nothing else.
l1_dmesg_mark
edu_run "run 3 (--iommu)" "--iommu -v" "$checks vtd"
expect_shadow "vfio-$bdf"
want=$(sed -n 's/^.*UCALL SYNC edu: vtd ok: .*refused at GPA 0x\([0-9a-f]*\) and at the unmapped IOVA 0x\([0-9a-f]*\).*/\1 \2/p' \
	"$RIG_WORK/serial.log" | head -n 1)
expect_l1_dmar_faults "run 3: the guest's two unmapped addresses" "$bdf" "$want"
expect_l1_no_errors_besides_faults 'vfio|iommu|dmar|pci|kvm'
