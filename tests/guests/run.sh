#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Tier-2 runner: boots each test guest under kvmio and checks both kvmio's exit
# status and the guest's ucall lines on COM1 (see guest.h), plus kvmio's stderr
# where the test is about how the VM ended; then the console tests: piped
# stdin (stdin.c) and a terminal driven through tmux (tty.sh, echo.c), and the
# control socket driven by kvmio remote (api.sh). One
# line per test with its wall time, then "guests: N passed, N failed";
# non-zero exit on any failure.
#
# usage: run.sh KVMIO IMAGE_DIR
# env:   GUEST_TIMEOUT (seconds per guest, default 60)
#        GUESTS        (space-separated test names to run; default all)
#        STDIN_LEN     (bytes piped into the stdin tests, default 20000)
# Logs stay in IMAGE_DIR/logs/NAME.{serial,stderr}.
set -u

KVMIO=$1
DIR=$2
TIMEOUT=${GUEST_TIMEOUT:-60}
STDIN_LEN=${STDIN_LEN:-20000}
LOGS=$DIR/logs
mkdir -p "$LOGS"
passed=0
failed=0

selected() {
	[ -z "${GUESTS:-}" ] && return 0
	for g in $GUESTS; do [ "$g" = "$1" ] && return 0; done
	return 1
}

now_ms() {
	echo $(( $(date +%s%N) / 1000000 ))
}

# report NAME T0_MS OUT ERR: the PASS/FAIL line for $why (empty: passed),
# counted. OUT is what the guest printed (CR-free), ERR kvmio's stderr.
report() {
	ms=$(( $(now_ms) - $2 ))
	time=$(printf '%d.%03ds' $((ms / 1000)) $((ms % 1000)))
	if [ -z "$why" ]; then
		passed=$((passed + 1))
		note=$(sed -n 's/^UCALL SYNC note: //p' "$3" | head -n1)
		printf 'PASS %-14s %8s%s\n' "$1" "$time" "${note:+  ($note)}"
	else
		failed=$((failed + 1))
		printf 'FAIL %-14s %8s  %s\n' "$1" "$time" "$why"
		[ "$3" != /dev/null ] || return 0
		echo "  --- guest output (last 15 lines): $3"
		tail -n 15 "$3" | sed 's/^/  | /'
		echo "  --- kvmio stderr (last 15 lines): $4"
		tail -n 15 "$4" | sed 's/^/  | /'
	fi
}

# verdict RC WANT_RC LAST STDERR_WANT STDERR_REJECT: sets $why from kvmio's
# exit status $RC, $serial.txt and $err; see run_guest.
verdict() {
	rc=$1 want_rc=$2 last=$3 err_want=$4 err_reject=$5
	why=
	abort=$(grep -m1 'UCALL ABORT' "$serial.txt")
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		why="timed out after ${TIMEOUT}s"
	elif [ "$want_rc" = 0 ] && [ "$rc" -ne 0 ]; then
		why="kvmio exit status $rc, want 0"
	elif [ "$want_rc" = error ] && { [ "$rc" -eq 0 ] || [ "$rc" -gt 125 ]; }; then
		why="kvmio exit status $rc, want an error status"
	fi
	if [ -z "$why" ] && [ -n "$abort" ]; then
		why="guest: ${abort#*UCALL ABORT }"
	elif [ -z "$why" ] && [ -n "$last" ] && ! grep -Eq "$last" "$serial.txt"; then
		why="no serial line matching '$last'"
	elif [ -z "$why" ] && [ -n "$err_want" ] && ! grep -Eqi "$err_want" "$err"; then
		why="stderr does not match '$err_want'"
	elif [ -z "$why" ] && [ -n "$err_reject" ] && grep -Eqi "$err_reject" "$err"; then
		why="stderr matches '$err_reject': $(grep -Ei -m1 "$err_reject" "$err")"
	fi
	if [ -z "$why" ] && [ -n "${CHECK:-}" ]; then
		$CHECK
	fi
	CHECK=
}

