# rig-timeout: 250
# Data the guest flushed survives SIGKILL of kvmio (guest side: l2/virtio-blk-kill9.sh). The
# guest writes region A with dd conv=fsync and region B with dd then sync, prints their
# checksums, then keeps writing elsewhere (O_DIRECT, unflushed); L1 waits for that on the
# serial console, kills kvmio with SIGKILL in the middle of those writes, and finds A and B in
# the image, whose size is unchanged.
RIG_VMM_TIMEOUT=200
w=$RIG_WORK
shas() { sha256sum | cut -c1-64; }
rm -f "$w/disk.img"
truncate -s 16M "$w/disk.img"
kvmio_start --cpus 1 --memory 256M --disk "$w/disk.img" -- rig.l2=virtio-blk-kill9 rig.action=hang
if wait_serial 'RIG-L2 kill9 busy'; then
	ok "guest flushed A and B and is writing more"
	usleep 500000
else
	fail "guest never said it had flushed and was busy"
fi
vmm_kill KILL
expect_rc 137
expect_init
grep 'RIG-L2 kill9' "$w/serial.log" | sed 's/^/guest: /'
expect_eq "A: dd conv=fsync status" "$(l2_value kill9 a_rc)" 0
expect_eq "B: dd status" "$(l2_value kill9 b_rc)" 0
expect_eq "A (1 MiB at byte 10487296, fsync) in the image after SIGKILL" \
	"$(dd if="$w/disk.img" bs=512 skip=20483 count=2048 2>/dev/null | shas)" "$(l2_value kill9 a_sha)"
expect_eq "B (512 KiB at byte 3145728, sync) in the image after SIGKILL" \
	"$(dd if="$w/disk.img" bs=4096 skip=768 count=128 2>/dev/null | shas)" "$(l2_value kill9 b_sha)"
expect_eq "image size after SIGKILL" "$(wc -c <"$w/disk.img")" 16777216
if grep -q 'RIG-L2 error' "$w/serial.log"; then fail "L2: $(grep 'RIG-L2 error' "$w/serial.log" | head -n 1)"; fi
expect_no_stderr 'error|warning'
rm -f "$w/disk.img"
