# Sourced by the L2 /init (rig.l2=hotplug, rig.action=hang; L1 side: scenarios/hotplug.sh).
# Debian's acpiphp is the client of kvmio's ACPI PCI hotplug: this script waits for each device
# L1 adds through the control socket, uses it, and reports when L1's removal took it away.
# In the background: a tick every half second (pause stops them) and a watcher of the ACPI
# power button that powers off, as a distribution's logind or acpid would.
vr() { echo "RIG-L2 $*"; }
up() { cut -d' ' -f1 /proc/uptime; }
sha() { sha256sum | cut -c1-64; }
disk() { for b in /sys/block/vd*; do [ "$(cat "$b/serial" 2>/dev/null)" = "$1" ] && echo "${b##*/}"; done; }
nic() { for i in /sys/class/net/*; do [ "$(cat "$i/address")" = "$1" ] && echo "${i##*/}"; done; }
# until_ CMD...: run CMD every 100 ms until it succeeds, at most 120 s; status 1 on timeout.
until_() { n=0; until "$@"; do [ $n -ge 1200 ] && return 1; usleep 100000; n=$((n + 1)); done; }
disk_here() { [ -n "$(disk hp-disk)" ]; }
disk_gone() { [ -z "$(disk hp-disk)" ]; }
nic_here() { [ -n "$(nic 52:54:00:00:09:02)" ]; }
nic_gone() { [ -z "$(nic 52:54:00:00:09:02)" ]; }

for m in virtio_pci virtio_blk virtio_net button evdev; do
	modprobe "$m" || vr "error: modprobe $m failed"
done
pb=
for i in /sys/class/input/input*; do
	[ "$(cat "$i/name" 2>/dev/null)" = "Power Button" ] && pb=$(ls -d "$i"/event* 2>/dev/null | head -n 1)
done
if [ -n "$pb" ]; then
	# One input_event is 24 bytes: the first one is the press.
	(dd if="/dev/input/${pb##*/}" bs=24 count=1 >/dev/null 2>&1 && vr "power-button pressed" && poweroff -f) &
else
	vr "error: no ACPI power button input device"
fi
(i=0; while :; do vr "tick $i"; i=$((i + 1)); usleep 500000; done) &
vr "hotplug ready slots=$(ls /sys/bus/pci/slots 2>/dev/null | wc -l) uptime=$(up)"

# 1. A disk (serial hp-disk): write 64 KiB at sector 2048 and make it durable.
if until_ disk_here; then
	d=$(disk hp-disk)
	vr "hotplug disk seen dev=$d uptime=$(up)"
	head -c 65536 /dev/urandom >/tmp/p
	dd if=/tmp/p of="/dev/$d" bs=512 seek=2048 conv=notrunc,fsync 2>/dev/null
	vr "hotplug disk written rc=$? sha=$(sha </tmp/p)"
	until_ disk_gone && vr "hotplug disk gone uptime=$(up)"
else
	vr "error: the hot-added disk never appeared"
fi

# 2. A NIC (52:54:00:00:09:02) on L1's tap at 10.0.9.1: ping it.
if until_ nic_here; then
	e=$(nic 52:54:00:00:09:02)
	vr "hotplug net seen dev=$e uptime=$(up)"
	ip addr add 10.0.9.2/24 dev "$e" && ip link set "$e" up
	ping -c 3 -W 3 10.0.9.1 >/tmp/ping.out 2>&1
	vr "hotplug net ping rc=$? $(grep -o '[0-9]* packets received' /tmp/ping.out | tr ' ' _)"
	until_ nic_gone && vr "hotplug net gone uptime=$(up)"
else
	vr "error: the hot-added NIC never appeared"
fi
vr "hotplug done"
