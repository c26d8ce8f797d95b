# rig-timeout: 400
# virtio-devices (every virtio device under Debian's own drivers, the same data checks) with
# kvmio's emulated VT-d (--iommu) and Debian's intel-iommu driver (intel_iommu=on): the devices
# offer ACCESS_PLATFORM, the driver maps every buffer through the DMA API, and kvmio translates
# every ring and buffer access through the guest's page tables. Caching mode makes Linux 6.1
# invalidate strictly (it logs "IOMMU batching disallowed due to virtualization"). Then:
# translation is on, every PCI function is in an IOMMU group, no DMAR fault in L2's log, no DMA
# fault from kvmio.
VD_FLAGS=--iommu VD_WORDS=intel_iommu=on
. /rig/scenarios/virtio-devices.sh
expect_eq "L2: 'Intel(R) Virtualization Technology for Directed I/O'" "$(l2_value iommu dmar_on)" 1
groups=$(l2_value iommu groups)
if [ "${groups:-0}" -ge 6 ]; then ok "L2: $groups IOMMU groups"; else fail "L2: ${groups:-no} IOMMU groups"; fi
expect_eq "L2: PCI functions in an IOMMU group" "$(l2_value iommu grouped)" "$(l2_value iommu functions)"
expect_eq "L2: DMAR faults in the kernel log" "$(l2_value iommu dma_faults)" 0
expect_no_stderr 'DMA fault'
