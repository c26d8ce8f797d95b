# rig-timeout: 420
# Assigned devices that come and go (guest side: l2/vfio-hotplug.sh): L2 boots with no device;
# vm.add-device gives it the NVMe, which Debian's acpiphp and nvme driver take (reads checked
# against L1's data, two writes); vm.remove-device has the guest eject it; back on L1's nvme
# driver the guest's writes are on the namespace; the NVMe goes back to vfio-pci and is added
# again (the container was closed with its last group: a new one must work). Then the host
# takes it back while L2 reads it: L1 unbinds it from vfio-pci, kvmio asks the guest, the guest
# ejects it, and the unbind returns well within the timeout; L2 and kvmio keep running.
RIG_VMM_TIMEOUT=400
w=$RIG_WORK
sock=$w/api.sock
R() { "$KVMIO" remote --api-socket "$sock" "$@"; }
bdf=$(pci_find 1b36:0010) || { fail "no NVMe (1b36:0010) in L1"; return; }
nvme_prepare "$bdf" || return
vfio_bind "$bdf"
kvmio_start --cpus 1 --memory 256M --api-socket "$sock" -v -- rig.l2=vfio-hotplug rig.action=hang
if ! wait_serial 'RIG-L2 vfio-hotplug ready' 200; then
	fail "L2 never got ready"
	vmm_kill KILL
	return
fi
t0=$(ms)
out=$(R add-device bdf="$bdf" id=nvme1)
echo "add-device: $out"
expect_eq "add-device reply id" "$(echo "$out" | grep -o '"id":"nvme1"')" '"id":"nvme1"'
wait_serial 'RIG-L2 vfio-hotplug seen' 120 && info "add-device to visible in L2 (kvmio): $(($(ms) - t0)) ms"
wait_serial 'RIG-L2 nvme rd_short=.* w2_back=[0-9a-f]{64}' 120
expect_eq "guest: buffered write (dd status)" "$(l2_value nvme w1_rc)" 0
expect_eq "guest reads back its O_DIRECT write" "$(l2_value nvme w2_back)" "$(l2_value nvme w2_sha)"
expect_eq "guest read 4 MiB at 16 MiB = L1's data" "$(l2_value nvme rd_short)" \
	"$(dd if="$w/nvme.orig" bs=1M skip=16 count=4 2>/dev/null | sha256sum | cut -c1-64)"
t0=$(ms)
R remove-device id=nvme1 >/dev/null || fail "remove-device failed"
wait_serial 'RIG-L2 vfio-hotplug gone' 120 || fail "the guest never ejected the NVMe"
n=0
while R info | grep -q '"id":"nvme1"' && [ $n -lt 300 ]; do usleep 100000; n=$((n + 1)); done
R info | grep -q '"id":"nvme1"' && fail "nvme1 still listed" || info "remove-device to gone (kvmio): $(($(ms) - t0)) ms"
nvme_verify "$bdf"
vfio_bind "$bdf"
out=$(R add-device path="/sys/bus/pci/devices/$bdf" id=nvme2)
expect_eq "second add-device (a new container) reply id" "$(echo "$out" | grep -o '"id":"nvme2"')" '"id":"nvme2"'
wait_serial 'RIG-L2 vfio-hotplug reading' 180 || fail "L2 never read the NVMe added again"
t0=$(ms)
echo "$bdf" >/sys/bus/pci/drivers/vfio-pci/unbind
dt=$(($(ms) - t0))
[ "$dt" -lt 10000 ] && ok "the host's unbind returned after $dt ms (the guest ejected it)" ||
	fail "the host's unbind took $dt ms"
wait_serial 'RIG-L2 vfio-hotplug done' 120 || fail "L2 did not finish"
grep -q 'RIG-L2 vfio-hotplug gone again' "$w/serial.raw" && ok "L2 let go of the NVMe and runs on" ||
	fail "L2 did not report the NVMe gone"
R info | grep -q '"id":"nvme2"' && fail "nvme2 still listed" || ok "nvme2 is gone from info"
if kill -0 "$VMM_PID" 2>/dev/null; then ok "kvmio still runs"; else fail "kvmio exited"; fi
R shutdown
vmm_wait
expect_rc 0
expect_stderr 'guest ejected nvme1'
expect_stderr 'the host wants the device back'
expect_no_stderr 'removing it by surprise'
grep 'RIG-L2 error' "$w/serial.log" | head -n 3 | while read -r l; do fail "L2: $l"; done
