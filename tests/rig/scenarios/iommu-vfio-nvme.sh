# rig-timeout: 420
# vfio-nvme (the NVMe assigned to L2: the whole namespace read and checked against L1's data,
# two writes found again by L1, MSI-X, clean logs) with the device behind kvmio's emulated VT-d
# and Debian's intel-iommu driving it in L2 (intel_iommu=on; caching mode makes it strict: every
# map and unmap invalidated). Every buffer and queue of the NVMe driver is then an IOVA of L2's
# DMA domain, which kvmio mirrors into the device's container in L1 (shadow mappings), so each
# data check is also a check of the shadow: an IOVA missing in it is a DMAR fault in L1's log
# and an I/O error in L2's, a wrong one is a wrong checksum. Then: translation on in L2, no DMAR
# fault there, and kvmio's exit line shows it mapped and unmapped L2's own mappings, none failed.
# RIG_PARAM_VFIO_VMM=qemu runs QEMU (intel-iommu, caching-mode=on) instead, the reference.
VFIO_IOMMU=1
. /rig/scenarios/vfio-nvme.sh
expect_eq "L2: 'Intel(R) Virtualization Technology for Directed I/O'" "$(l2_value iommu dmar_on)" 1
expect_eq "L2: DMAR faults in the kernel log" "$(l2_value iommu dma_faults)" 0
[ "$VFIO_VMM" = kvmio ] && expect_shadow "vfio-$bdf"
