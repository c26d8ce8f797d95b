# Sourced by the L2 /init (rig.l2=virtio-devices; L1 side: scenarios/virtio-devices.sh).
# Debian's virtio drivers on every kvmio virtio device: three disks told apart by their serial
# (rig-data: reads and writes at known offsets; rig-ro: read-only; rig-fs: ext2), virtio-net
# twice (ping and TCP both ways with L1 at 10.0.3.1; ping 10.0.4.1), virtio-rng, virtio console (hvc0). Then the PCI
# devices, their interrupts and the kernel log. Offsets and sizes here must match the scenario's.
# Lines: "RIG-L2 TOPIC key=value ..."; "RIG-L2 error: ..." for what should not happen.
vr() { echo "RIG-L2 $*"; }
verr() { echo "RIG-L2 error: $*"; }
sha() { sha256sum | cut -c1-64; }
cmdarg() { for a in $(cat /proc/cmdline); do case "$a" in "$1"=*) echo "${a#*=}" ;; esac; done; }
# disk SERIAL: the vdX whose virtio-blk serial is SERIAL; nic MAC: the interface with that MAC
disk() { for b in /sys/block/vd*; do [ "$(cat "$b/serial" 2>/dev/null)" = "$1" ] && echo "${b##*/}"; done; }
nic() { for i in /sys/class/net/*; do [ "$(cat "$i/address")" = "$1" ] && echo "${i##*/}"; done; }

for m in virtio_pci virtio_blk virtio_net virtio-rng virtio_console ext4; do
	modprobe "$m" || verr "modprobe $m failed"
done
# Probing is synchronous, but give udev-less device nodes and the console port a moment.
n=0
while [ $n -lt 100 ]; do
	[ -e /dev/hvc0 ] && [ -e /sys/class/net/eth1 ] && [ -e /dev/hwrng ] &&
		[ "$(ls -d /sys/block/vd* 2>/dev/null | wc -l)" -ge 3 ] && break
	usleep 200000
	n=$((n + 1))
done
vr "devices waited_ms=$((n * 200)) disks=$(ls /sys/block | grep '^vd' | tr '\n' ,) nics=$(ls /sys/class/net | tr '\n' ,)"

# --- virtio-blk, read-write disk (serial rig-data, 16 MiB of L1 random data) ---------------
d=$(disk rig-data)
if [ -n "$d" ]; then
	# Read 256 KiB at byte 3072000 (sector 6000): L1 knows its checksum.
	rd=$(dd if="/dev/$d" bs=512 skip=6000 count=512 2>/dev/null | sha)
	# W1: 1 MiB at sector 10243 (byte 5244416, not page aligned: the page cache reads around
	# it), buffered, then fsync. W2: 64 KiB at 9 MiB with O_DIRECT (one request).
	head -c 1048576 /dev/urandom >/tmp/w1
	dd if=/tmp/w1 of="/dev/$d" bs=512 seek=10243 conv=notrunc,fsync 2>/dev/null
	w1rc=$?
	head -c 65536 /dev/urandom >/tmp/w2
	dd if=/tmp/w2 of="/dev/$d" bs=65536 seek=144 oflag=direct conv=notrunc 2>/dev/null
	w2rc=$?
	sync
	echo 3 >/proc/sys/vm/drop_caches
	vr "blk data dev=$d size=$(cat "/sys/block/$d/size") ro=$(cat "/sys/block/$d/ro") rd_sha=$rd" \
		"w1_rc=$w1rc w1_sha=$(sha </tmp/w1) w1_back=$(dd if="/dev/$d" bs=512 skip=10243 count=2048 2>/dev/null | sha)" \
		"w2_rc=$w2rc w2_sha=$(sha </tmp/w2) w2_back=$(dd if="/dev/$d" bs=65536 skip=144 count=1 iflag=direct 2>/dev/null | sha)"
else
	verr "no virtio disk with serial rig-data"
fi

