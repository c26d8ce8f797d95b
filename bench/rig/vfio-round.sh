# rig-timeout: 480
# One round of bench/vfio: the rig's NVMe (1b36:0010, 64 MiB namespace) read three ways, with the
# same script (l2/bench-vfio.sh) and the same reads:
#   l1-direct: by L1 itself, under L1's nvme driver (L1's clock);
#   kvmio:     bound to vfio-pci, assigned to an L2 under kvmio (--device vfio=BDF; guest clock);
#   qemu:      the same L2 under QEMU q35 with -device vfio-pci,host=BDF (guest clock).
#   kvmio-iommu, qemu-iommu: the same behind the VMM's emulated VT-d (below).
# (RIG_PARAM_VMMS: which of them; default the first three.)
# Both L2s: same kernel, initramfs, vCPUs and memory (BENCH_CPUS, BENCH_MEM). The namespace is
# filled with random data first (under L1's driver), so every read returns real data from the
# image. The device goes back to the driver the round found it on (lib.sh finish/pci_restore).
# Results: "RIG-DATA vfio vmm=NAME rc=N seq_read=MiB/s randread_iops=N read_1m=MiB/s
# spawn_ms=N ...".
. /rig/ext/lib/bench.sh
RIG_VMM_TIMEOUT=150 # per VMM run (lib/bench.sh timed_boot); a normal one takes 40-70 s
passes=${RIG_PARAM_PASSES:-96}
rand_s=${RIG_PARAM_RAND_S:-10}
w=$RIG_WORK
words="rig.l2=bench-vfio bench.passes=$passes bench.rand_s=$rand_s"
vmms=${RIG_PARAM_VMMS:-l1-direct kvmio qemu}
want() { case " $vmms " in *" $1 "*) return 0 ;; esac; return 1; }

bdf=$(pci_find 1b36:0010) || { fail "no NVMe (1b36:0010) in L1"; return; }
pci_save "$bdf"
info "NVMe at $bdf, IOMMU group $(pci_group "$bdf"), found on driver $(pci_driver "$bdf")"

# settle: before each measurement, the same L1 memory state: page cache dropped, memory
# compacted, so that the VMM's RAM (and its IOMMU mappings) can get 2 MiB pages.
settle() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	echo 1 >/proc/sys/vm/compact_memory
}
# thp: "ALLOC FALLBACK": L1's transparent huge page faults so far (/proc/vmstat).
thp() { awk '$1 == "thp_fault_alloc" { a = $2 } $1 == "thp_fault_fallback" { f = $2 } END { print a + 0, f + 0 }' /proc/vmstat; }

# value FILE KEY FIELD: the word FIELD=V on the last "RIG-L2 KEY ..." line of FILE.
value() { sed -n "s/^.*RIG-L2 $2 \(.* \)\{0,1\}$3=\([^ ]*\).*/\2/p" "$1" | tail -n 1; }

# report NAME RC FILE [WORDS]: its numbers as "RIG-DATA vfio vmm=NAME ... WORDS"; fail if RC is
# not 0, the script did not finish or said "RIG-L2 error".
report() {
	grep 'RIG-L2 \(bench\|error\)' "$3" | sed "s/^.*RIG-L2 /$1: /"
	data "vfio vmm=$1 rc=$2${4:+ $4}" \
		"seq_read=$(value "$3" 'bench nvme' seq_read) randread_iops=$(value "$3" 'bench rand' iops)" \
		"read_1m=$(value "$3" 'bench big' iops)" \
		"spawn_ms=$(value "$3" 'bench nvme' spawn_ms) seq_s=$(value "$3" 'bench nvme' seq_s)" \
		"pass_min_ms=$(value "$3" 'bench nvme' pass_min_ms) pass_max_ms=$(value "$3" 'bench nvme' pass_max_ms)" \
		"queues=$(value "$3" 'bench nvme' queues) passes=$passes"
	if [ "$2" != 0 ] || ! grep -q 'RIG-L2 bench-done' "$3" || grep -q 'RIG-L2 error' "$3"; then
		fail "$1: status $2; $(grep -c 'RIG-L2 error' "$3") errors"
		return 1
	fi
}

# --- L1 direct: L1's own nvme driver ------------------------------------------------------------
if ! pci_bind "$bdf" nvme || ! blk=$(nvme_blk "$bdf"); then
	fail "L1's nvme driver on $bdf: driver $(pci_driver "$bdf"), no namespace block device ($(lsmod | grep -c '^nvme ') nvme module(s) loaded)"
	return
