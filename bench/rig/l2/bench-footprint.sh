# Sourced by the L2 /init (rig.l2=bench-footprint, rig.action=hang; L1 side:
# bench/rig/footprint-round.sh). One virtio disk, one virtio NIC on L1's tap (L1 is 10.0.3.1),
# virtio-rng: the drivers bound and the NIC up, then idle (L1 measures the VMM), then 30 s of
# disk and network traffic (L1 measures again), then idle until L1 stops the VMM.
vr() { echo "RIG-L2 $*"; }
for m in virtio_pci virtio_blk virtio_net virtio-rng; do modprobe "$m" 2>/dev/null; done
n=0
while [ $n -lt 100 ] && ! { [ -e /sys/block/vda ] && [ -e /sys/class/net/eth0 ]; }; do
	usleep 200000
	n=$((n + 1))
done
ip addr add 10.0.3.2/24 dev eth0 && ip link set eth0 up
head -c 64 /dev/hwrng >/dev/null 2>&1
vr "footprint idle devices=$(ls /sys/block | grep -c '^vd'),$(ls /sys/class/net | grep -c eth)"
# L1 measures the idle VMM meanwhile.
sleep 8
vr "footprint busy-start"
t0=$(cut -d' ' -f1 /proc/uptime)
(
	end=$(( $(cut -d. -f1 /proc/uptime) + 30 ))
	while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
		dd if=/dev/urandom of=/dev/vda bs=1M count=8 oflag=direct conv=notrunc 2>/dev/null
		dd if=/dev/vda of=/dev/null bs=1M count=32 iflag=direct 2>/dev/null
	done
) &
ping -q -i 0.01 -w 30 10.0.3.1 >/tmp/ping.out 2>&1
wait
vr "footprint busy-done secs=$(awk -v a="$t0" '{ printf "%.0f", $1 - a }' /proc/uptime) $(grep -o '[0-9]* packets received' /tmp/ping.out | tr ' ' _)"
