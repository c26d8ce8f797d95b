# rig-timeout: 400
# The control socket and ACPI PCI hotplug with Debian's acpiphp in L2 (guest side:
# l2/hotplug.sh): pause stops L2's ticks and resume restarts them; add-disk gives L2 a disk it
# writes and L1 finds the data in the image; remove-device has L2 eject it, after which the
# image is free for another kvmio; add-net on a tap L1 made, L2 pings L1 over it, and removes it;
# vm.info follows every change; every thread of kvmio, boot-time and hot-added, has a seccomp
# filter; 100 add/remove cycles of a disk leave kvmio with the fds,
# threads and (nearly) the memory it had; the power button makes L2 power itself off, and kvmio
# exits 0. Prints add-to-visible and remove-to-gone latencies (qemu-ref-hotplug: QEMU's).
RIG_VMM_TIMEOUT=370
w=$RIG_WORK
sock=$w/api.sock
tap=hptap0
R() { "$KVMIO" remote --api-socket "$sock" "$@"; }
ticks() { tr -d '\r' <"$w/serial.raw" | grep -a -c 'RIG-L2 tick'; }
# gone ID: poll vm.info until ID is no longer listed (at most 30 s); prints the ms it took.
gone() {
	t=$(ms)
	while R info | grep -q "\"id\":\"$1\""; do
		[ $(($(ms) - t)) -lt 30000 ] || return 1
		usleep 50000
	done
	echo $(($(ms) - $2))
}

rm -f "$w/hp.img"
truncate -s 8M "$w/hp.img"
tunctl -d "$tap" >/dev/null 2>&1
tunctl -t "$tap" >/dev/null || fail "tunctl -t $tap failed"
ip addr add 10.0.9.1/24 dev "$tap" && ip link set "$tap" up || fail "configuring $tap failed"

kvmio_start --cpus 1 --memory 256M --api-socket "$sock" -v -- rig.l2=hotplug rig.action=hang
if ! wait_serial 'RIG-L2 hotplug ready' 200; then
	fail "L2 never got ready"
	vmm_kill KILL
	return
