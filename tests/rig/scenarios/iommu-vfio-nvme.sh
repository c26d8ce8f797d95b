# rig-timeout: 600
# vfio-nvme (the NVMe assigned to L2: the whole namespace read and checked against L1's data,
# two writes found again by L1, MSI-X, clean logs) with the device behind kvmio's emulated VT-d
# and Debian's intel-iommu driving it in L2 (intel_iommu=on; caching mode makes it strict: every
# map and unmap invalidated). Every buffer and queue of the NVMe driver is then an IOVA of L2's
# DMA domain, which kvmio mirrors into the device's container in L1 (shadow mappings), so each
# data check is also a check of the shadow: an IOVA missing in it is a DMAR fault in L1's log
# and an I/O error in L2's, a wrong one is a wrong checksum. Then: translation on in L2, no DMAR
# fault there, and kvmio's exit line shows it mapped and unmapped L2's own mappings, none failed.
# Then again with iommu=pt: L2 puts the device in a pass-through context, and the container
# keeps the identity map of all RAM it had from the start (no unmap at all) while L2's driver
# runs with translation on.
# RIG_PARAM_VFIO_VMM=qemu runs QEMU (intel-iommu, caching-mode=on) instead, the reference.
VFIO_IOMMU=1
. /rig/scenarios/vfio-nvme.sh
expect_eq "L2: 'Intel(R) Virtualization Technology for Directed I/O'" "$(l2_value iommu dmar_on)" 1
expect_eq "L2: DMAR faults in the kernel log" "$(l2_value iommu dma_faults)" 0
[ "$VFIO_VMM" = kvmio ] && expect_shadow "vfio-$bdf"

info "again, with iommu=pt in L2"
VFIO_WORDS=iommu=pt
. /rig/scenarios/vfio-nvme.sh
expect_eq "iommu=pt: L2's default domain" \
	"$(grep -c 'iommu: Default domain type: Passthrough' "$RIG_WORK/serial.log")" 1
expect_eq "iommu=pt: DMAR faults in L2's kernel log" "$(l2_value iommu dma_faults)" 0
if [ "$VFIO_VMM" = kvmio ]; then
	line=$(grep -a "vfio-$bdf: shadowed the guest's DMA mappings" "$RIG_WORK/vmm.err" | tail -n 1)
	case "$line" in
	*": "[12]" maps, 0 unmaps, 0 failed"*) ok "iommu=pt: the container kept its identity map: $line" ;;
	*) fail "iommu=pt: kvmio's shadow: '${line:-no exit line}'" ;;
	esac
fi