# run_guest NAME IMAGE WANT_RC LAST STDERR_WANT STDERR_REJECT [kvmio args...]
#   WANT_RC        0, or "error": non-zero, but not a timeout or a signal
#   LAST           ERE a serial line must match (e.g. '^UCALL DONE$')
#   STDERR_WANT    ERE (case-insensitive) stderr must match, or ""
#   STDERR_REJECT  ERE (case-insensitive) stderr must not match, or ""
# $CHECK, if set, names a function run after the common checks; it sets $why.
run_guest() {
	name=$1 img=$2
	if ! selected "$name"; then CHECK=; return; fi
	serial=$LOGS/$name.serial err=$LOGS/$name.stderr
	rm -f "$serial" "$err"
	t0=$(now_ms)
	shift 2
	want_rc=$1 last=$2 err_want=$3 err_reject=$4
	shift 4
	timeout "$TIMEOUT" "$KVMIO" run --kernel "$DIR/$img.bzImage" --serial "file=$serial" "$@" \
		</dev/null >"$LOGS/$name.stdout" 2>"$err"
	rc=$?
	touch "$serial"
	tr -d '\r' <"$serial" >"$serial.txt"
	verdict "$rc" "$want_rc" "$last" "$err_want" "$err_reject"
	report "$name" "$t0" "$serial.txt" "$err"
}

# Copies $data to stdout; with the FIFO, only once the guest says it is ready
# (or kvmio has exited).
stdin_feed() {
	if [ "$1" = 1 ]; then
		until grep -q '^UCALL SYNC stdin: ready' "$serial" 2>/dev/null; do
			[ -e "$rcf" ] && return 0
			sleep 0.02
		done
	fi
	cat "$data"
}

# run_stdin NAME FIFO: pipes $STDIN_LEN random bytes into kvmio's stdin
# (--serial stdio); the guest's cksum of them must match cksum(1)'s.
run_stdin() {
	name=$1 fifo=$2
	selected "$name" || return
	serial=$LOGS/$name.serial err=$LOGS/$name.stderr data=$LOGS/$name.data rcf=$LOGS/$name.rc
	rm -f "$serial" "$err" "$rcf"
	head -c "$STDIN_LEN" /dev/urandom >"$data"
	want_sum=$(cksum <"$data")
	t0=$(now_ms)
	stdin_feed "$fifo" | {
		timeout "$TIMEOUT" "$KVMIO" run --kernel "$DIR/stdin.bzImage" --serial stdio \
			--cmdline "stdin_len=$STDIN_LEN stdin_fifo=$fifo" >"$serial" 2>"$err"
		echo $? >"$rcf"
	}
	tr -d '\r' <"$serial" >"$serial.txt"
	CHECK=check_stdin_sum
	verdict "$(cat "$rcf")" 0 "$DONE" '' 'reboot'
	report "$name" "$t0" "$serial.txt" "$err"
}

check_stdin_sum() {
	got_sum=$(sed -n 's/^UCALL SYNC stdin: [0-9]* bytes, cksum //p' "$serial.txt")
	[ "$got_sum" = "$want_sum" ] ||
		why="guest cksum '$got_sum', host cksum '$want_sum'"
}

# Exactly one line about the reboot (the brief: "prints one line").
check_one_reboot_line() {
	n=$(grep -ci reboot "$err")
	[ "$n" -eq 1 ] || why="want one 'reboot' line on stderr, got $n"
}

check_no_loopback_leak() {
	! grep -q 'loopback-leak' "$serial.txt" || why="loopback bytes reached the serial output"
}

check_smp_count() {
	grep -Eq "^UCALL SYNC smp: cpus=$cpus " "$serial.txt" ||
		why="want cpus=$cpus, got: $(grep -m1 '^UCALL SYNC smp:' "$serial.txt")"
}

# Each refused DMA is one line on kvmio's stderr: the device, the direction, the IOVA, the reason.
check_vtd_fault_lines() {
	n=$(grep -c -E 'DMA fault: virtio-rng.* write at IOVA 0x4000[12]000 refused: not mapped for writing' "$err")
	[ "$n" -eq 3 ] || why="want 3 'DMA fault' lines on stderr for the 3 refused writes, got $n"
}

