# rig-timeout: 150
# Host-initiated removal when the guest does not eject: edu (1234:11e8) assigned with
# request-timeout=2 to a tiny guest without ACPI (echo.bzImage, waiting on its serial input).
# L1 unbinds edu from vfio-pci while kvmio runs: kvmio asks the guest, gets no ejection, removes
# the device by surprise after 2 s, and the host's unbind returns then; kvmio keeps running,
# vm.info no longer lists the device, and edu is free for L1 (bound to vfio-pci again, a second
# kvmio can open it).
RIG_VMM_TIMEOUT=120
img=/rig/guests/echo.bzImage
w=$RIG_WORK
sock=$w/api.sock
R() { "$KVMIO" remote --api-socket "$sock" "$@"; }
bdf=$(pci_find 1234:11e8) || { fail "no edu device (1234:11e8) in L1"; return; }
[ -f "$img" ] || { fail "no $img: make guests"; return; }
vfio_bind "$bdf"
vmm_start "$KVMIO" run --kernel "$img" --memory 128M --serial stdio --api-socket "$sock" -v \
	--device "vfio=$bdf,id=edu,request-timeout=2"
n=0
until R ping >/dev/null 2>&1; do
	[ $n -lt 100 ] || break
	usleep 100000
	n=$((n + 1))
done
R info | grep -q '"id":"edu","kind":"vfio-pci"' && ok "info lists edu as vfio-pci" || fail "info: $(R info)"
t0=$(ms)
echo "$bdf" >/sys/bus/pci/drivers/vfio-pci/unbind
dt=$(($(ms) - t0))
if [ "$dt" -ge 1500 ] && [ "$dt" -lt 8000 ]; then
	ok "the host's unbind returned after $dt ms (request-timeout=2)"
else
	fail "the host's unbind took $dt ms (request-timeout=2)"
fi
expect_eq "edu's driver after the unbind" "$(pci_driver "$bdf")" none
if kill -0 "$VMM_PID" 2>/dev/null; then ok "kvmio still runs"; else fail "kvmio exited"; fi
R info | grep -q '"id":"edu"' && fail "edu still listed: $(R info)" || ok "edu is gone from info"
R shutdown || fail "shutdown failed"
vmm_wait
expect_rc 0
expect_stderr 'the host wants the device back'
expect_stderr 'removing it by surprise'
expect_no_stderr 'error:'
# The device is whole for its next user.
vfio_bind "$bdf"
vmm_run "$KVMIO" run --kernel /rig/guests/vfio_edu.bzImage --memory 256M --serial stdio --device "vfio=$bdf"
expect_rc 0
grep -q 'UCALL SYNC edu: all checks passed' "$w/serial.log" && ok "a second kvmio runs edu's checks after it" ||
	fail "the second kvmio's guest did not pass edu's checks"
