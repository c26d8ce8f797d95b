# Sourced by the L2 /init (rig.l2=vfio-nested; L1 side: scenarios/iommu-nested.sh): L2's own VFIO
# over kvmio's VT-d. The edu device kvmio assigned, and kvmio's virtio-blk, each moved to
# vfio-pci and driven by /bin/vfio-user (l2/vfio-user.c): nested assignment, then a hostile
# driver pointing the disk at an IOVA it unmapped. Then L2's view: its DMAR fault lines.
. /rig/l2/vfio-lib.sh
for m in vfio-pci vfio_iommu_type1; do
	modprobe "$m" || verr "modprobe $m failed"
done
[ "$(cat /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts 2>/dev/null)" = Y ] ||
	verr "vfio_iommu_type1.allow_unsafe_interrupts is not set (kvmio's VT-d has no interrupt remapping)"

# to_vfio SYSFS-DIR: bind that function to vfio-pci alone; its BDF on stdout (lines on stderr).
to_vfio() {
	b=${1##*/}
	[ -e "$1/driver" ] && echo "$b" >"$1/driver/unbind"
	echo vfio-pci >"$1/driver_override"
	echo "$b" >/sys/bus/pci/drivers_probe
	[ "$(readlink "$1/driver" 2>/dev/null | sed 's|.*/||')" = vfio-pci ] ||
		{ verr "$b did not bind to vfio-pci" >&2; return 1; }
	vr "nested bound $b ($(cat "$1/vendor"):$(cat "$1/device")) to vfio-pci, group $(readlink "$1/iommu_group" | sed 's|.*/||')" >&2
	echo "$b"
}

if p=$(pci_dev 1234:11e8); then
	b=$(to_vfio "$p") && /bin/vfio-user edu "$b"
else
	verr "no edu (1234:11e8) on the guest's PCI bus"
fi
modprobe virtio_pci
if p=$(pci_dev 1af4:1042); then
	b=$(to_vfio "$p") && /bin/vfio-user virtio-blk "$b"
else
	verr "no virtio-blk (1af4:1042) on the guest's PCI bus"
fi
vr "nested dmar_faults=$(dmesg | grep -c 'DMAR: \[DMA') fault_addrs=$(dmesg | sed -n 's/.*DMAR: \[DMA.*fault addr \(0x[0-9a-f]*\).*/\1/p' | sort -u | tr '\n' ,)"
dmesg -r | awk '/^<[0-4]>/ || tolower($0) ~ /vfio|dmar|iommu/' | sed 's/^/RIG-L2 dmesg /'
vr report-done