fi
info "L1: $bdf on nvme, /dev/$blk, $(($(cat "/sys/block/$blk/size") / 2048)) MiB"
dd if=/dev/urandom of="$w/fill" bs=1M count=$(($(cat "/sys/block/$blk/size") / 2048)) 2>/dev/null
dd if="$w/fill" of="/dev/$blk" bs=1M oflag=direct conv=notrunc,fsync 2>/dev/null || fail "L1: filling /dev/$blk failed"
rm -f "$w/fill"
if want l1-direct; then
	settle
	BENCH_NVME_DEV=/dev/$blk BENCH_PASSES=$passes BENCH_RAND_S=$rand_s PATH=/rig/ext/bin:$PATH \
		sh /rig/ext/l2/bench-vfio.sh >"$w/l1-direct.out" 2>&1
	report l1-direct $? "$w/l1-direct.out" || { echo "--- l1-direct output"; cat "$w/l1-direct.out"; }
fi

# --- L2 under kvmio, then under QEMU: the device on vfio-pci -----------------------------------
vfio_bind "$bdf"
l1_dmesg_mark

# bench_vfio NAME CMD...: the VMM to its end (lib/bench.sh timed_boot: the guest console stamped
# with L1's clock as each line arrives, in $w/NAME.serial; stderr in $w/NAME.err), the guest's
# numbers. l1_seq_s: L1's time between the guest's "bench mark seq-start" and "seq-end" lines,
# a check of the guest clock the rates are computed with; thp_alloc, thp_fallback: L1's huge
# page faults that succeeded and that fell back to 4 KiB pages during the run.
bench_vfio() {
	settle
	read -r a0 f0 <<EOF2
$(thp)
EOF2
	timed_boot "$@"
	name=$1
	read -r a1 f1 <<EOF2
$(thp)
EOF2
	s0=$(sed -n 's/^\([0-9]*\) .*RIG-L2 bench mark seq-start.*/\1/p' "$w/$name.serial" | tail -n 1)
	s1=$(sed -n 's/^\([0-9]*\) .*RIG-L2 bench mark seq-end.*/\1/p' "$w/$name.serial" | tail -n 1)
	if [ -n "$s0" ] && [ -n "$s1" ]; then l1s=$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.2f", (b - a) / 1000 }'); else l1s=NA; fi
	if ! report "$name" "$rc" "$w/$name.serial" "l1_seq_s=$l1s thp_alloc=$((a1 - a0)) thp_fallback=$((f1 - f0))"; then
		echo "--- $name: guest console, last 20 lines"
		tail -n 20 "$w/$name.serial"
		echo "--- $name: stderr, last 10 lines"
		tail -n 10 "$w/$name.err"
	fi
}

if want kvmio; then
	# shellcheck disable=SC2086
	kvmio_cmd --device "vfio=$bdf" -- $words
	# shellcheck disable=SC2086
	bench_vfio kvmio $CMD $APPEND_OPT "$APPEND"
fi
if want qemu; then
	# shellcheck disable=SC2086
	qemu_cmd q35 -device "vfio-pci,host=$bdf" -- $words
	# shellcheck disable=SC2086
	bench_vfio qemu $CMD $APPEND_OPT "$APPEND"
fi
# The vIOMMU variants (BENCH_VFIO_VMMS=... kvmio-iommu qemu-iommu): the NVMe behind the VMM's
# emulated VT-d, intel_iommu=on in L2 (caching mode, which both VMMs' VFIO needs, makes 6.1
# invalidate strictly): every map and unmap of L2's nvme driver is an exit and a shadow update
# in the host container. QEMU: intel-iommu with caching mode and no interrupt remapping, as kvmio's.
if want kvmio-iommu; then
	# shellcheck disable=SC2086
	kvmio_cmd -v --iommu --device "vfio=$bdf" -- $words intel_iommu=on
	# shellcheck disable=SC2086
	bench_vfio kvmio-iommu $CMD $APPEND_OPT "$APPEND"
	grep -a "shadowed the guest's DMA mappings" "$w/kvmio-iommu.err" | sed 's/^/info: /'
fi
if want qemu-iommu; then
	# shellcheck disable=SC2086
	qemu_cmd q35,kernel-irqchip=split -device intel-iommu,caching-mode=on,intremap=off \
		-device "vfio-pci,host=$bdf" -- $words intel_iommu=on
	# shellcheck disable=SC2086
	bench_vfio qemu-iommu $CMD $APPEND_OPT "$APPEND"
fi

expect_l1_dmesg_clean
