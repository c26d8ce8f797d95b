# Sourced by the L2 /init (rig.l2=virtio-blk-kill9; L1 side: scenarios/virtio-blk-kill9.sh, with
# rig.action=hang). Writes two regions of the first virtio disk and makes them durable, A with
# dd conv=fsync (fsync of the block device) and B with a plain dd then sync; says so; then keeps
# the disk busy with unflushed O_DIRECT writes elsewhere until L1 kills kvmio with SIGKILL.
sha() { sha256sum | cut -c1-64; }
for m in virtio_pci virtio_blk; do modprobe "$m" || echo "RIG-L2 error: modprobe $m failed"; done
n=0
while [ ! -b /dev/vda ] && [ $n -lt 50 ]; do usleep 200000; n=$((n + 1)); done
# A: 1 MiB at sector 20483 (byte 10487296); B: 512 KiB at 4 KiB block 768 (byte 3 MiB).
head -c 1048576 /dev/urandom >/tmp/a
head -c 524288 /dev/urandom >/tmp/b
dd if=/tmp/a of=/dev/vda bs=512 seek=20483 conv=notrunc,fsync 2>/dev/null
arc=$?
dd if=/tmp/b of=/dev/vda bs=4096 seek=768 conv=notrunc 2>/dev/null
brc=$?
sync
echo "RIG-L2 kill9 flushed a_rc=$arc a_sha=$(sha </tmp/a) b_rc=$brc b_sha=$(sha </tmp/b)"
# C: 64 KiB O_DIRECT writes cycling over MiB 12-15, never flushed, until killed.
(
	i=0
	while :; do
		dd if=/dev/urandom of=/dev/vda bs=65536 seek=$((192 + i % 64)) count=1 oflag=direct conv=notrunc 2>/dev/null
		i=$((i + 1))
		[ "$i" = 8 ] && echo "RIG-L2 kill9 busy"
	done
) &
