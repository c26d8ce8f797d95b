# Sourced by the L2 /init (rig.l2=vfio-hotplug, rig.action=hang; L1 side:
# scenarios/vfio-hotplug.sh). The NVMe L1 hot-adds (vm.add-device) appears through acpiphp:
# Debian's nvme driver reads it and writes (l2_nvme short); then L1 removes it (the guest ejects
# it). L1 adds it again and, while the guest reads it in a loop, unbinds it from vfio-pci on
# its side: kvmio asks the guest to eject it, the guest's driver lets go, the reads stop, and
# the guest keeps running.
. /rig/l2/vfio-lib.sh
nvme_gone() { ! pci_dev 1b36:0010 >/dev/null; }
nvme_here() { pci_dev 1b36:0010 >/dev/null; }
modprobe nvme || verr "modprobe nvme failed"
vr "vfio-hotplug ready"

if wait_for 120 nvme_here; then
	vr "vfio-hotplug seen uptime=$(cut -d' ' -f1 /proc/uptime)"
	l2_nvme short
	if wait_for 120 nvme_gone; then vr "vfio-hotplug gone"; else verr "the NVMe was never removed"; fi
else
	verr "the hot-added NVMe never appeared"
fi

if wait_for 240 nvme_here && wait_for 60 nvme_ready; then
	vr "vfio-hotplug seen again"
	(
		i=0
		while dd if=/dev/nvme0n1 bs=1M count=8 skip=$((i % 8 * 8)) iflag=direct of=/dev/null 2>/dev/null; do
			i=$((i + 1))
			[ "$i" = 4 ] && vr "vfio-hotplug reading"
		done
		vr "vfio-hotplug reads stopped after $i"
	) &
	if wait_for 120 nvme_gone; then
		vr "vfio-hotplug gone again uptime=$(cut -d' ' -f1 /proc/uptime)"
	else
		verr "the NVMe the host asked back is still here"
	fi
	wait
else
	verr "the NVMe added again never appeared"
fi
vr "vfio-hotplug done"