# --- virtio-blk, readonly=on (serial rig-ro, 8 MiB of L1 random data) ----------------------
d=$(disk rig-ro)
if [ -n "$d" ]; then
	rd=$(dd if="/dev/$d" bs=65536 count=16 2>/dev/null | sha)
	# Both must fail: a buffered write with fsync, and an O_DIRECT one after asking for rw.
	dd if=/dev/zero of="/dev/$d" bs=4096 seek=1 count=1 conv=notrunc,fsync 2>/tmp/ro1.err
	wrc=$?
	blockdev --setrw "/dev/$d" 2>/dev/null
	dd if=/dev/zero of="/dev/$d" bs=4096 seek=2 count=1 oflag=direct conv=notrunc 2>/tmp/ro2.err
	drc=$?
	vr "blk ro dev=$d size=$(cat "/sys/block/$d/size") ro=$(cat "/sys/block/$d/ro") getro=$(blockdev --getro "/dev/$d")" \
		"rd_sha=$rd write_rc=$wrc direct_rc=$drc"
	vr "blk ro write_err: $(head -n 1 /tmp/ro1.err) / $(head -n 1 /tmp/ro2.err)"
else
	verr "no virtio disk with serial rig-ro"
fi

# --- virtio-blk with a file system (serial rig-fs, 32 MiB of zeros) -------------------------
d=$(disk rig-fs)
if [ -n "$d" ]; then
	mkdir -p /mnt
	# 256-byte inodes: with busybox's default of 128 the kernel warns (level 4) that the file
	# system's timestamps end in 2038.
	mke2fs -I 256 -L rigfs "/dev/$d" >/tmp/mkfs.log 2>&1
	mkrc=$?
	head -c 2097152 /dev/urandom >/tmp/f
	f_sha=$(sha </tmp/f)
	m1=fail m2=fail back='' files=''
	if mount -t ext2 "/dev/$d" /mnt 2>/tmp/mount.err || mount -t ext4 "/dev/$d" /mnt 2>>/tmp/mount.err; then
		m1=ok
		mkdir /mnt/dir && cp /tmp/f /mnt/dir/f && echo hello >/mnt/hello
		cprc=$?
		umount /mnt || verr "umount failed"
		echo 3 >/proc/sys/vm/drop_caches
		if mount -t ext2 -o ro "/dev/$d" /mnt 2>>/tmp/mount.err || mount -t ext4 -o ro "/dev/$d" /mnt 2>>/tmp/mount.err; then
			m2=ok
			back=$(sha </mnt/dir/f)
			files=$(cd /mnt && find . | sort | tr '\n' ,)
			umount /mnt || verr "umount failed"
		fi
	else
		vr "fs mount_err: $(head -n 1 /tmp/mount.err)"
	fi
	vr "fs dev=$d mkfs_rc=$mkrc mount1=$m1 copy_rc=${cprc:-} mount2=$m2 sha=$f_sha back=${back:-none} files=${files:-none}"
else
	verr "no virtio disk with serial rig-fs"
fi

# --- virtio-rng ---------------------------------------------------------------------------
dd if=/dev/hwrng of=/tmp/rng bs=4096 count=4 iflag=fullblock 2>/dev/null
rngrc=$?
r2=$(dd if=/dev/hwrng bs=4096 count=1 iflag=fullblock 2>/dev/null | sha)
vr "rng current=$(cat /sys/class/misc/hw_random/rng_current) available=$(cat /sys/class/misc/hw_random/rng_available | tr ' ' ,)" \
	"rc=$rngrc bytes=$(wc -c </tmp/rng) distinct=$(od -An -tu1 -v /tmp/rng | tr -s ' ' '\n' | grep -v '^$' | sort -u | wc -l)" \
	"differ=$([ "$(head -c 4096 /tmp/rng | sha)" != "$r2" ] && echo yes || echo no)"

# --- virtio console: a shell's output on hvc0, then 32 KiB as hex text ---------------------
sh -c "echo RIG-HVC token=$(cmdarg rig.token); uname -r" >/dev/hvc0 2>&1
hrc=$?
head -c 32768 /dev/urandom | od -An -tx1 -v >/tmp/hvc.txt
{ echo "RIG-HVC begin"; cat /tmp/hvc.txt; echo "RIG-HVC end"; } >/dev/hvc0
brc=$?
vr "hvc shell_rc=$hrc blob_rc=$brc blob_lines=$(wc -l </tmp/hvc.txt) blob_sha=$(sha </tmp/hvc.txt)"