# kvm_amd reinitialises the vCPU on a triple fault before kvmio can read it (README, "Exit
# status"): kvmio must say that the dump is not the guest's, and count the shutdown as a crash.
check_reset_said() {
	grep -q 'unexpected triple fault (shutdown); KVM reset the vCPU' "$err" ||
		why="kvm_amd: no 'KVM reset the vCPU' on stderr"
}

# The dump names the faulting instruction: the ud2 address the guest printed.
check_crash_rip() {
	rip=$(sed -n 's/^UCALL SYNC crash: ud2 at rip=0x\([0-9a-f]*\) .*/\1/p' "$serial.txt")
	if [ -z "$rip" ]; then
		why="guest did not report its ud2 address"
	elif ! grep -Eqi "RIP[^0-9a-f]*(0x)?0*$rip([^0-9a-f]|$)" "$err"; then
		why="register dump has no RIP=$rip (the ud2)"
	fi
}

if [ ! -x "$KVMIO" ]; then
	echo "run.sh: $KVMIO is not an executable" >&2
	exit 2
fi

DONE='^UCALL DONE$'

CHECK=check_no_loopback_leak
run_guest uart         uart         0 "$DONE" '' 'reboot'
run_guest rtc          rtc          0 "$DONE" '' 'reboot' --cmdline "hosttime=$(date +%s)"
run_guest lapic_timer  lapic_timer  0 "$DONE" '' 'reboot'
for cpus in 1 3; do
	CHECK=check_smp_count
	run_guest "smp-$cpus" smp       0 "$DONE" '' 'reboot' --cpus "$cpus"
done
run_guest poweroff     poweroff     0 "$DONE" '' 'reboot' --memory 256M --cmdline "mem_mib=256"
CHECK=check_one_reboot_line
run_guest reset_i8042  reset_i8042  0 '^UCALL SYNC reset: i8042' 'reboot' ''
CHECK=check_one_reboot_line
run_guest reset_acpi   reset_acpi   0 '^UCALL SYNC reset: ACPI' 'reboot' ''
# A triple fault on purpose (the all-zero IDT) is a reboot and a crash is a register dump with
# the faulting RIP, except on kvm_amd, where both are a crash whose registers are lost.
if [ -d /sys/module/kvm_amd ] && [ ! -d /sys/module/kvm_pvm ]; then
	CHECK=check_reset_said
	run_guest triple_fault triple_fault error '^UCALL SYNC reset: triple fault' 'RIP' 'reboot'
	CHECK=check_reset_said
	run_guest crash        crash    error '^UCALL SYNC crash: ud2' 'RIP' 'reboot'
else
	CHECK=check_one_reboot_line
	run_guest triple_fault triple_fault 0 '^UCALL SYNC reset: triple fault' 'reboot' ''
	CHECK=check_crash_rip
	run_guest crash        crash    error '^UCALL SYNC crash: ud2' 'RIP' 'reboot'
fi
run_guest early_crash  early_crash  error '' 'RIP' 'reboot'
run_guest cpl3         cpl3         0 "$DONE" '' 'reboot'
# PCI, MSI-X and virtio-pci (pci.c): one VM per test, virtio-rng as the device.
for t in enum bar bar-hostile caps msix intx intx-dis intx-back features qsel \
	 early-kick msix-mask bad-ring; do
	run_guest "pci-$t"   pci          0 "$DONE" '' 'reboot' --rng --cmdline "test=$t"
done
# The emulated VT-d (vtd.c): the guest's own tables, the rng's DMA through them, faults.
CHECK=check_vtd_fault_lines
run_guest vtd          vtd          0 "$DONE" '' 'reboot|error' --rng --iommu
run_stdin stdin        0
run_stdin stdin-fifo   1

# shellcheck source=tests/guests/tty.sh
. "$(dirname "$0")/tty.sh"
run_tty_tests
# shellcheck source=tests/guests/api.sh
. "$(dirname "$0")/api.sh"
run_api_tests

echo "guests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
