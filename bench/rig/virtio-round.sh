# rig-timeout: 480
# One round of bench/virtio: the same L2 (2 vCPUs, 512M by default) with one virtio-blk disk (a
# raw image in L1's tmpfs) and one virtio-net NIC (a tap L1 made, 10.0.3.1/24), under kvmio and
# then QEMU q35 (virtio-blk-pci, virtio-net-pci on a tap netdev without vhost, KVM in L1). The
# guest (l2/bench-virtio.sh) measures sequential O_DIRECT write and read, 4 KiB random reads
# (/bin/randread, bench/randread.c) and TCP each way with busybox nc.
. /rig/ext/lib/bench.sh
RIG_VMM_TIMEOUT=200
disk_mb=${RIG_PARAM_DISK_MB:-512}
rand_s=${RIG_PARAM_RAND_S:-10}
net_mb=${RIG_PARAM_NET_MB:-64}
w=$RIG_WORK
tap=benchtap0 mac=52:54:00:12:34:56
vmms=${RIG_PARAM_VMMS:-kvmio kvmio-alt qemu}
want() { case " $vmms " in *" $1 "*) return 0 ;; esac; return 1; }
words="rig.l2=bench-virtio bench.disk_mb=$disk_mb bench.rand_s=$rand_s bench.net_mb=$net_mb"

rm -f "$w/disk.img" "$w/hold"
dd if=/dev/zero of="$w/disk.img" bs=1M count="$disk_mb" 2>/dev/null || fail "making the disk image"
dd if=/dev/zero of="$w/net-to-l2.bin" bs=1M count="$net_mb" 2>/dev/null
mkfifo "$w/hold"
tunctl -d "$tap" >/dev/null 2>&1
tunctl -t "$tap" >/dev/null || fail "tunctl -t $tap failed"
ip addr add 10.0.3.1/24 dev "$tap" && ip link set "$tap" up || fail "configuring $tap failed"

# net_stats ERRFILE: kvmio's virtio-net counters for the whole run (its -v exit line) as
# vmm_KEY=VALUE; nothing for QEMU.
net_stats() {
	{
		sed -n 's/.*virtio-net [^:]*: rx \([0-9]*\) frames [0-9]* bytes, \([0-9]*\) wakeups, \([0-9]*\) interrupts; tx \([0-9]*\) frames [0-9]* bytes, \([0-9]*\) kicks, \([0-9]*\) interrupts, \([0-9]*\) ticks.*/vmm_rx_frames=\1 vmm_rx_wakeups=\2 vmm_rx_irqs=\3 vmm_tx_frames=\4 vmm_tx_kicks=\5 vmm_tx_irqs=\6 vmm_tx_ticks=\7/p' "$1" | tail -n 1
		# Why tx-usecs=auto gave a pass back at once (the small ones are mostly the ACKs
		# it sends while receiving).
		sed -n 's/.*not moderated: \([0-9]*\) small, \([0-9]*\) rx data, \([0-9]*\) no stream.*/vmm_tx_unmod_small=\1 vmm_tx_unmod_rx=\2 vmm_tx_unmod_gap=\3/p' "$1" | tail -n 1
	} | tr '\n' ' '
}

