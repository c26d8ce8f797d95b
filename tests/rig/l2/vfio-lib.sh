# Sourced by the L2 scripts of the VFIO scenarios (l2/vfio-nvme.sh, vfio-e1000e.sh, vfio-two.sh;
# L1 sides: scenarios/vfio-*.sh): Debian's own drivers on devices L1 assigned to the guest.
# Offsets and sizes here must match the scenarios'. Lines: "RIG-L2 TOPIC key=value ...";
# "RIG-L2 error: ..." for what should not happen.
vr() { echo "RIG-L2 $*"; }
verr() { echo "RIG-L2 error: $*"; }
sha() { sha256sum | cut -c1-64; }
ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# pci_dev VENDOR:DEVICE: the sysfs directory of the first PCI function with those IDs.
pci_dev() {
	for p in /sys/bus/pci/devices/*; do
		[ "$(cat "$p/vendor"):$(cat "$p/device")" = "0x${1%%:*}:0x${1#*:}" ] && { echo "$p"; return 0; }
	done
	return 1
}

# wait_for SECONDS COMMAND...: run COMMAND every 100 ms until it succeeds; status 1 on timeout.
wait_for() {
	n=$(($1 * 10))
	shift
	while ! "$@"; do
		[ "$n" -gt 0 ] || return 1
		usleep 100000
		n=$((n - 1))
	done
}

# --- NVMe (1b36:0010): L1 filled the whole 64 MiB namespace with random data --------------------
# l2_nvme full|short: reads (full: the whole namespace; short: 4 MiB at 16 MiB), then writes
# W1 (1 MiB, buffered, then fsync, at sector 10243: not page aligned) and W2 (256 KiB in one
# O_DIRECT write at 40 MiB: a PRP list), reads both back after drop_caches.
nvme_ready() { [ -b /dev/nvme0n1 ]; }
# nvme_probe: the guest's NVMe (1b36:0010) under Debian's nvme driver, its namespace block device
# up; sets p (its sysfs path) and t0 (ms at modprobe). Status 1, the reason reported, if not
# within 60 s.
nvme_probe() {
	p=$(pci_dev 1b36:0010) || { verr "no NVMe (1b36:0010) on the guest's PCI bus"; return 1; }
	modprobe nvme || verr "modprobe nvme failed"
	t0=$(ms)
	wait_for 60 nvme_ready && return 0
	verr "no /dev/nvme0n1 60 s after modprobe nvme (driver: $(readlink "$p/driver"); controllers: $(ls /sys/class/nvme 2>/dev/null | tr '\n' ' '))"
	return 1
}
l2_nvme() {
	nvme_probe || return
	vr "nvme pci=${p##*/} dev=nvme0n1 ready_ms=$(($(ms) - t0)) size=$(cat /sys/block/nvme0n1/size)" \
		"model=$(tr -d ' ' 2>/dev/null </sys/block/nvme0n1/device/model) queues=$(ls -d /sys/block/nvme0n1/mq/* 2>/dev/null | wc -l)"
	t0=$(ms)
	if [ "$1" = full ]; then
		rd=$(dd if=/dev/nvme0n1 bs=1M 2>/dev/null | sha)
	else
		rd=$(dd if=/dev/nvme0n1 bs=1M skip=16 count=4 2>/dev/null | sha)
	fi
	rd_ms=$(($(ms) - t0))
	head -c 1048576 /dev/urandom >/tmp/w1
	dd if=/tmp/w1 of=/dev/nvme0n1 bs=512 seek=10243 conv=notrunc,fsync 2>/dev/null
	w1rc=$?
	head -c 262144 /dev/urandom >/tmp/w2
	dd if=/tmp/w2 of=/dev/nvme0n1 bs=262144 seek=160 oflag=direct conv=notrunc 2>/dev/null
	w2rc=$?
	sync
	echo 3 >/proc/sys/vm/drop_caches
	vr "nvme rd_$1=$rd rd_ms=$rd_ms" \
		"w1_rc=$w1rc w1_sha=$(sha </tmp/w1) w1_back=$(dd if=/dev/nvme0n1 bs=512 skip=10243 count=2048 2>/dev/null | sha)" \
		"w2_rc=$w2rc w2_sha=$(sha </tmp/w2) w2_back=$(dd if=/dev/nvme0n1 bs=262144 skip=160 count=1 iflag=direct 2>/dev/null | sha)"
	rm -f /tmp/w1 /tmp/w2
}

# --- e1000e (8086:10d3) on QEMU user networking: 10.0.2.2 is the gateway, DHCP gives .15 -------
# l2_e1000e full|short: link up, carrier, DHCP (full), 10.0.2.15/24, ping the gateway (full: also
# 20 large ones), and the expansion ROM through sysfs (full).
carrier_up() { [ "$(cat "/sys/class/net/$nif/carrier" 2>/dev/null)" = 1 ]; }
l2_e1000e() {
	p=$(pci_dev 8086:10d3) || { verr "no e1000e (8086:10d3) on the guest's PCI bus"; return; }
	modprobe e1000e || verr "modprobe e1000e failed"
	nif=
	n=0
	while [ -z "$nif" ] && [ $n -lt 100 ]; do
		nif=$(ls "$p/net" 2>/dev/null | head -n 1)
		[ -n "$nif" ] || usleep 100000
		n=$((n + 1))
	done
	if [ -z "$nif" ]; then
		verr "e1000e: no network interface (driver: $(readlink "$p/driver"))"
		return
	fi
	ip link set lo up
	ip link set "$nif" up || verr "ip link set $nif up failed"
	t0=$(ms)
	carrier=0
	wait_for 30 carrier_up && carrier=1
	vr "e1000e pci=${p##*/} if=$nif mac=$(cat "/sys/class/net/$nif/address") carrier=$carrier carrier_ms=$(($(ms) - t0))"
	if [ "$1" = full ]; then
		# udhcpc without a script configures nothing: it only shows a broadcast exchange works.
		t0=$(ms)
		timeout 40 udhcpc -i "$nif" -n -q -f -t 5 -T 3 -s /bin/true >/tmp/dhcp.txt 2>&1
		drc=$?
		vr "e1000e dhcp_rc=$drc dhcp_lease=$(sed -n 's/.*lease of \([0-9.]*\) obtained.*/\1/p' /tmp/dhcp.txt | head -n 1)" \
			"dhcp_ms=$(($(ms) - t0))"
	fi
	ip addr add 10.0.2.15/24 dev "$nif" || verr "ip addr add on $nif failed"
	t0=$(ms)
	ping -c 3 -W 5 10.0.2.2 >/tmp/ping.txt 2>&1
	prc=$?
	prx=$(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' /tmp/ping.txt)
	line="e1000e ping_rc=$prc ping_rx=$prx"
	if [ "$1" = full ]; then
		ping -c 20 -i 0.1 -s 1400 -W 5 10.0.2.2 >/tmp/ping2.txt 2>&1
		line="$line big_rc=$? big_rx=$(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' /tmp/ping2.txt)"
	fi
	vr "$line ping_ms=$(($(ms) - t0)) rx_packets=$(cat "/sys/class/net/$nif/statistics/rx_packets") tx_packets=$(cat "/sys/class/net/$nif/statistics/tx_packets")"
	if [ "$1" = full ]; then
		if [ -e "$p/rom" ]; then
			t0=$(ms)
			echo 1 >"$p/rom"
			dd if="$p/rom" of=/tmp/rom bs=4096 2>/tmp/rom.err
			rrc=$?
			echo 0 >"$p/rom"
			vr "e1000e rom=yes rom_rc=$rrc rom_bytes=$(wc -c </tmp/rom) rom_sha=$(sha </tmp/rom) rom_ms=$(($(ms) - t0))"
			[ "$rrc" = 0 ] || vr "e1000e rom_err: $(head -n 1 /tmp/rom.err)"
		else
			vr "e1000e rom=no"
		fi
	fi
}

