# Sourced by the L2 /init (rig.l2=vfio-sriov rig.sriov=TAG; L1 side: scenarios/vfio-sriov.sh):
# one SR-IOV virtual function of L1's NVMe, with its own 4 MiB namespace, under Debian's nvme
# driver. Two of these guests run at once, each with its own VF. Reports the controller it got
# (cntlid: the secondary controller's ID), its INTx pin (config 0x3d), the checksum of its whole namespace, then writes
# 256 KiB of "rig-sriov-TAG" lines at 1 MiB with O_DIRECT and reads them back. Then the PCI
# functions, their interrupts and the kernel log (l2_report).
. /rig/l2/vfio-lib.sh
tag=
for arg in $(cat /proc/cmdline); do
	case "$arg" in rig.sriov=*) tag=${arg#rig.sriov=} ;; esac
done
l2_sriov() {
	[ -n "$tag" ] || { verr "no rig.sriov=TAG on the command line"; return; }
	nvme_probe || return
	c=/sys/class/nvme/nvme0
	vr "sriov tag=$tag pci=${p##*/} ready_ms=$(($(ms) - t0)) cntlid=$(cat "$c/cntlid" 2>/dev/null)" \
		"serial=$(tr -d ' ' <"$c/serial" 2>/dev/null) nsid=$(cat /sys/block/nvme0n1/nsid 2>/dev/null)" \
		"size=$(cat /sys/block/nvme0n1/size) queues=$(ls -d "$c"/nvme0c*n1/mq/* 2>/dev/null | wc -l)" \
		"pin=$(dd if="$p/config" bs=1 skip=61 count=1 2>/dev/null | od -An -tu1 | tr -d ' ')"
	t0=$(ms)
	rd=$(dd if=/dev/nvme0n1 bs=1M iflag=direct 2>/dev/null | sha)
	rd_ms=$(($(ms) - t0))
	yes "rig-sriov-$tag" | head -c 262144 >/tmp/w
	dd if=/tmp/w of=/dev/nvme0n1 bs=262144 seek=4 oflag=direct conv=notrunc 2>/dev/null
	wrc=$?
	vr "sriov rd=$rd rd_ms=$rd_ms w_rc=$wrc w_sha=$(sha </tmp/w)" \
		"w_back=$(dd if=/dev/nvme0n1 bs=262144 skip=4 count=1 iflag=direct 2>/dev/null | sha)"
	rm -f /tmp/w
}
l2_sriov
l2_report 'nvme'
