# rig-timeout: 480
# Two SR-IOV virtual functions of one NVMe assigned to two kvmio guests running at the same time
# (guest side: l2/vfio-sriov.sh). L1's SR-IOV NVMe (rig.sh: QEMU's nvme with sriov_max_vfs=2 in
# an nvme-subsys, two 4 MiB namespaces created detached) is driven with nvme-cli from L1:
# - under L1's nvme driver the physical function gives up its flexible queue and interrupt
#   resources (virt-mgmt, then a function reset), 2 VFs are enabled (sriov_numvfs, no driver
#   autoprobe), each secondary controller gets 2 queues and 2 interrupts and goes online, and
#   namespace N is attached to VF N's controller and to the PF's (L1's view of it);
# - L1 fills each namespace with its own random data through the PF; both VFs go to vfio-pci;
#   `kvmio check-device` on each VF is recorded (info);
# - two kvmio guests (256 MiB, 1 vCPU) boot at once, one VF each, and their runs overlap: each
#   finds an NVMe whose controller ID is its VF's secondary controller and which has no INTx pin
#   (QEMU's VFs report pin A, which vfio-pci hides), reads its whole namespace (L1's checksum for
#   THAT namespace), writes 256 KiB of its own pattern at 1 MiB with O_DIRECT and reads it back;
#   MSI-X only, vectors fire, clean nvme/PCI/MSI kernel log; both power off, status 0;
# - back in L1 (PF's view), each namespace has its own guest's pattern at 1 MiB and nothing else
#   changed; no IOMMU faults or VFIO errors in L1's log;
# - then VFs off vfio-pci, SR-IOV disabled, the namespaces detached from the PF again, and the
#   PF on the driver it had (finish).
# RIG_PARAM_VFIO_VMM=qemu runs the same two guests under QEMU (-device vfio-pci) instead of kvmio.
RIG_VMM_TIMEOUT=300
SRIOV_NQN=nqn.2019-08.org.qemu:rig-sriov
SRIOV_MEM=256M
W=$RIG_WORK

# sriov_pf: the BDF of the SR-IOV NVMe's physical function.
sriov_pf() {
	for d in /sys/bus/pci/devices/*; do
		[ -e "$d/sriov_totalvfs" ] && [ "$(pci_ids "${d##*/}")" = 1b36:0010 ] && { echo "${d##*/}"; return 0; }
	done
	return 1
}

# nvme_ctrl BDF: the NVMe controller (nvme1) of BDF under L1's nvme driver; waits 30 s at most.
nvme_ctrl() {
	n=0
	while [ $n -lt 300 ]; do
		for c in /sys/bus/pci/devices/"$1"/nvme/nvme*; do
			[ -e "$c" ] && [ -c "/dev/${c##*/}" ] && { echo "${c##*/}"; return 0; }
		done
		usleep 100000
		n=$((n + 1))
	done
	return 1
}

# sriov_blk NSID: the block device (nvme1n1) of the SR-IOV subsystem's namespace NSID as L1 sees
# it through the PF (multipath head or plain namespace; not the hidden per-path nvmeXcYnZ);
# waits 30 s at most.
sriov_blk() {
	n=0
	while [ $n -lt 300 ]; do
		for b in /sys/block/nvme*n*; do
			case "${b##*/}" in nvme*c*) continue ;; esac
			[ "$(cat "$b/nsid" 2>/dev/null)" = "$1" ] &&
				[ "$(cat "$b/device/subsysnqn" 2>/dev/null)" = "$SRIOV_NQN" ] &&
				[ -b "/dev/${b##*/}" ] && { echo "${b##*/}"; return 0; }
		done
		usleep 100000
		n=$((n + 1))
	done
	return 1
}

# sec_field VFN scid|scs: the secondary controller ID (decimal) of virtual function number VFN
# (1-based), or its state (1 online), from `nvme list-secondary` (its fields are 0x%04x).
sec_field() {
	nvme list-secondary "/dev/$ctrl" 2>/dev/null | awk '
		$1 == "SCID" { scid = $NF } $1 == "SCS" { scs = $(NF - 1) }
		$1 == "VFN" { print $NF, scid, scs }' >"$W/secondary"
	while read -r f_vfn f_scid f_scs; do
		[ $((f_vfn)) -eq "$1" ] || continue
		if [ "$2" = scid ]; then echo $((f_scid)); else echo $((f_scs)); fi
		return 0
	done <"$W/secondary"
	return 1
}

