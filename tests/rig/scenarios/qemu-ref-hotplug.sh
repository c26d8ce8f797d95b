# rig-timeout: 300
# The reference for scenarios/hotplug.sh: the same L2 script (l2/hotplug.sh) under QEMU (pc
# machine, its ACPI PCI hotplug on bus 0) driven over QMP: device_add of a virtio-blk disk and
# of a virtio-net NIC, device_del of each (the guest ejects them: DEVICE_DELETED), and
# system_powerdown. It checks the same guest-side results and prints QEMU's add-to-visible and
# remove-to-gone latencies, to set beside kvmio's.
RIG_VMM_TIMEOUT=280
w=$RIG_WORK
tap=hpqtap0
rm -f "$w/hp.img" "$w/qmp.in" "$w/qmp.out" "$w/qmp.log"
truncate -s 8M "$w/hp.img"
mkfifo "$w/qmp.in" "$w/qmp.out"
tunctl -d "$tap" >/dev/null 2>&1
tunctl -t "$tap" >/dev/null || fail "tunctl -t $tap failed"
ip addr add 10.0.9.1/24 dev "$tap" && ip link set "$tap" up || fail "configuring $tap failed"
vmm_start qemu-system-x86_64 -enable-kvm -machine pc -cpu host -smp 1 -m 256M \
	-nographic -nodefaults -no-reboot -serial stdio \
	-chardev pipe,id=qmp,path="$w/qmp" -mon chardev=qmp,mode=control \
	-kernel "$L2_KERNEL" -initrd "$L2_INITRD" -append "$(l2_cmdline rig.l2=hotplug rig.action=hang)"
cat "$w/qmp.out" >"$w/qmp.log" &
reader=$!
exec 9>"$w/qmp.in"
qmp() { echo "$1" >&9; }
# qmp_wait REGEX [SECONDS]: wait for a line of QEMU's QMP output.
qmp_wait() {
	n=0
	until grep -q -E "$1" "$w/qmp.log"; do
		[ $n -lt $((${2:-30} * 10)) ] || return 1
		usleep 100000
		n=$((n + 1))
	done
}
qmp '{"execute":"qmp_capabilities"}'
if ! wait_serial 'RIG-L2 hotplug ready' 200; then
	fail "L2 never got ready"
	vmm_kill KILL
	return
fi
t0=$(ms)
qmp '{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"hp1","file":{"driver":"file","filename":"'"$w/hp.img"'"}}}'
qmp '{"execute":"device_add","arguments":{"driver":"virtio-blk-pci","drive":"hp1","id":"hp1","serial":"hp-disk"}}'
if wait_serial 'RIG-L2 hotplug disk seen' 120; then
	info "add-disk to visible in L2 (QEMU): $(($(ms) - t0)) ms"
else
	fail "L2 never saw QEMU's hot-added disk"
fi
wait_serial 'RIG-L2 hotplug disk written rc=[0-9]+ sha=[0-9a-f]{64}' 60
expect_eq "64 KiB L2 wrote at sector 2048, in the image" \
	"$(dd if="$w/hp.img" bs=512 skip=2048 count=128 2>/dev/null | sha256sum | cut -c1-64)" \
	"$(l2_value 'hotplug disk written' sha)"
t0=$(ms)
qmp '{"execute":"device_del","arguments":{"id":"hp1"}}'
if qmp_wait '"DEVICE_DELETED".*"hp1"' 60; then
	info "remove-device to gone (QEMU, DEVICE_DELETED): $(($(ms) - t0)) ms"
else
	fail "QEMU never reported hp1 deleted"
fi
wait_serial 'RIG-L2 hotplug disk gone' 60 || fail "L2 never lost the disk"
qmp '{"execute":"blockdev-del","arguments":{"node-name":"hp1"}}'
t0=$(ms)
qmp '{"execute":"netdev_add","arguments":{"type":"tap","id":"n1","ifname":"'"$tap"'","script":"no","downscript":"no"}}'
qmp '{"execute":"device_add","arguments":{"driver":"virtio-net-pci","netdev":"n1","id":"nic1","mac":"52:54:00:00:09:02","romfile":""}}'
wait_serial 'RIG-L2 hotplug net seen' 120 && info "add-net to visible in L2 (QEMU): $(($(ms) - t0)) ms"
wait_serial 'RIG-L2 hotplug net ping rc=[0-9]+ [0-9]+_packets' 60
expect_eq "L2 pings L1 over QEMU's hot-added NIC" "$(l2_value 'hotplug net ping' rc)" 0
t0=$(ms)
qmp '{"execute":"device_del","arguments":{"id":"nic1"}}'
qmp_wait '"DEVICE_DELETED".*"nic1"' 60 && info "remove-device (net) to gone (QEMU): $(($(ms) - t0)) ms"
wait_serial 'RIG-L2 hotplug done' 60 || fail "L2 did not finish"
qmp '{"execute":"system_powerdown"}'
vmm_wait
grep '"error"' "$w/qmp.log" | head -n 5 | while read -r l; do fail "QMP: $l"; done
exec 9>&-
kill "$reader" 2>/dev/null
expect_rc 0
grep -q 'RIG-L2 power-button pressed' "$w/serial.log" && ok "L2 saw the power button and powered off" ||
	fail "L2 did not report the power button"
grep 'RIG-L2 error' "$w/serial.log" | head -n 3 | while read -r l; do fail "L2: $l"; done
tunctl -d "$tap" >/dev/null 2>&1
rm -f "$w/hp.img" "$w/qmp.in" "$w/qmp.out"
