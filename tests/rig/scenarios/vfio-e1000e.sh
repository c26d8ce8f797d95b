# rig-timeout: 300
# The rig's e1000e (8086:10d3, on QEMU user networking) assigned to L2 with VFIO, under Debian's
# own e1000e driver (guest side: l2/vfio-e1000e.sh):
# - carrier comes up; DHCP from QEMU's user network gives 10.0.2.15 (a broadcast exchange);
#   3 pings and 20 pings of 1400 bytes to the gateway 10.0.2.2 are answered;
# - the function is bound to e1000e and uses MSI-X only, and its vectors fire;
# - its expansion ROM (QEMU loads efi-e1000e.rom into it), read in the guest through sysfs, is
#   the ROM L1 read before giving the device away;
# - no e1000e/PCI/MSI errors in the guest's kernel log, no IOMMU faults in L1's; poweroff,
#   status 0; the device is back on its L1 driver (none) afterwards.
# RIG_PARAM_VFIO_VMM=qemu runs the same guest under QEMU (-device vfio-pci) instead of kvmio.
RIG_VMM_TIMEOUT=240
bdf=$(pci_find 8086:10d3) || { fail "no e1000e (8086:10d3) in L1"; return; }
info "e1000e at $bdf, IOMMU group $(pci_group "$bdf"), L2 VMM $VFIO_VMM"
pci_save "$bdf"
rom=/sys/bus/pci/devices/$bdf/rom
rom_sha=
if [ -e "$rom" ]; then
	echo 1 >"$rom"
	rom_sha=$(sha256sum <"$rom" | cut -c1-64)
	rom_bytes=$(wc -c <"$rom")
	echo 0 >"$rom"
	info "L1 reads a $rom_bytes-byte expansion ROM from $bdf"
else
	info "$bdf has no expansion ROM in L1: the ROM check is skipped"
fi
vfio_bind "$bdf"
l1_dmesg_mark
vfio_boot 1 256M "$bdf" rig.l2=vfio-e1000e
expect_rc 0
expect_init
expect_action poweroff
[ "$VFIO_VMM" = kvmio ] && expect_no_stderr 'error|warning'
grep 'RIG-L2 e1000e' "$RIG_WORK/serial.log" | sed 's/^.*RIG-L2 /guest: /'
expect_eq "guest: carrier on $(l2_value 'e1000e' if)" "$(l2_value e1000e carrier)" 1
expect_eq "guest: DHCP lease from QEMU's user network" "$(l2_value e1000e dhcp_lease)" 10.0.2.15
expect_eq "guest: ping 10.0.2.2, replies" "$(l2_value e1000e ping_rx)" 3
expect_eq "guest: 20 pings of 1400 bytes, replies" "$(l2_value e1000e big_rx)" 20
expect_l2_msix 8086:10d3 e1000e 'eth[0-9]+.*'
info "guest times (its clock): carrier $(l2_value e1000e carrier_ms) ms, DHCP $(l2_value e1000e dhcp_ms) ms," \
	"pings $(l2_value e1000e ping_ms) ms, ROM read $(l2_value e1000e rom_ms) ms"
if [ -n "$rom_sha" ]; then
	expect_eq "guest: the device has a ROM" "$(l2_value e1000e rom)" yes
	expect_eq "guest: ROM read status" "$(l2_value e1000e rom_rc)" 0
	expect_eq "guest: ROM size" "$(l2_value e1000e rom_bytes)" "$rom_bytes"
	expect_eq "guest: ROM contents = what L1 read" "$(l2_value e1000e rom_sha)" "$rom_sha"
fi
expect_dmesg_clean 'e1000e|eth[0-9]|pci|msi'
expect_l1_dmesg_clean
