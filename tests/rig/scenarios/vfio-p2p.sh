# rig-timeout: 200
# Peer-to-peer DMA between two devices assigned to one kvmio guest: edu (1234:11e8, its DMA
# engine) and the P2P NVMe (pci_p2p_nvme: QEMU's NVMe with a 1 MiB controller memory buffer in
# BAR2), driven by the tiny guest tests/guests/vfio_p2p.c (/rig/guests/vfio_p2p.bzImage) under
# kvmio --device vfio=EDU --device vfio=NVME. kvmio maps each BAR piece in the host IOMMU at the
# address the guest gave the BAR (docs/vfio.md, DMA), so edu's DMA to the CMB's guest address
# reaches the NVMe. The guest's checks, one "UCALL SYNC p2p: NAME ok" line each: find, mask (edu
# reaches past 28 bits), cmb (located through CMBLOC/CMBSZ), p2p-write (RAM -> edu -> CMB, read
# back through BAR2 by the CPU), p2p-read (CMB -> edu -> RAM), moved (BAR2 moved by the guest: the
# CPU and a DMA find the CMB at the new address; a DMA to the old one changes nothing), back.
# In L1: kvmio exits 0 with no error or warning (a BAR piece it could not map for peer-to-peer
# DMA is a warning); L1's IOMMU faulted at exactly the old address the guest names, from edu, and
# nowhere else (the control: where kvmio has no peer-to-peer mapping, the DMA is refused); no
# VFIO/PCI errors; and what edu wrote into the CMB is in the device: L1 reads it with devmem
# through the NVMe's BAR2 after the guest has gone.
img=/rig/guests/vfio_p2p.bzImage
edu=$(pci_find 1234:11e8) || { fail "no edu device (1234:11e8) in L1"; return; }
nv=$(pci_p2p_nvme) || { fail "no P2P NVMe (1b36:0010 with a BAR2, rig.sh's p2pnv) in L1"; return; }
if [ ! -f "$img" ]; then
	fail "no $img: build it (make guests) before rig.sh, or run make check-rig"
	return
fi
[ -x "$KVMIO" ] || { fail "kvmio is not in L1 (rig.sh --kvmio PATH)"; return; }
# BAR2 as L1 sees it: "START END FLAGS" (third line of sysfs resource).
bar2=$(sed -n 3p "/sys/bus/pci/devices/$nv/resource")
info "edu at $edu (IOMMU group $(pci_group "$edu")), P2P NVMe at $nv (group $(pci_group "$nv"), BAR2 in L1: $bar2)"
[ "$(pci_group "$edu")" != "$(pci_group "$nv")" ] || fail "edu and the NVMe share an IOMMU group"
vfio_bind "$edu" "$nv"
[ "$RIG_FAILED" = 0 ] || return
l1_dmesg_mark
vmm_run "$KVMIO" run --kernel "$img" --memory 512M --serial stdio --device "vfio=$edu" --device "vfio=$nv"
expect_rc 0
expect_no_stderr 'error|warning'
sed -n 's/^.*UCALL SYNC p2p: note: /info: guest note: /p' "$RIG_WORK/serial.log"
if grep -q 'UCALL ABORT' "$RIG_WORK/serial.log"; then
	fail "guest: $(sed -n 's/^.*UCALL ABORT //p' "$RIG_WORK/serial.log" | head -n 1)"
fi
for c in find mask cmb p2p-write p2p-read moved back; do
	line=$(sed -n "s/^.*UCALL SYNC p2p: $c ok: //p" "$RIG_WORK/serial.log" | head -n 1)
	if [ -n "$line" ]; then ok "$c: $line"; else fail "$c: no 'p2p: $c ok' line"; fi
done
if grep -q 'UCALL SYNC p2p: all checks passed' "$RIG_WORK/serial.log" && grep -q 'UCALL DONE' "$RIG_WORK/serial.log"; then
	ok "the guest passed every check and powered off"
else
	fail "the guest did not finish (UCALL DONE missing)"
fi

# L1's IOMMU: the one address the guest expects refused (the CMB's old place), from edu; no other
# fault, no VFIO/PCI error.
want=$(sed -n 's/^.*UCALL SYNC p2p: moved ok: .*; refused at 0x\([0-9a-f]*\).*/\1/p' "$RIG_WORK/serial.log" | head -n 1)
expect_l1_dmar_faults "the CMB's old address" "$edu" "$want"
expect_l1_no_errors_besides_faults 'vfio|iommu|dmar|pci|nvme|kvm'

# The data is in the device: each region the guest names ("p2p: l1-check off=0xOFF bytes=HEX",
# the first 32 bytes edu wrote there) read by L1 through the NVMe's BAR2 with devmem, now that
# kvmio has closed the device (vfio-pci released the BAR; memory decode is on again, else it is
# turned on here for the read).
base=$(echo "$bar2" | cut -d' ' -f1)
cfg=/sys/bus/pci/devices/$nv/config
cmd=$(od -An -tx2 -j4 -N2 "$cfg" | tr -d ' ')
if [ $((0x$cmd & 2)) = 0 ]; then
	info "NVMe COMMAND 0x$cmd after kvmio: memory decode off; on for the read"
	printf "\\$(printf %o $(((0x$cmd | 2) & 0xff)))\\$(printf %o $(((0x$cmd >> 8) & 0xff)))" |
		dd of="$cfg" bs=1 seek=4 count=2 conv=notrunc 2>/dev/null
fi
n=0
sed -n 's/^.*UCALL SYNC p2p: l1-check off=0x\([0-9a-f]*\) bytes=\([0-9a-f]*\).*/\1 \2/p' "$RIG_WORK/serial.log" >"$RIG_WORK/l1-check"
while read -r off hex; do
	got=
	i=0
	while [ $i -lt 8 ]; do
		v=$(devmem $((base + 0x$off + 4 * i)) 32 2>&1)
		# devmem prints the 32-bit word (0xDDCCBBAA); the bytes in memory order are AA BB CC DD.
		got=$got$(echo "$v" | tr 'A-F' 'a-f' | sed -n 's/^0x\(..\)\(..\)\(..\)\(..\)$/\4\3\2\1/p')
		i=$((i + 1))
	done
	expect_eq "L1 reads the bytes edu wrote at CMB + 0x$off through BAR2 ($(printf 0x%x $((base + 0x$off))))" "$got" "$hex"
	n=$((n + 1))
done <"$RIG_WORK/l1-check"
[ "$n" = 2 ] || fail "the guest named $n regions for L1 to check, expected 2"
if [ $((0x$cmd & 2)) = 0 ]; then
	printf "\\$(printf %o $((0x$cmd & 0xff)))\\$(printf %o $(((0x$cmd >> 8) & 0xff)))" |
		dd of="$cfg" bs=1 seek=4 count=2 conv=notrunc 2>/dev/null
fi
