# rig-timeout: 300
# L2 runs VFIO of its own over kvmio's emulated VT-d (intel_iommu=on, and
# vfio_iommu_type1.allow_unsafe_interrupts=1: the unit has no interrupt remapping), with a small
# static userspace driver (l2/vfio-user.c; L2 side: l2/vfio-nested.sh):
# - nested assignment: the edu device, which kvmio has from L1's VFIO, goes to vfio-pci in L2 and
#   the driver moves data through it with L2's own IOVAs: kvmio shadows L2's domain for edu into
#   its container in L1. A transfer there and back lands; a write to the IOVA just unmapped, and
#   one to an IOVA never mapped, change nothing in L2's memory, and L1's IOMMU refuses exactly
#   those two addresses from edu (its log says so);
# - a DMA attack from inside: L2 takes kvmio's own virtio-blk to vfio-pci and points a read at an
#   IOVA it unmapped, then a write from it: both requests fail (IOERR), kvmio logs the refused
#   DMA, the unit records it and L2's intel-iommu logs the DMAR fault at that IOVA, the page keeps
#   its bytes and the disk image is unchanged; a good read of sector 0 then returns the disk's data.
RIG_VMM_TIMEOUT=200
w=$RIG_WORK
bdf=$(pci_find 1234:11e8) || { fail "no edu device (1234:11e8) in L1"; return; }
info "edu at $bdf, IOMMU group $(pci_group "$bdf")"
vfio_bind "$bdf"
dd if=/dev/urandom of="$w/nested.img" bs=1M count=1 2>/dev/null
printf 'kvmio-nested' | dd of="$w/nested.img" conv=notrunc 2>/dev/null
first=$(od -An -tx1 -N8 "$w/nested.img" | tr -d ' \n')
sum=$(sha256sum "$w/nested.img" | cut -c1-64)
l1_dmesg_mark
kvmio_boot --cpus 1 --memory 256M --iommu -v --device "vfio=$bdf" --disk "$w/nested.img" -- \
	intel_iommu=on vfio_iommu_type1.allow_unsafe_interrupts=1 rig.l2=vfio-nested
expect_rc 0
expect_init
expect_action poweroff
grep 'RIG-L2 \(nested\|error\)' "$RIG_WORK/serial.log" | sed 's/^.*RIG-L2 /guest: /'
n=$(grep -c 'RIG-L2 error' "$RIG_WORK/serial.log")
expect_eq "L2: errors" "$n" 0

# Nested assignment.
expect_eq "L2's driver reads edu's ID through L2's VFIO" "$(l2_value 'nested edu' id)" 0x010000ed
expect_eq "edu: RAM -> device -> RAM through L2's IOVAs" "$(l2_value 'nested edu' dma)" ok
expect_eq "edu: a write to the IOVA L2 unmapped leaves the page alone" "$(l2_value 'nested edu' unmapped)" ok
expect_eq "edu: a write to an IOVA L2 never mapped changes nothing" "$(l2_value 'nested edu' never)" ok
expect_l1_dmar_faults "L2's two unmapped IOVAs" "$bdf" \
	"$(l2_value 'nested edu unmapped=ok' iova) $(l2_value 'nested edu never=ok' iova)"
expect_shadow "vfio-$bdf"

# The attack from inside, on kvmio's virtio-blk.
iova=$(l2_value 'nested blk attack_read' iova)
expect_eq "virtio-blk: a read into the unmapped IOVA fails (IOERR)" "$(l2_value 'nested blk attack_read' status)" 1
expect_eq "virtio-blk: its page is unchanged" "$(l2_value 'nested blk attack_read' page)" unchanged
expect_eq "virtio-blk: a write from the unmapped IOVA fails (IOERR)" "$(l2_value 'nested blk attack_write' status)" 1
expect_eq "virtio-blk: the disk image is unchanged" "$(sha256sum "$w/nested.img" | cut -c1-64)" "$sum"
expect_eq "virtio-blk: then a good read of sector 0 (status)" "$(l2_value 'nested blk good_read' status)" 0
expect_eq "virtio-blk: sector 0's first bytes" "$(l2_value 'nested blk good_read' first)" "$first"
n=$(grep -c "DMA fault: virtio-blk.* at IOVA $iova refused" "$RIG_WORK/vmm.err")
if [ "${n:-0}" -ge 2 ]; then ok "kvmio logged the refused DMA at $iova ($n lines)"; else fail "kvmio logged $n refusals at IOVA '$iova'"; fi
case ",$(l2_value nested fault_addrs)" in
*",$iova,"*) ok "L2's intel-iommu logged the DMAR fault at $iova" ;;
*) fail "L2's DMAR faults: '$(l2_value nested fault_addrs)', none at '$iova'" ;;
esac
rm -f "$w/nested.img"
