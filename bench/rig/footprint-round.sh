# rig-timeout: 420
# One round of bench/footprint: the same L2 (BENCH_CPUS, BENCH_MEM) with one virtio-blk disk (a
# raw image in L1's tmpfs), one virtio-net NIC on a tap L1 made and virtio-rng, under kvmio,
# QEMU microvm (pcie=on, the same virtio-pci devices) and QEMU q35, in that order. For each, once
# the guest is idle at its shell and again after 30 s of disk and network traffic
# (l2/bench-footprint.sh): the VMM's RSS and PSS minus guest RAM's (the mapping of the guest's
# memory size in /proc/PID/smaps), its threads and fds.
. /rig/ext/lib/bench.sh
RIG_VMM_TIMEOUT=200
w=$RIG_WORK
tap=fptap0 mac=52:54:00:12:34:56
words="rig.l2=bench-footprint rig.action=hang"
mem_kb=$(( $(echo "$BENCH_MEM" | sed 's/[Mm]$//') * 1024 ))

rm -f "$w/disk.img"
dd if=/dev/zero of="$w/disk.img" bs=1M count=64 2>/dev/null || fail "making the disk image"
tunctl -d "$tap" >/dev/null 2>&1
tunctl -t "$tap" >/dev/null || fail "tunctl -t $tap failed"
ip addr add 10.0.3.1/24 dev "$tap" && ip link set "$tap" up || fail "configuring $tap failed"

# cost PID: "rss=KB pss=KB threads=N fds=N": the VMM's memory without guest RAM's mapping(s)
# (anonymous mappings of the guest's memory size, +/- alignment), and its thread and fd counts.
cost() {
	awk -v ram="$mem_kb" '
		/^[0-9a-f]+-[0-9a-f]+ / { cur = "" }
		/^Size:/ { big = ($2 >= ram && $2 <= ram + 4096) }
		/^Rss:/ { rss += $2; if (big) grss += $2 }
		/^Pss:/ { pss += $2; if (big) gpss += $2 }
		END { printf "rss=%d pss=%d guest_rss=%d", rss - grss, pss - gpss, grss }' "/proc/$1/smaps"
	printf ' threads=%d fds=%d' "$(ls "/proc/$1/task" | wc -l)" "$(ls "/proc/$1/fd" | wc -l)"
}

# breakdown NAME PID: where the VMM's idle RSS goes, guest RAM left out, as data lines: KiB per
# mapping name (the file; [heap], [stack]; [anon] for the other anonymous mappings), the 12
# largest, with how much of each is private dirty and transparent huge pages.
breakdown() {
	awk -v ram="$mem_kb" '
		/^[0-9a-f]+-[0-9a-f]+ / { name = NF >= 6 ? $6 : "[anon]"; if (name ~ /^\[stack:/) name = "[stack]" }
		/^Size:/ { big = ($2 >= ram && $2 <= ram + 4096) }
		/^Rss:/ { if (!big) rss[name] += $2 }
		/^Private_Dirty:/ { if (!big) dirty[name] += $2 }
		/^AnonHugePages:/ { if (!big) thp[name] += $2 }
		END { for (n in rss) if (rss[n]) printf "%d %d %d %s\n", rss[n], dirty[n], thp[n], n }' \
		"/proc/$2/smaps" | sort -rn | head -n 12 |
		while read -r rss dirty thp map; do
			data "footprint-map vmm=$1 map=$map rss=$rss dirty=$dirty thp=$thp"
		done
}

# footprint NAME CMD...: the VMM in the background, measured idle and busy, then stopped.
footprint() {
	name=$1; shift
	vmm_start "$@"
	idle= busy=
	if wait_serial 'RIG-L2 footprint idle' 150; then
		sleep 3
		idle=$(cost "$VMM_PID")
		breakdown "$name" "$VMM_PID"
		if wait_serial 'RIG-L2 footprint busy-done' 90; then
			sleep 1
			busy=$(cost "$VMM_PID")
		fi
	fi
	vmm_kill TERM
	rc=0
	{ [ -n "$idle" ] && [ -n "$busy" ]; } || rc=1
	echo "$name idle: $idle; busy: $busy"
	data "footprint vmm=$name rc=$rc" \
		"$(echo "$idle" | sed 's/\([a-z_]*\)=/idle_\1=/g')" "$(echo "$busy" | sed 's/\([a-z_]*\)=/busy_\1=/g')"
}

kvmio_cmd --disk "$w/disk.img" --net "tap=$tap,mac=$mac" --rng -- $words
# shellcheck disable=SC2086
footprint kvmio $CMD $APPEND_OPT "$APPEND"

qdevs="-drive file=$w/disk.img,format=raw,if=none,id=d0
	-device virtio-blk-pci,drive=d0 -netdev tap,id=n0,ifname=$tap,script=no,downscript=no
	-device virtio-net-pci,netdev=n0,mac=$mac,romfile= -device virtio-rng-pci"
# shellcheck disable=SC2086
qemu_cmd microvm,x-option-roms=off,isa-serial=on,rtc=on,pcie=on $qdevs -- $words
# shellcheck disable=SC2086
footprint microvm $CMD $APPEND_OPT "$APPEND"
# shellcheck disable=SC2086
qemu_cmd q35 $qdevs -- $words
# shellcheck disable=SC2086
footprint q35 $CMD $APPEND_OPT "$APPEND"
tunctl -d "$tap" >/dev/null 2>&1
rm -f "$w/disk.img"
