# rig-timeout: 360
# Every kvmio virtio device in one L2 boot (2 vCPUs), through Debian's own drivers, with
# MSI-X (guest side: l2/virtio-devices.sh; offsets and sizes are shared with it):
# - virtio-blk rig-data: a region L1 filled is read back right; what the guest writes (1 MiB
#   buffered+fsync at an unaligned sector, 64 KiB O_DIRECT) is in the image at the same offsets,
#   and nothing else in the image changed;
# - virtio-blk rig-ro (readonly=on): read-only in the guest, writes fail, image unchanged;
# - virtio-blk rig-fs: mke2fs, mount, copy a file, remount, same checksum; superblock in the image;
# - virtio-net on a tap L1 made (10.0.3.1/24): ping, 4 MiB over TCP each way, checksums; and a
#   second one on a tap kvmio creates (L1 gives it 10.0.4.1/24 once it appears): ping;
# - virtio-rng: /dev/hwrng is virtio_rng.0 and gives random bytes;
# - virtio console (--console file=): a shell's output and 32 KiB of text on hvc0 reach the file;
# - each virtio PCI function is bound to virtio-pci, uses MSI-X vectors that fire, no INTx;
# - no PCI/virtio/block/net errors or warnings in the guest's kernel log; poweroff, status 0.
RIG_VMM_TIMEOUT=300
# scenarios/iommu-virtio.sh sources this with the VT-d on: its kvmio flags and L2 words.
vd_flags=${VD_FLAGS:-}
vd_words=${VD_WORDS:-}
w=$RIG_WORK
tap=kvmiotap0 tap2=kvmiotap1
shaf() { sha256sum "$1" | cut -c1-64; }
shas() { sha256sum | cut -c1-64; }

# Disks: random data (read-write and read-only) and zeros for the file system.
dd if=/dev/urandom of="$w/data.img" bs=1M count=16 2>/dev/null
cp "$w/data.img" "$w/data.orig"
dd if=/dev/urandom of="$w/ro.img" bs=1M count=8 2>/dev/null
ro_before=$(shaf "$w/ro.img")
rm -f "$w/fs.img"
truncate -s 32M "$w/fs.img"
# Network: a persistent tap with L1's address, made before kvmio opens it; one listener that
# stores what the guest sends (its stdin, a FIFO, never ends: the guest's close ends it) and one
# that sends a file to the guest.
dd if=/dev/urandom of="$w/net-to-l2.bin" bs=1M count=4 2>/dev/null
rm -f "$w/net-from-l2.bin" "$w/hold" "$w/hvc0.log"
mkfifo "$w/hold"
tunctl -t "$tap" >/dev/null || fail "tunctl -t $tap failed"
ip addr flush dev "$tap"
ip addr add 10.0.3.1/24 dev "$tap" && ip link set "$tap" up || fail "configuring $tap failed"
tunctl -d "$tap2" >/dev/null 2>&1 # left over from an earlier run? kvmio must create it
nc -l -p 5000 <>"$w/hold" >"$w/net-from-l2.bin" &
nc_in=$!
nc -l -p 5001 <"$w/net-to-l2.bin" >/dev/null &
nc_out=$!
token=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')

kvmio_start --cpus 2 --memory 512M \
	--disk "$w/data.img,serial=rig-data" --disk "$w/ro.img,readonly=on,serial=rig-ro" \
	--disk "$w/fs.img,serial=rig-fs" --net "tap=$tap,mac=52:54:00:12:34:56" \
	--net "tap=$tap2,mac=52:54:00:12:34:57" --rng \
	--console "file=$w/hvc0.log" $vd_flags -- rig.l2=virtio-devices "rig.token=$token" $vd_words
n=0
while [ ! -e "/sys/class/net/$tap2" ] && [ $n -lt 150 ] && kill -0 "$VMM_PID" 2>/dev/null; do
	usleep 100000
	n=$((n + 1))
done
if [ -e "/sys/class/net/$tap2" ]; then
	ok "kvmio created tap $tap2 (after ~$((n / 10))s)"
	ip addr add 10.0.4.1/24 dev "$tap2" && ip link set "$tap2" up || fail "configuring $tap2 failed"
else
	fail "no tap $tap2 15s after kvmio started"
fi
vmm_wait
kill "$nc_in" "$nc_out" 2>/dev/null
ip link set "$tap" down
tunctl -d "$tap" >/dev/null

expect_rc 0
expect_init
expect_action poweroff
expect_no_stderr 'error|warning'
grep 'RIG-L2 ' "$w/serial.log" | grep -v -E 'RIG-L2 (dmesg|pci|irq) ' | sed 's/^/guest: /'
if ! grep -q 'RIG-L2 report-done' "$w/serial.log"; then
	# Keep the output short so that the VMM's diagnosis and the console tail stay in view.
	fail "the guest did not finish (its last RIG-L2 line above is how far it got); checks skipped"
	rm -f "$w/data.img" "$w/data.orig" "$w/ro.img" "$w/fs.img" "$w/hold" "$w/net-from-l2.bin" "$w/net-to-l2.bin"
	return