# nv CMD...: an nvme-cli command, its output in the log; status as nvme's.
nv() {
	echo "run: nvme $*"
	nvme "$@" >"$W/nvme.out" 2>&1
	r=$?
	sed 's/^/  | /' "$W/nvme.out"
	[ $r -eq 0 ] || echo "  status $r"
	return $r
}

sriov_main() {
	if ! command -v nvme >/dev/null; then
		fail "no nvme-cli in L1 (install Debian's nvme-cli on the host: mkimg.sh copies it into the base image)"
		return
	fi
	pf=$(sriov_pf) || { fail "no SR-IOV NVMe (1b36:0010 with sriov_totalvfs) in L1"; return; }
	info "SR-IOV NVMe PF $pf, total VFs $(cat "/sys/bus/pci/devices/$pf/sriov_totalvfs"), IOMMU group $(pci_group "$pf")"
	pci_save "$pf"
	if ! pci_bind "$pf" nvme || ! ctrl=$(nvme_ctrl "$pf"); then
		fail "L1's nvme driver on the PF $pf: driver $(pci_driver "$pf"), no controller"
		return
	fi
	pfc=$(cat "/sys/class/nvme/$ctrl/cntlid")
	ok "PF $pf on L1's nvme driver: /dev/$ctrl, controller ID $pfc, subsystem $(cat "/sys/class/nvme/$ctrl/subsysnqn")"
	nv primary-ctrl-caps "/dev/$ctrl"
	# The PF's flexible resources go back to the pool; a function reset makes that take effect
	# (QEMU's docs/system/devices/nvme.rst). QEMU 7.2's PF starts with none allocated (vqrfap and
	# virfap 0), so this changes nothing there, but the sequence is the one for any primary.
	nv virt-mgmt "/dev/$ctrl" -c "$pfc" -r 1 -a 1 -n 0 || fail "virt-mgmt: PF's flexible interrupts to 0"
	nv virt-mgmt "/dev/$ctrl" -c "$pfc" -r 0 -a 1 -n 0 || fail "virt-mgmt: PF's flexible queues to 0"
	echo 1 >"/sys/bus/pci/devices/$pf/reset" || fail "function reset of the PF $pf"
	ctrl=$(nvme_ctrl "$pf") || { fail "no controller on the PF after its reset"; return; }
	nv primary-ctrl-caps "/dev/$ctrl"
	expect_eq "PF's flexible queues and interrupts allocated (vqrfap virfap)" \
		"$(awk '$1 == "vqrfap" || $1 == "virfap" { printf "%s%s", sep, $NF; sep = "," }' "$W/nvme.out")" 0,0

	sriov_on=1
	echo 0 >"/sys/bus/pci/devices/$pf/sriov_drivers_autoprobe"
	echo 2 >"/sys/bus/pci/devices/$pf/sriov_numvfs" || { fail "echo 2 > sriov_numvfs of $pf"; return; }
	vf1=$(readlink "/sys/bus/pci/devices/$pf/virtfn0") vf1=${vf1##*/}
	vf2=$(readlink "/sys/bus/pci/devices/$pf/virtfn1") vf2=${vf2##*/}
	if [ -z "$vf1" ] || [ -z "$vf2" ]; then fail "2 VFs of $pf: got '$vf1' '$vf2'"; return; fi
	ok "2 VFs enabled: $vf1 ($(pci_ids "$vf1"), group $(pci_group "$vf1")," \
		"$vf2 ($(pci_ids "$vf2"), group $(pci_group "$vf2"))"
	[ "$(pci_group "$vf1")" != "$(pci_group "$vf2")" ] || fail "both VFs in IOMMU group $(pci_group "$vf1")"
	nv list-secondary "/dev/$ctrl"
	for i in 1 2; do
		s=$(sec_field "$i" scid)
		[ -n "$s" ] || { fail "no secondary controller for VF $i in list-secondary"; return; }
		eval "scid$i=$s"
		nv virt-mgmt "/dev/$ctrl" -c "$s" -r 0 -a 8 -n 2 || fail "virt-mgmt: 2 queues to secondary controller $s"
		nv virt-mgmt "/dev/$ctrl" -c "$s" -r 1 -a 8 -n 2 || fail "virt-mgmt: 2 interrupts to secondary controller $s"
		nv virt-mgmt "/dev/$ctrl" -c "$s" -a 9 || fail "virt-mgmt: secondary controller $s online"
		expect_eq "secondary controller $s (VF $i) state" "$(sec_field "$i" scs)" 1
		# Namespace i: VF i's controller and the PF's (L1 fills and checks it there).
		nv attach-ns "/dev/$ctrl" -n "$i" -c "$s,$pfc" || fail "attach-ns: namespace $i to controllers $s,$pfc"
		ns_on=1
	done
	nv list-secondary "/dev/$ctrl"

	# L1 fills namespace i with its own random data through the PF.
	for i in 1 2; do
		if ! blk=$(sriov_blk "$i"); then fail "L1 sees no block device for namespace $i of $SRIOV_NQN"; return; fi
		eval "blk$i=$blk"
		bytes=$(($(cat "/sys/block/$blk/size") * 512))
		dd if=/dev/urandom of="$W/ns$i.orig" bs=1M count=$((bytes >> 20)) 2>/dev/null
		dd if="$W/ns$i.orig" of="/dev/$blk" bs=1M oflag=direct conv=notrunc,fsync 2>/dev/null ||
			fail "L1: writing /dev/$blk failed"
		eval "sha$i=$(sha256sum <"$W/ns$i.orig" | cut -c1-64)"
		expect_eq "L1 wrote $((bytes >> 20)) MiB of random data to namespace $i (/dev/$blk) and reads it back" \
			"$(dd if="/dev/$blk" bs=1M iflag=direct 2>/dev/null | sha256sum | cut -c1-64)" \
			"$(sha256sum <"$W/ns$i.orig" | cut -c1-64)"
	done
	[ "$sha1" != "$sha2" ] || fail "the two namespaces hold the same data"

	vfio_bind "$vf1" "$vf2"
	[ "$VFIO_VMM" = kvmio ] && for v in "$vf1" "$vf2"; do
		"$KVMIO" check-device "$v" </dev/null >"$W/check-$v.out" 2>&1
		info "kvmio check-device $v: status $? (the VF as kvmio sees it; not checked yet)"
		sed 's/^/info:   | /' "$W/check-$v.out"
	done

	l1_dmesg_mark
	# Both guests at once, each in a subshell with its own work directory (vfio_boot's files).
	for i in 1 2; do
		eval "v=\$vf$i"
		(
			RIG_WORK=$W/g$i
			mkdir -p "$RIG_WORK"
			vfio_boot 1 "$SRIOV_MEM" "$v" rig.l2=vfio-sriov rig.sriov="$i"
			echo "$VMM_RC" >"$RIG_WORK/rc"
			echo "$VMM_T0 $(ms)" >"$RIG_WORK/span"
			echo "$RIG_FAILED" >"$RIG_WORK/failed"
		) >"$W/g$i.log" 2>&1 &
		eval "gpid$i=$!"
	done
	# shellcheck disable=SC2154
	wait "$gpid1" "$gpid2"

	for i in 1 2; do
		eval "v=\$vf$i s=\$scid$i want=\$sha$i"
		echo "--- guest $i: VF $v, secondary controller $s, namespace $i"
		sed 's/^/  /' "$W/g$i.log"
		RIG_WORK=$W/g$i
		VMM_RC=$(cat "$RIG_WORK/rc" 2>/dev/null)
		[ "$(cat "$RIG_WORK/failed" 2>/dev/null)" = 0 ] || fail "guest $i: its VMM run failed (above)"
		expect_rc 0
		expect_init
		expect_action poweroff
		[ "$VFIO_VMM" = kvmio ] && expect_no_stderr 'error|warning'
		grep 'RIG-L2 sriov' "$RIG_WORK/serial.log" | sed 's/^.*RIG-L2 /guest: /'
		expect_eq "guest $i: its NVMe controller is VF $i's secondary controller" "$(l2_value sriov cntlid)" "$s"
		expect_eq "guest $i: its namespace is namespace $i" "$(l2_value sriov nsid)" "$i"
		# QEMU's VFs report INTx pin A, which VFs may not have (SR-IOV 1.1 3.4.1.18): vfio-pci
		# says "Hardware bug" in L1's log and offers no INTx; the guest must see no pin.
		expect_eq "guest $i: its VF has no INTx pin" "$(l2_value sriov pin)" 0
		expect_eq "guest $i: read of its whole namespace = L1's data for namespace $i" "$(l2_value sriov rd)" "$want"
		expect_eq "guest $i: O_DIRECT write (dd status)" "$(l2_value sriov w_rc)" 0
		expect_eq "guest $i: wrote its own pattern" "$(l2_value sriov w_sha)" \
			"$(yes "rig-sriov-$i" | head -c 262144 | sha256sum | cut -c1-64)"
		expect_eq "guest $i: reads back its write" "$(l2_value sriov w_back)" "$(l2_value sriov w_sha)"
		expect_l2_msix 1b36:0010 nvme 'nvme[0-9]+q[0-9]+'
		expect_dmesg_clean 'nvme|pci|msi'
		if [ "$RIG_FAILED" != 0 ]; then
			echo "--- guest $i serial, last $RIG_TAIL_SERIAL lines"
			tail -n "$RIG_TAIL_SERIAL" "$RIG_WORK/serial.log"
			echo "--- guest $i VMM stderr, last $RIG_TAIL_STDERR lines"
			tail -n "$RIG_TAIL_STDERR" "$RIG_WORK/vmm.err"
		fi
		RIG_WORK=$W
	done
	VMM_RC=
	# Both VMMs held their VF at the same time (L1 uptime, ms).
	read -r a0 a1 <"$W/g1/span" && read -r b0 b1 <"$W/g2/span"
	lap=$(awk -v a0="${a0:-0}" -v a1="${a1:-0}" -v b0="${b0:-0}" -v b1="${b1:-0}" \
		'BEGIN { s = (a0 > b0 ? a0 : b0); e = (a1 < b1 ? a1 : b1); printf "%.1f", (e - s) / 1000 }')
	if awk -v l="$lap" 'BEGIN { exit !(l > 0) }'; then
		ok "the two guests ran at the same time for ${lap}s"
	else
		fail "the two guests did not overlap (${lap}s)"
	fi
	expect_l1_dmesg_clean

	# Back in L1, through the PF: each guest's pattern on its own namespace, the rest as L1 wrote it.
	for i in 1 2; do
		eval "blk=\$blk$i"
		expect_eq "L1 finds guest $i's pattern at 1 MiB of namespace $i (/dev/$blk)" \
			"$(dd if="/dev/$blk" bs=262144 skip=4 count=1 iflag=direct 2>/dev/null | sha256sum | cut -c1-64)" \
			"$(yes "rig-sriov-$i" | head -c 262144 | sha256sum | cut -c1-64)"
		dd if="/dev/$blk" of="$W/ns$i.orig" bs=262144 skip=4 seek=4 count=1 iflag=direct conv=notrunc 2>/dev/null
		expect_eq "the rest of namespace $i is unchanged" \
			"$(dd if="/dev/$blk" bs=1M iflag=direct 2>/dev/null | sha256sum | cut -c1-64)" \
			"$(sha256sum <"$W/ns$i.orig" | cut -c1-64)"
		rm -f "$W/ns$i.orig"
	done
}

# sriov_cleanup: VFs off vfio-pci and out of pci_restore's list, SR-IOV off, the namespaces
# detached from the PF, autoprobe back on: a second run in the same L1 starts from the same state.
sriov_cleanup() {
	[ -n "${sriov_on:-}" ] || return 0
	for v in ${vf1:-} ${vf2:-}; do
		pci_bind "$v" none || fail "cleanup: VF $v still on $(pci_driver "$v")"
		sed -i "/^$v /d" "$W/pci.saved"
	done
	echo 0 >"/sys/bus/pci/devices/$pf/sriov_numvfs" || fail "cleanup: echo 0 > sriov_numvfs"
	if [ -n "${ns_on:-}" ]; then
		for i in 1 2; do nv detach-ns "/dev/$ctrl" -n "$i" -c "$pfc" || fail "cleanup: detach-ns $i"; done
	fi
	echo 1 >"/sys/bus/pci/devices/$pf/sriov_drivers_autoprobe"
}

sriov_main
sriov_cleanup
