# rig-timeout: 360
# The rig's NVMe (1b36:0010) assigned to L2 with VFIO, under Debian's own nvme driver (guest side:
# l2/vfio-nvme.sh; offsets and sizes are shared with l2/vfio-lib.sh and nvme_verify):
# - L1's nvme driver fills the whole 64 MiB namespace with random data; the device goes to
#   vfio-pci; the guest reads the whole namespace through its driver: same checksum (DMA into
#   guest RAM through the IOMMU mapping the VMM made, PRP lists, completions);
# - the guest writes 1 MiB buffered+fsync at an unaligned sector and 256 KiB in one O_DIRECT
#   write, reads both back; back on L1's nvme driver both are on the namespace and nothing else
#   changed;
# - in the guest the function is bound to nvme and uses MSI-X only, and its vectors fire; no
#   nvme/PCI/MSI errors in the guest's kernel log, no IOMMU faults in L1's; poweroff, status 0;
#   the device is back on L1's nvme driver (finish: pci_restore).
# RIG_PARAM_VFIO_VMM=qemu runs the same guest under QEMU (-device vfio-pci) instead of kvmio.
# VFIO_WORDS: more words for L2's command line (iommu-vfio-nvme).
RIG_VMM_TIMEOUT=300
bdf=$(pci_find 1b36:0010) || { fail "no NVMe (1b36:0010) in L1"; return; }
info "NVMe at $bdf, IOMMU group $(pci_group "$bdf"), L2 VMM $VFIO_VMM"
nvme_prepare "$bdf" || return
vfio_bind "$bdf"
l1_dmesg_mark
# shellcheck disable=SC2086
vfio_boot 1 256M "$bdf" rig.l2=vfio-nvme ${VFIO_WORDS:-}
expect_rc 0
expect_init
expect_action poweroff
[ "$VFIO_VMM" = kvmio ] && expect_no_stderr 'error|warning'
grep 'RIG-L2 nvme' "$RIG_WORK/serial.log" | sed 's/^.*RIG-L2 /guest: /'
expect_eq "guest read of the whole namespace (64 MiB) = L1's data" "$(l2_value nvme rd_full)" "$NVME_SHA"
info "guest read 64 MiB in $(l2_value nvme rd_ms) ms (its clock)"
expect_eq "guest: buffered write (dd status)" "$(l2_value nvme w1_rc)" 0
expect_eq "guest: O_DIRECT write (dd status)" "$(l2_value nvme w2_rc)" 0
expect_eq "guest reads back its buffered write after drop_caches" "$(l2_value nvme w1_back)" "$(l2_value nvme w1_sha)"
expect_eq "guest reads back its O_DIRECT write" "$(l2_value nvme w2_back)" "$(l2_value nvme w2_sha)"
expect_l2_msix 1b36:0010 nvme 'nvme[0-9]+q[0-9]+'
expect_dmesg_clean 'nvme|pci|msi'
expect_l1_dmesg_clean
nvme_verify "$bdf"