# --- PCI functions, their interrupts, the kernel log -------------------------------------------
# l2_report TOPIC: "RIG-L2 pci BDF id=V:D driver=D msi_irqs=N msi_mode=msix," per function,
# "RIG-L2 irq name=N chip=C count=C" per /proc/interrupts line whose name matches the extended
# regexp TOPIC, then the kernel's warnings and every line about the platform or TOPIC.
l2_report() {
	for p in /sys/bus/pci/devices/*; do
		drv=$(readlink "$p/driver" 2>/dev/null)
		modes=$(cat "$p"/msi_irqs/* 2>/dev/null | sort -u | tr '\n' ,)
		vr "pci ${p##*/} id=$(cat "$p/vendor"):$(cat "$p/device") class=$(cat "$p/class")" \
			"driver=${drv##*/} msi_irqs=$(ls "$p/msi_irqs" 2>/dev/null | wc -l) msi_mode=${modes:-none}"
	done
	awk -v topic="$1" 'NR == 1 { n = NF; next }
		$NF ~ topic { s = 0; for (i = 2; i <= n + 1; i++) s += $i; print "RIG-L2 irq name=" $NF " chip=" $(n + 2) " count=" s }' /proc/interrupts
	vr "iommu groups=$(ls /sys/kernel/iommu_groups 2>/dev/null | wc -l) dmar_on=$(dmesg | grep -c 'Intel(R) Virtualization Technology for Directed I/O') dma_faults=$(dmesg | grep -c 'DMAR: \[DMA')"
	dmesg -r | awk -v topic="$1" '/^<[0-4]>/ || tolower($0) ~ "acpi|apic|serial|ttys|8250|uart|pci|msi|dmar|iommu|" topic' |
		sed 's/^/RIG-L2 dmesg /'
	vr report-done
}