# --- virtio-net: MAC ..:56 on L1's tap (L1 is 10.0.3.1, listening on 5000 (receives) and 5001
# (sends)); MAC ..:57 on a tap kvmio created (L1 is 10.0.4.1) ---------------------------------
ip link set lo up
# ping_from NIC ADDR PEER KEY: address NIC, ping PEER 3 times, report as "RIG-L2 KEY ..."
ping_from() {
	if [ -z "$1" ]; then
		verr "no interface for $4"
		return
	fi
	ip addr add "$2/24" dev "$1" && ip link set "$1" up || verr "$1 setup failed"
	ping -c 3 -W 5 "$3" >/tmp/ping.txt 2>&1
	prc=$?
	ptx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' /tmp/ping.txt)
	prx=$(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' /tmp/ping.txt)
	vr "$4 if=$1 mtu=$(cat "/sys/class/net/$1/mtu") ping_rc=$prc ping_tx=$ptx ping_rx=$prx"
}
ping_from "$(nic 52:54:00:12:34:56)" 10.0.3.2 10.0.3.1 net
ping_from "$(nic 52:54:00:12:34:57)" 10.0.4.2 10.0.4.1 net2
head -c 4194304 /dev/urandom >/tmp/net-tx.bin
t0=$(cut -d' ' -f1 /proc/uptime)
timeout 120 nc 10.0.3.1 5000 </tmp/net-tx.bin
txrc=$?
t1=$(cut -d' ' -f1 /proc/uptime)
mkfifo /tmp/hold # nc's stdin never ends: the transfer ends when L1 closes
timeout 120 nc 10.0.3.1 5001 <>/tmp/hold >/tmp/net-rx.bin
rxrc=$?
t2=$(cut -d' ' -f1 /proc/uptime)
vr "net tx_rc=$txrc tx_sha=$(sha </tmp/net-tx.bin) tx_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
	"rx_rc=$rxrc rx_bytes=$(wc -c </tmp/net-rx.bin) rx_sha=$(sha </tmp/net-rx.bin) rx_s=$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')"
rm -f /tmp/net-tx.bin /tmp/net-rx.bin

# --- PCI devices (an lspci of sysfs) and their interrupts ----------------------------------
for p in /sys/bus/pci/devices/*; do
	drv=$(readlink "$p/driver" 2>/dev/null)
	v=$(ls -d "$p"/virtio* 2>/dev/null | head -n 1)
	modes=$(cat "$p"/msi_irqs/* 2>/dev/null | sort -u | tr '\n' ,)
	vr "pci ${p##*/} id=$(cat "$p/vendor"):$(cat "$p/device") class=$(cat "$p/class")" \
		"driver=${drv##*/} virtio=${v##*/} msi_irqs=$(ls "$p/msi_irqs" 2>/dev/null | wc -l) msi_mode=${modes:-none}"
done
# "IRQ: COUNTS... CHIP HWIRQ NAME": the sum over CPUs, per virtio vector (or INTx line).
awk 'NR == 1 { n = NF; next }
	$NF ~ /virtio/ { s = 0; for (i = 2; i <= n + 1; i++) s += $i; print "RIG-L2 irq name=" $NF " chip=" $(n + 2) " count=" s }' /proc/interrupts

# --- kernel log: warnings and worse, and every line about the platform and these devices ----
# With the emulated VT-d (scenarios/iommu-virtio.sh): what the kernel made of it, and each PCI
# function's IOMMU group.
vr "iommu groups=$(ls /sys/kernel/iommu_groups 2>/dev/null | wc -l) functions=$(ls /sys/bus/pci/devices | wc -l) grouped=$(ls -d /sys/bus/pci/devices/*/iommu_group 2>/dev/null | wc -l) dmar_on=$(dmesg | grep -c 'Intel(R) Virtualization Technology for Directed I/O') dma_faults=$(dmesg | grep -c 'DMAR: \[DMA')"
dmesg -r | awk '/^<[0-4]>/ || tolower($0) ~ /acpi|apic|serial|ttys|8250|uart|pci|virtio|vd[a-z]|hvc|eth[0-9]|msi|hw_random|hwrng|ext[234]|dmar|iommu/' |
	sed 's/^/RIG-L2 dmesg /'
vr report-done
