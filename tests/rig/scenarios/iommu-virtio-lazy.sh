# rig-timeout: 400
# iommu-virtio with --iommu=caching-mode=off: Linux then batches its IOTLB invalidations (its
# default lazy mode; with caching mode it invalidates on every map and unmap). The same data
# checks through the guest's tables, translation on, no DMAR faults, no DMA fault from kvmio,
# and L2 says it is in lazy mode.
VD_FLAGS=--iommu=caching-mode=off VD_WORDS=intel_iommu=on
. /rig/scenarios/virtio-devices.sh
expect_eq "L2: 'Intel(R) Virtualization Technology for Directed I/O'" "$(l2_value iommu dmar_on)" 1
expect_eq "L2: PCI functions in an IOMMU group" "$(l2_value iommu grouped)" "$(l2_value iommu functions)"
expect_eq "L2: DMAR faults in the kernel log" "$(l2_value iommu dma_faults)" 0
expect_eq "L2: no 'IOMMU batching disallowed' without caching mode" \
	"$(grep -c 'IOMMU batching disallowed' "$RIG_WORK/serial.log")" 0
expect_no_stderr 'DMA fault'
