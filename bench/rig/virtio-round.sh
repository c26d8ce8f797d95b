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
words="rig.l2=bench-virtio bench.disk_mb=$disk_mb bench.rand_s=$rand_s bench.net_mb=$net_mb"

rm -f "$w/disk.img" "$w/hold"
dd if=/dev/zero of="$w/disk.img" bs=1M count="$disk_mb" 2>/dev/null || fail "making the disk image"
dd if=/dev/zero of="$w/net-to-l2.bin" bs=1M count="$net_mb" 2>/dev/null
mkfifo "$w/hold"
tunctl -d "$tap" >/dev/null 2>&1
tunctl -t "$tap" >/dev/null || fail "tunctl -t $tap failed"
ip addr add 10.0.3.1/24 dev "$tap" && ip link set "$tap" up || fail "configuring $tap failed"

# bench_virtio NAME CMD...: L1's listeners, the VMM to its end, the guest's numbers as
# "RIG-DATA virtio vmm=NAME ...".
bench_virtio() {
	name=$1; shift
	nc -l -p 5000 <>"$w/hold" >/dev/null &
	nc_in=$!
	nc -l -p 5001 <"$w/net-to-l2.bin" >/dev/null &
	nc_out=$!
	vmm_run "$@"
	kill "$nc_in" "$nc_out" 2>/dev/null
	wait "$nc_in" "$nc_out" 2>/dev/null
	cp "$w/serial.log" "$w/$name.serial"
	cp "$w/vmm.err" "$w/$name.err"
	grep 'RIG-L2 \(bench\|error\)' "$w/serial.log" | sed "s/^/$name guest: /"
	data "virtio vmm=$name rc=$VMM_RC secs=$VMM_SECS" \
		"seq_read=$(l2_value 'bench blk' seq_read) seq_write=$(l2_value 'bench blk' seq_write)" \
		"randread_iops=$(l2_value 'bench rand' iops)" \
		"net_tx=$(l2_value 'bench net' tx) net_rx=$(l2_value 'bench net' rx)"
	if [ "$VMM_RC" != 0 ] || ! grep -q 'RIG-L2 bench-done' "$w/serial.log" ||
		grep -q 'RIG-L2 error' "$w/serial.log"; then
		fail "$name: VMM status $VMM_RC; $(grep -c 'RIG-L2 error' "$w/serial.log") guest errors"
		echo "--- $name: guest console, last 20 lines"
		tail -n 20 "$w/serial.log"
		echo "--- $name: stderr, last 10 lines"
		tail -n 10 "$w/vmm.err"
	fi
}

kvmio_cmd --disk "$w/disk.img" --net "tap=$tap,mac=$mac" -- $words
# shellcheck disable=SC2086
bench_virtio kvmio $CMD $APPEND_OPT "$APPEND"

qemu_cmd q35 -drive "file=$w/disk.img,if=none,id=d0,format=raw" -device virtio-blk-pci,drive=d0 \
	-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" -device "virtio-net-pci,netdev=n0,mac=$mac,romfile=" \
	-- $words
# shellcheck disable=SC2086
bench_virtio qemu $CMD $APPEND_OPT "$APPEND"

ip link set "$tap" down
tunctl -d "$tap" >/dev/null
rm -f "$w/disk.img" "$w/net-to-l2.bin" "$w/hold"