fi
expect_eq "socket mode" "$(stat -c %a "$sock")" 600
expect_eq "ping" "$(R ping | grep -o '"version":"[^"]*"' | head -n 1 | cut -c1-10)" '"version":'
expect_eq "info state" "$(R info | grep -o '"state":"[A-Za-z]*"' | head -n 1)" '"state":"Running"'

# --- pause / resume --------------------------------------------------------------------------
R pause || fail "pause failed"
expect_eq "info state when paused" "$(R info | grep -o '"state":"[A-Za-z]*"' | head -n 1)" '"state":"Paused"'
a=$(ticks); sleep 3; b=$(ticks)
R resume || fail "resume failed"
sleep 3; c=$(ticks)
info "ticks: $a before pause, $b after 3 s paused, $c 3 s after resume"
if [ $((b - a)) -le 1 ] && [ $((c - b)) -ge 2 ]; then
	ok "pause stops L2 ($((b - a)) ticks in 3 s) and resume restarts it ($((c - b)) in 3 s)"
else
	fail "ticks: $((b - a)) in 3 s paused, $((c - b)) in 3 s after resume"
fi
R pause >/dev/null; R resume >/dev/null
R resume 2>"$w/r.err" && fail "resume of a running VM succeeded"
grep -q 'not paused' "$w/r.err" && ok "resume when running: $(cat "$w/r.err")"

# --- disk ------------------------------------------------------------------------------------
t0=$(ms)
out=$(R add-disk path="$w/hp.img" serial=hp-disk id=hp1)
echo "add-disk: $out"
expect_eq "add-disk reply id" "$(echo "$out" | grep -o '"id":"hp1"')" '"id":"hp1"'
if wait_serial 'RIG-L2 hotplug disk seen' 120; then
	info "add-disk to visible in L2 (kvmio): $(($(ms) - t0)) ms"
	ok "L2 sees the hot-added disk as $(l2_value 'hotplug disk seen' dev)"
else
	fail "L2 never saw the hot-added disk"
fi
R info | grep -q '"id":"hp1","kind":"virtio-blk","bdf":"0000:00:0[0-9a-f].0","state":"present","hotplugged":true' &&
	ok "info lists hp1 as a present, hot-plugged virtio-blk" || fail "info: $(R info)"
if wait_serial 'RIG-L2 hotplug disk written rc=[0-9]+ sha=[0-9a-f]{64}' 60; then
	expect_eq "64 KiB L2 wrote at sector 2048, in the image" \
		"$(dd if="$w/hp.img" bs=512 skip=2048 count=128 2>/dev/null | sha256sum | cut -c1-64)" \
		"$(l2_value 'hotplug disk written' sha)"
fi
t0=$(ms)
out=$(R remove-device id=hp1)
expect_eq "remove-device reply" "$out" '{"id":"hp1","state":"pending"}'
wait_serial 'RIG-L2 hotplug disk gone' 60 || fail "L2 never lost the disk"
if dt=$(gone hp1 "$t0"); then
	info "remove-device to gone (kvmio): $dt ms"
	ok "hp1 is gone from info"
else
	fail "hp1 still listed 30 s after L2 ejected it"
fi
"$KVMIO" run --kernel /rig/guests/poweroff.bzImage --disk "$w/hp.img" >"$w/k2.out" 2>"$w/k2.err"
expect_eq "another kvmio opens the released image (exit status)" "$?" 0

# --- errors ----------------------------------------------------------------------------------
R add-disk path=/nonexistent.img 2>"$w/e.err" && fail "add-disk of a missing image succeeded"
grep -q 'cannot open' "$w/e.err" && ok "add-disk of a missing image: $(cat "$w/e.err")" ||
	fail "add-disk of a missing image: $(cat "$w/e.err")"
R remove-device id=nope 2>"$w/e.err" && fail "remove-device of an unknown id succeeded"
grep -q 'HTTP 404' "$w/e.err" && ok "remove-device of an unknown id: 404" || fail "$(cat "$w/e.err")"

# --- net -------------------------------------------------------------------------------------
t0=$(ms)
out=$(R add-net tap="$tap" mac=52:54:00:00:09:02 id=nic1)
echo "add-net: $out"
if wait_serial 'RIG-L2 hotplug net seen' 120; then
	info "add-net to visible in L2 (kvmio): $(($(ms) - t0)) ms"
fi
wait_serial 'RIG-L2 hotplug net ping rc=[0-9]+ [0-9]+_packets' 60
expect_eq "L2 pings L1 over the hot-added NIC" "$(l2_value 'hotplug net ping' rc)" 0
t0=$(ms)
R remove-device id=nic1 >/dev/null || fail "remove-device nic1 failed"
wait_serial 'RIG-L2 hotplug net gone' 60 || fail "L2 never lost the NIC"
if dt=$(gone nic1 "$t0"); then
	info "remove-device (net) to gone (kvmio): $dt ms"
	ok "nic1 is gone from info"
else
	fail "nic1 still listed 30 s after L2 ejected it"
fi
wait_serial 'RIG-L2 hotplug done' 30

# --- 100 add/remove cycles of a disk: nothing leaks ----------------------------------------
# Threads and fds of kvmio before and after, and its resident memory.
res() { echo "$(ls "/proc/$VMM_PID/fd" | wc -l) $(ls "/proc/$VMM_PID/task" | wc -l)"; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$VMM_PID/status"; }
res0=$(res) rss0=$(rss) i=0 t0=$(ms)
while [ $i -lt 100 ]; do
	R add-disk path="$w/hp.img" id=cyc >/dev/null || { fail "cycle $i: add-disk failed"; break; }
	R remove-device id=cyc >/dev/null || { fail "cycle $i: remove-device failed"; break; }
	n=0
	while R info | grep -q '"id":"cyc"' && [ $n -lt 300 ]; do usleep 50000; n=$((n + 1)); done
	if R info | grep -q '"id":"cyc"'; then fail "cycle $i: the guest did not eject the disk"; break; fi
	i=$((i + 1))
done
info "$i add/remove cycles in $(($(ms) - t0)) ms"
expect_eq "kvmio's fds and threads after $i cycles" "$(res)" "$res0"
if [ -z "$rss0" ] || [ -z "$(rss)" ]; then fail "no VmRSS for kvmio (pid $VMM_PID)"
elif [ $(($(rss) - rss0)) -lt 4096 ]; then ok "kvmio's RSS after $i cycles: $(rss) KiB (before: $rss0 KiB)"
else fail "kvmio's RSS grew from $rss0 to $(rss) KiB over $i cycles"; fi

# --- the sandbox: every thread of kvmio, boot-time and hot-added, runs under a seccomp filter ---
R add-disk path="$w/hp.img" id=late >/dev/null || fail "add-disk late failed"
sleep 1
nt=0 nf=0
for t in /proc/"$VMM_PID"/task/*; do
	nt=$((nt + 1))
	[ "$(awk '/^Seccomp:/ { print $2 }' "$t/status")" = 2 ] ||
		{ nf=$((nf + 1)); info "unfiltered: $(cat "$t/comm")"; }
done
[ "$nt" -gt 2 ] && [ "$nf" = 0 ] && ok "all $nt threads of kvmio have a seccomp filter (Seccomp: 2)" ||
	fail "$nf of $nt threads of kvmio have no seccomp filter"

# --- power button ----------------------------------------------------------------------------
R power-button || fail "power-button failed"
vmm_wait
expect_rc 0
wait_serial 'RIG-L2 power-button pressed' 1 && ok "L2 saw the power button and powered off" ||
	fail "L2 did not report the power button"
[ -e "$sock" ] && fail "the socket is still there after kvmio exited" || ok "socket removed at exit"
grep 'RIG-L2 error' "$w/serial.log" | head -n 3 | while read -r l; do fail "L2: $l"; done
expect_stderr 'guest ejected hp1'
expect_stderr 'guest ejected nic1'
expect_stderr 'error: disk /nonexistent.img: cannot open' 1
expect_eq "VMM errors but the one asked for" "$(grep -c 'error:' "$w/vmm.err")" 1
tunctl -d "$tap" >/dev/null 2>&1
rm -f "$w/hp.img"
