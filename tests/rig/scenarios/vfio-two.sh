# rig-timeout: 360
# The NVMe and the e1000e assigned to one L2 at once (guest side: l2/vfio-two.sh), each checked
# briefly: NVMe 4 MiB of L1's data read, a buffered and an O_DIRECT write found by L1 afterwards
# with nothing else changed; e1000e carrier and 3 pings to 10.0.2.2; both on their drivers with
# MSI-X vectors that fire; clean kernel logs (L2 and L1); both devices back as they were.
# RIG_PARAM_VFIO_VMM=qemu runs the same guest under QEMU (-device vfio-pci) instead of kvmio.
RIG_VMM_TIMEOUT=300
nv=$(pci_find 1b36:0010) || { fail "no NVMe (1b36:0010) in L1"; return; }
nic=$(pci_find 8086:10d3) || { fail "no e1000e (8086:10d3) in L1"; return; }
info "NVMe $nv (group $(pci_group "$nv")), e1000e $nic (group $(pci_group "$nic")), L2 VMM $VFIO_VMM"
pci_save "$nic"
nvme_prepare "$nv" || return
vfio_bind "$nv" "$nic"
l1_dmesg_mark
vfio_boot 2 384M "$nv $nic" rig.l2=vfio-two
expect_rc 0
expect_init
expect_action poweroff
[ "$VFIO_VMM" = kvmio ] && expect_no_stderr 'error|warning'
grep -E 'RIG-L2 (nvme|e1000e)' "$RIG_WORK/serial.log" | sed 's/^.*RIG-L2 /guest: /'
expect_eq "guest read of 4 MiB at 16 MiB = L1's data" "$(l2_value nvme rd_short)" \
	"$(dd if="$RIG_WORK/nvme.orig" bs=1M skip=16 count=4 2>/dev/null | sha256sum | cut -c1-64)"
expect_eq "guest reads back its buffered write" "$(l2_value nvme w1_back)" "$(l2_value nvme w1_sha)"
expect_eq "guest reads back its O_DIRECT write" "$(l2_value nvme w2_back)" "$(l2_value nvme w2_sha)"
expect_eq "guest: e1000e carrier" "$(l2_value e1000e carrier)" 1
expect_eq "guest: ping 10.0.2.2 over the e1000e, replies" "$(l2_value e1000e ping_rx)" 3
expect_l2_msix 1b36:0010 nvme 'nvme[0-9]+q[0-9]+'
expect_l2_msix 8086:10d3 e1000e 'eth[0-9]+.*'
expect_dmesg_clean 'nvme|e1000e|eth[0-9]|pci|msi'
expect_l1_dmesg_clean
nvme_verify "$nv"