fi

# --- PCI and interrupts ---
grep 'RIG-L2 pci ' "$w/serial.log" | sed 's/^.*RIG-L2 /info: /'
# id=VENDOR:DEVICE of each expected virtio function (modern IDs: 0x1040 + virtio device type).
for want in "0x1042 3 block" "0x1041 2 net" "0x1044 1 rng" "0x1043 1 console"; do
	set -- $want
	n=$(grep -c "RIG-L2 pci .* id=0x1af4:$1 " "$w/serial.log")
	expect_eq "virtio-$3 PCI functions (1af4:${1#0x})" "$n" "$2"
done
bad=$(grep 'RIG-L2 pci .* id=0x1af4:' "$w/serial.log" | grep -v -E 'driver=virtio-pci virtio=virtio[0-9]+ msi_irqs=[1-9][0-9]* msi_mode=msix,$')
if [ -z "$bad" ] && grep -q 'RIG-L2 pci .* id=0x1af4:' "$w/serial.log"; then
	ok "every virtio PCI function is bound to virtio-pci with MSI-X vectors"
else
	fail "virtio PCI functions not bound to virtio-pci with MSI-X: ${bad:-none listed}"
fi
grep 'RIG-L2 irq ' "$w/serial.log" | sed 's/^.*RIG-L2 irq /info: irq /'
intx=$(grep 'RIG-L2 irq ' "$w/serial.log" | grep -v 'chip=PCI-MSI ')
if [ -z "$intx" ]; then ok "virtio interrupts are all PCI-MSI"; else fail "virtio interrupts not PCI-MSI: $intx"; fi
# Vectors that must have fired: each disk's request queue, net receive, rng.
for dev in $(grep 'RIG-L2 pci .* id=0x1af4:' "$w/serial.log" | sed -n 's/.* id=0x1af4:\(0x....\) .* virtio=\(virtio[0-9]*\) .*/\1:\2/p'); do
	case "${dev%%:*}" in
	0x1042) q=req ;;
	0x1041) q=input ;;
	0x1044) q=input ;;
	*) continue ;;
	esac
	v=${dev#*:}
	c=$(grep "RIG-L2 irq name=$v-$q" "$w/serial.log" | sed 's/.*count=//' | awk '{ s += $1 } END { print s + 0 }')
	if [ "$c" -gt 0 ]; then ok "$v ($q queue) got $c MSI-X interrupts"; else fail "$v ($q queue): no interrupts"; fi
done

# --- virtio-blk, read-write ---
expect_eq "data disk size (sectors)" "$(l2_value 'blk data' size)" 32768
expect_eq "data disk read-only flag" "$(l2_value 'blk data' ro)" 0
expect_eq "guest read of L1's data at sector 6000" "$(l2_value 'blk data' rd_sha)" \
	"$(dd if="$w/data.orig" bs=512 skip=6000 count=512 2>/dev/null | shas)"
expect_eq "guest buffered write (dd status)" "$(l2_value 'blk data' w1_rc)" 0
expect_eq "guest O_DIRECT write (dd status)" "$(l2_value 'blk data' w2_rc)" 0
w1=$(l2_value 'blk data' w1_sha)
w2=$(l2_value 'blk data' w2_sha)
expect_eq "guest reads back its buffered write after drop_caches" "$(l2_value 'blk data' w1_back)" "$w1"
expect_eq "guest reads back its O_DIRECT write" "$(l2_value 'blk data' w2_back)" "$w2"
expect_eq "image at byte 5244416 (1 MiB) = guest's buffered write" \
	"$(dd if="$w/data.img" bs=512 skip=10243 count=2048 2>/dev/null | shas)" "$w1"
expect_eq "image at byte 9437184 (64 KiB) = guest's O_DIRECT write" \
	"$(dd if="$w/data.img" bs=65536 skip=144 count=1 2>/dev/null | shas)" "$w2"
# The original with the two written regions copied in must be the image: nothing else changed.
cp "$w/data.orig" "$w/data.want"
dd if="$w/data.img" of="$w/data.want" bs=512 skip=10243 seek=10243 count=2048 conv=notrunc 2>/dev/null
dd if="$w/data.img" of="$w/data.want" bs=65536 skip=144 seek=144 count=1 conv=notrunc 2>/dev/null
expect_eq "data image outside the written regions unchanged (and same size)" "$(shaf "$w/data.img")" "$(shaf "$w/data.want")"
rm -f "$w/data.orig" "$w/data.want"

# --- virtio-blk, readonly=on ---
expect_eq "read-only disk: /sys/block/vdX/ro" "$(l2_value 'blk ro' ro)" 1
expect_eq "read-only disk: blockdev --getro" "$(l2_value 'blk ro' getro)" 1
expect_eq "read-only disk: guest read of its first MiB" "$(l2_value 'blk ro' rd_sha)" \
	"$(dd if="$w/ro.img" bs=65536 count=16 2>/dev/null | shas)"
for k in write_rc direct_rc; do
	rc=$(l2_value 'blk ro' $k)
	if [ -n "$rc" ] && [ "$rc" != 0 ]; then ok "read-only disk: guest write refused ($k=$rc)"; else fail "read-only disk: guest write $k=${rc:-?}"; fi
done
expect_eq "read-only image unchanged" "$(shaf "$w/ro.img")" "$ro_before"

# --- virtio-blk, file system ---
expect_eq "mke2fs status" "$(l2_value fs mkfs_rc)" 0
expect_eq "first mount" "$(l2_value fs mount1)" ok
expect_eq "copy to the file system" "$(l2_value fs copy_rc)" 0
expect_eq "mount again (after umount and drop_caches)" "$(l2_value fs mount2)" ok
expect_eq "file checksum after remount" "$(l2_value fs back)" "$(l2_value fs sha)"
expect_eq "files after remount" "$(l2_value fs files)" ".,./dir,./dir/f,./hello,./lost+found,"
# ext2 superblock at byte 1024: magic 0xEF53 at +56, volume name at +120.
expect_eq "ext2 magic in fs.img" "$(dd if="$w/fs.img" bs=1 skip=1080 count=2 2>/dev/null | od -An -tx1 | tr -d ' \n')" 53ef
expect_eq "ext2 label in fs.img" "$(dd if="$w/fs.img" bs=1 skip=1144 count=5 2>/dev/null)" rigfs

# --- virtio-rng ---
expect_eq "hwrng current" "$(l2_value rng current)" virtio_rng.0
expect_eq "hwrng read status" "$(l2_value rng rc)" 0
expect_eq "hwrng bytes read" "$(l2_value rng bytes)" 16384
distinct=$(l2_value rng distinct)
if [ "${distinct:-0}" -ge 250 ]; then ok "hwrng: $distinct distinct byte values in 16 KiB"; else fail "hwrng: ${distinct:-?} distinct byte values in 16 KiB"; fi
expect_eq "hwrng: two reads differ" "$(l2_value rng differ)" yes

# --- virtio console ---
if [ -f "$w/hvc0.log" ]; then
	tr -d '\r' <"$w/hvc0.log" >"$w/hvc0.txt"
	info "hvc0 file: $(wc -c <"$w/hvc0.log") bytes, $(wc -l <"$w/hvc0.txt") lines; first: $(head -n 2 "$w/hvc0.txt" | tr '\n' '|')"
	expect_eq "hvc0: the shell's echo" "$(grep -c "^RIG-HVC token=$token\$" "$w/hvc0.txt")" 1
	expect_eq "hvc0: the shell's uname -r (L1 runs the same kernel)" \
		"$(sed -n "/^RIG-HVC token=$token\$/{n;p;}" "$w/hvc0.txt")" "$(uname -r)"
	expect_eq "hvc0: shell status" "$(l2_value hvc shell_rc)" 0
	expect_eq "hvc0: 32 KiB hex text intact" \
		"$(sed -n '/^RIG-HVC begin$/,/^RIG-HVC end$/p' "$w/hvc0.txt" | sed '1d;$d' | shas)" "$(l2_value hvc blob_sha)"
else
	fail "no $w/hvc0.log"
fi

# --- virtio-net ---
expect_eq "ping 10.0.3.1 (tap made by L1): replies" "$(l2_value net ping_rx)" 3
expect_eq "ping 10.0.4.1 (tap made by kvmio): replies" "$(l2_value net2 ping_rx)" 3
expect_eq "guest -> L1 TCP: nc status" "$(l2_value net tx_rc)" 0
expect_eq "guest -> L1 TCP: 4 MiB arrived intact" "$(shaf "$w/net-from-l2.bin")" "$(l2_value net tx_sha)"
expect_eq "L1 -> guest TCP: nc status" "$(l2_value net rx_rc)" 0
expect_eq "L1 -> guest TCP: 4 MiB arrived intact" "$(l2_value net rx_sha)" "$(shaf "$w/net-to-l2.bin")"
info "TCP 4 MiB: guest->L1 $(l2_value net tx_s)s, L1->guest $(l2_value net rx_s)s (guest clock)"
rm -f "$w/net-from-l2.bin" "$w/net-to-l2.bin"

expect_dmesg_clean "pci|virtio|vd[a-z]|hvc|eth[0-9]|msi|hw_random|hwrng|ext[234]${vd_flags:+|dmar|iommu}"
rm -f "$w/data.img" "$w/ro.img" "$w/fs.img" "$w/hold"