# cpu_snap PID: "cpu all IDLE-TICKS" (all of L1), then "TID COMM TICKS" per thread of PID.
cpu_snap() {
	awk '$1 == "cpu" { print "cpu all", $5 + $6 }' /proc/stat
	for f in /proc/"$1"/task/*/stat; do
		# comm may hold spaces: count utime and stime (fields 14, 15 of 52) from the end.
		tr ' ' '_' <"$f" 2>/dev/null | awk -F_ '{ print $1, $2, $(NF - 38) + $(NF - 37) }'
	done
}

# cpu_diff PID BEFORE AFTER: tx_l1_idle=TICKS (both L1 CPUs) and tx_cpu_GROUP=TICKS for the
# VMM's threads: vcpu (KVM vCPUs), io (kvmio's virtio workers), main, other.
cpu_diff() {
	awk -v pid="$1" 'NR == FNR { a[$1 " " $2] = $3; next }
	     { d = $3 - a[$1 " " $2]
	       if ($1 == "cpu") { idle = d; next }
	       g = ($2 ~ /CPU|vcpu/) ? "vcpu" : ($2 ~ /virtio/) ? "io" : ($1 == pid) ? "main" : "other"
	       t[g] += d }
	     END { printf "tx_l1_idle=%d tx_cpu_vcpu=%d tx_cpu_io=%d tx_cpu_main=%d tx_cpu_other=%d",
		   idle, t["vcpu"], t["io"], t["main"], t["other"] }' "$2" "$3"
}

# bench_virtio NAME CMD...: L1's listeners, the VMM to its end, the guest's numbers as
# "RIG-DATA virtio vmm=NAME ...".
bench_virtio() {
	name=$1; shift
	nc -l -p 5000 <>"$w/hold" >/dev/null &
	nc_in=$!
	nc -l -p 5001 <"$w/net-to-l2.bin" >/dev/null &
	nc_out=$!
	vmm_start "$@"
	# L1's view of the guest->L1 transfer: the VMM's threads' CPU time, L1's idle time.
	txcpu=
	if wait_serial 'RIG-L2 bench tx-start'; then
		cpu_snap "$VMM_PID" >"$w/cpu0"
		wait_serial 'RIG-L2 bench tx-end' && cpu_snap "$VMM_PID" >"$w/cpu1" &&
			txcpu=$(cpu_diff "$VMM_PID" "$w/cpu0" "$w/cpu1")
	fi
	vmm_wait
	kill "$nc_in" "$nc_out" 2>/dev/null
	wait "$nc_in" "$nc_out" 2>/dev/null
	cp "$w/serial.log" "$w/$name.serial"
	cp "$w/vmm.err" "$w/$name.err"
	grep 'RIG-L2 \(bench\|error\)' "$w/serial.log" | sed "s/^/$name guest: /"
	data "virtio vmm=$name rc=$VMM_RC secs=$VMM_SECS" \
		"seq_read=$(l2_value 'bench blk' seq_read) seq_write=$(l2_value 'bench blk' seq_write)" \
		"randread_iops=$(l2_value 'bench rand' iops)" \
		"net_tx=$(l2_value 'bench net' tx) net_rx=$(l2_value 'bench net' rx)" \
		"$(for k in irq_in irq_out tx_pkts tx_avg rx_pkts retrans; do
			printf 'tx_%s=%s rx_%s=%s ' "$k" "$(l2_value 'bench nettx' $k)" "$k" "$(l2_value 'bench netrx' $k)"
		done)" "$(net_stats "$w/vmm.err")" "$txcpu" \
		"$(for k in cwnd_avg cwnd_max unacked_avg; do printf 'tx_%s=%s ' "$k" "$(l2_value 'bench nettx' $k)"; done)"
	if [ "$VMM_RC" != 0 ] || ! grep -q 'RIG-L2 bench-done' "$w/serial.log" ||
		grep -q 'RIG-L2 error' "$w/serial.log"; then
		fail "$name: VMM status $VMM_RC; $(grep -c 'RIG-L2 error' "$w/serial.log") guest errors"
		echo "--- $name: guest console, last 20 lines"
		tail -n 20 "$w/serial.log"
		echo "--- $name: stderr, last 10 lines"
		tail -n 10 "$w/vmm.err"
	fi
}

if want kvmio; then
	kvmio_cmd -v --disk "$w/disk.img" --net "tap=$tap,mac=$mac" -- $words
	# shellcheck disable=SC2086
	bench_virtio kvmio $CMD $APPEND_OPT "$APPEND"
fi

# kvmio-alt: kvmio again with RIG_PARAM_KVMIO_NET's --net options (e.g. tx-usecs=0).
if want kvmio-alt && [ -n "${RIG_PARAM_KVMIO_NET:-}" ]; then
	kvmio_cmd -v --disk "$w/disk.img" --net "tap=$tap,mac=$mac,$RIG_PARAM_KVMIO_NET" -- $words
	# shellcheck disable=SC2086
	bench_virtio kvmio-alt $CMD $APPEND_OPT "$APPEND"
fi

if want qemu; then
	qemu_cmd q35 -drive "file=$w/disk.img,if=none,id=d0,format=raw" -device virtio-blk-pci,drive=d0 \
		-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" \
		-device "virtio-net-pci,netdev=n0,mac=$mac,romfile=" -- $words
	# shellcheck disable=SC2086
	bench_virtio qemu $CMD $APPEND_OPT "$APPEND"
fi

# The vIOMMU variants (BENCH_VIRTIO_VMMS=... kvmio-iommu qemu-iommu): every ring and buffer access
# translated through the guest's own VT-d tables, intel_iommu=on in L2 (caching mode: 6.1 then
# invalidates strictly). QEMU: intel-iommu with caching mode and no interrupt remapping, as
# kvmio's, and iommu_platform virtio devices.
if want kvmio-iommu; then
	kvmio_cmd -v --iommu --disk "$w/disk.img" --net "tap=$tap,mac=$mac" -- $words intel_iommu=on
	# shellcheck disable=SC2086
	bench_virtio kvmio-iommu $CMD $APPEND_OPT "$APPEND"
fi
# kvmio-iommu-lazy: the same without caching mode (--iommu=caching-mode=off), so L2's intel-iommu
# batches its invalidations (its default lazy mode): what a guest with only emulated devices gets.
if want kvmio-iommu-lazy; then
	kvmio_cmd -v --iommu=caching-mode=off --disk "$w/disk.img" --net "tap=$tap,mac=$mac" -- $words intel_iommu=on
	# shellcheck disable=SC2086
	bench_virtio kvmio-iommu-lazy $CMD $APPEND_OPT "$APPEND"
fi
if want qemu-iommu; then
	qemu_cmd q35,kernel-irqchip=split -device intel-iommu,caching-mode=on,intremap=off \
		-drive "file=$w/disk.img,if=none,id=d0,format=raw" \
		-device virtio-blk-pci,drive=d0,iommu_platform=on,disable-legacy=on \
		-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" \
		-device "virtio-net-pci,netdev=n0,mac=$mac,romfile=,iommu_platform=on,disable-legacy=on" \
		-- $words intel_iommu=on
	# shellcheck disable=SC2086
	bench_virtio qemu-iommu $CMD $APPEND_OPT "$APPEND"
fi

ip link set "$tap" down
tunctl -d "$tap" >/dev/null
rm -f "$w/disk.img" "$w/net-to-l2.bin" "$w/hold"
