# SPDX-License-Identifier: Apache-2.0
# Helpers for rig scenarios (tests/rig/scenarios/NAME.sh), sourced in L1 before the scenario;
# finish() runs after it. A scenario boots L2 with kvmio_boot or qemu_boot, then checks with
# expect_*. Checks print "ok: ..." or "FAIL: ..." and keep going; any FAIL fails the scenario.
#
# Files of the last boot, in $RIG_WORK: serial.log (guest console = VMM stdout, \r stripped),
# vmm.err (VMM stderr). VMM_RC: its exit status; VMM_SECS: its wall time in L1.

RIG_FAILED=0
VMM_RC=
L2_KERNEL=/rig/vmlinuz
L2_INITRD=/rig/l2.cpio
KVMIO=/rig/bin/kvmio

ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; RIG_FAILED=1; }
info() { echo "info: $*"; }

# Kernel command line for L2: console on the first UART, quiet, and the scenario's words.
l2_cmdline() { echo "console=ttyS0 quiet panic=-1 ${RIG_L2_APPEND:+$RIG_L2_APPEND }$*"; }

# size_kb 777M -> 795648 (K, M, G suffixes; bare numbers are MiB, as for QEMU's -m).
size_kb() {
	case "$1" in
	*[kK]) echo $((${1%?})) ;;
	*[mM]) echo $((${1%?} * 1024)) ;;
	*[gG]) echo $((${1%?} * 1024 * 1024)) ;;
	*) echo $(($1 * 1024)) ;;
	esac
}

ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# kvm_diag PID: what a hung VMM's VM is doing: KVM exit counters over 2 s (debugfs), and for
# each of its threads its state, kernel stack top and CPU time over the same 2 s (in ticks of
# 10 ms: in the guest, in the VMM's own code, in the L1 kernel and KVM).
kvm_diag() {
	vpid=$1
	d=$(ls -d "/sys/kernel/debug/kvm/$vpid"-* 2>/dev/null | head -n 1)
	stats="exits halt_exits halt_wakeup io_exits mmio_exits irq_exits irq_window_exits signal_exits insn_emulation irq_injections nmi_injections hypercalls"
	# thread_times: "TID UTIME STIME GUEST_TIME" per thread (stat fields 14, 15, 43).
	thread_times() {
		for t in /proc/"$vpid"/task/*; do
			read -r line <"$t/stat" 2>/dev/null || continue
			# shellcheck disable=SC2086
			set -- ${line##*) }
			echo "${t##*/} ${12} ${13} ${41}"
		done
	}
	thread_times >"$RIG_WORK/threads.1"
	if [ -n "$d" ]; then
		for f in $stats; do [ -r "$d/$f" ] && echo "$f $(cat "$d/$f")"; done >"$RIG_WORK/kvm.1"
		sleep 2
		for f in $stats; do [ -r "$d/$f" ] && echo "$f $(cat "$d/$f")"; done >"$RIG_WORK/kvm.2"
		echo "diag: KVM counters of the hung VM, then +delta over 2 s:"
		paste "$RIG_WORK/kvm.1" "$RIG_WORK/kvm.2" | awk '{ printf "  %-18s %12d  +%d\n", $1, $4, $4 - $2 }'
	else
		echo "diag: no /sys/kernel/debug/kvm/$vpid-* (debugfs?)"
		sleep 2
	fi
	thread_times >"$RIG_WORK/threads.2"
	for t in /proc/"$vpid"/task/*; do
		[ -r "$t/stat" ] || continue
		read -r line <"$t/stat"
		# shellcheck disable=SC2086
		set -- ${line##*) }
		cpu=$(awk -v tid="${t##*/}" 'FNR == NR { u[$1] = $2; s[$1] = $3; g[$1] = $4; next }
			$1 == tid && ($1 in u) { printf "in guest +%d, user +%d, kernel +%d", $4 - g[$1], ($2 - $4) - (u[$1] - g[$1]), $3 - s[$1] }' \
			"$RIG_WORK/threads.1" "$RIG_WORK/threads.2")
		echo "diag: thread ${t##*/} ($(cat "$t/comm")) state $1, cpu over 2 s: ${cpu:-?}; in $(head -n 3 "$t/stack" 2>/dev/null | sed 's/^\[<[0-9a-f]*>\] //' | tr '\n' ' ')"
	done
}

# vmm_start CMD...: start a VMM in the background with stdin from /dev/null (rig.md pitfall),
# stdout to serial.raw and stderr to vmm.err; VMM_PID is its pid. vmm_wait collects it.
vmm_start() {
	echo "run: $*"
	: >"$RIG_WORK/serial.raw"
	: >"$RIG_WORK/serial.log"
	VMM_T0=$(ms)
	# Appends (>>) so that a verbose run's tail -f keeps following the file.
	"$@" </dev/null >>"$RIG_WORK/serial.raw" 2>"$RIG_WORK/vmm.err" &
	VMM_PID=$!
}

# vmm_wait: wait for the VMM of vmm_start to exit, at most RIG_VMM_TIMEOUT seconds after its
# start; on timeout print kvm_diag and kill it. Sets VMM_RC, VMM_SECS, serial.log.
vmm_wait() {
	[ -n "${VMM_PID:-}" ] || return
	deadline=$((VMM_T0 + RIG_VMM_TIMEOUT * 1000))
	while kill -0 "$VMM_PID" 2>/dev/null; do
		if [ "$(ms)" -ge "$deadline" ]; then
			fail "VMM still running after ${RIG_VMM_TIMEOUT}s (guest hung?); killed"
			kvm_diag "$VMM_PID"
			kill -9 "$VMM_PID"
			break
		fi
		usleep 100000
	done
	wait "$VMM_PID"
	VMM_RC=$?
	VMM_PID=
	t1=$(ms)
	VMM_SECS=$(awk -v a="$VMM_T0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
	tr -d '\r' <"$RIG_WORK/serial.raw" >"$RIG_WORK/serial.log"
	echo "vmm: exit status $VMM_RC after ${VMM_SECS}s, $(wc -l <"$RIG_WORK/vmm.err") stderr lines"
	head -n 5 "$RIG_WORK/vmm.err" | sed 's/^/vmm stderr: /'
	init_up=$(l2_value init uptime)
	[ -n "$init_up" ] && info "L2 reached init at ${init_up}s of its uptime"
}

# vmm_run CMD...: run a VMM to its end (vmm_start, vmm_wait).
vmm_run() {
	vmm_start "$@"
	vmm_wait
}

# vmm_kill SIGNAL: send SIGNAL (e.g. KILL) to the VMM of vmm_start, then vmm_wait.
vmm_kill() {
	if [ -n "${VMM_PID:-}" ]; then
		echo "vmm: sending SIG$1 to pid $VMM_PID"
		kill -"$1" "$VMM_PID" 2>/dev/null
	fi
	vmm_wait
}

# wait_serial REGEX [SECONDS]: wait until the guest console of the running VMM has a line
# matching the extended regexp (default limit: the VMM's own). Status 1 if the VMM exits or the
# time runs out first.
wait_serial() {
	deadline=$(($(ms) + ${2:-$RIG_VMM_TIMEOUT} * 1000))
	while :; do
		tr -d '\r' <"$RIG_WORK/serial.raw" | grep -a -q -E "$1" && return 0
		if [ -z "${VMM_PID:-}" ] || ! kill -0 "$VMM_PID" 2>/dev/null; then
			tr -d '\r' <"$RIG_WORK/serial.raw" | grep -a -q -E "$1"
			return
		fi
		[ "$(ms)" -lt "$deadline" ] || return 1
		usleep 200000
	done
}

# kvmio_start [KVMIO-FLAGS...] -- [L2 CMDLINE WORDS...]: kvmio in the background (vmm_start);
# kvmio_boot: the same, run to its end.
kvmio_start() {
	flags=
	while [ $# -gt 0 ] && [ "$1" != -- ]; do flags="$flags $1"; shift; done
	[ "${1:-}" = -- ] && shift
	if [ ! -x "$KVMIO" ]; then
		fail "kvmio is not in L1 (rig.sh --kvmio PATH)"
		VMM_RC=-1
		VMM_PID=
		: >"$RIG_WORK/serial.raw"; : >"$RIG_WORK/serial.log"; : >"$RIG_WORK/vmm.err"
		return
	fi
	# shellcheck disable=SC2086
	vmm_start "$KVMIO" run --kernel "$L2_KERNEL" --initrd "$L2_INITRD" \
		--cmdline "$(l2_cmdline "$@")" --serial stdio $flags
}
kvmio_boot() {
	kvmio_start "$@"
	vmm_wait
}

# qemu_boot CPUS MEMORY [L2 CMDLINE WORDS...]: the reference VMM (QEMU q35, KVM in L1).
qemu_boot() {
	cpus=$1 mem=$2; shift 2
	vmm_run qemu-system-x86_64 -enable-kvm -machine q35 -cpu host -smp "$cpus" -m "$mem" \
		-nographic -nodefaults -no-reboot -serial stdio \
		-kernel "$L2_KERNEL" -initrd "$L2_INITRD" -append "$(l2_cmdline "$@")"
}

# l2_value KEY [FIELD]: value of "RIG-L2 KEY=V" (or of the word FIELD=V on the last
# "RIG-L2 KEY ..." line; KEY may be several words).
l2_value() {
	if [ $# -eq 1 ]; then
		sed -n "s/^.*RIG-L2 $1=\([^ ]*\).*/\1/p" "$RIG_WORK/serial.log" | tail -n 1
	else
		sed -n "s/^.*RIG-L2 $1 \(.* \)\{0,1\}$2=\([^ ]*\).*/\2/p" "$RIG_WORK/serial.log" | tail -n 1
	fi
}

# expect_eq WHAT GOT WANT: GOT is WANT (and not empty).
expect_eq() {
	if [ -n "$2" ] && [ "$2" = "$3" ]; then ok "$1: $2"; else fail "$1: got '$2', expected '$3'"; fi
}

expect_rc() {
	if [ "$VMM_RC" = "$1" ]; then ok "VMM exit status $1"; else fail "VMM exit status $VMM_RC, expected $1"; fi
}

expect_init() {
	if grep -q 'RIG-L2 init ' "$RIG_WORK/serial.log"; then ok "L2 reached init"; else fail "L2 never reached init"; fi
}

# expect_action poweroff|reboot: L2 init got as far as asking for it.
expect_action() {
	if grep -q "RIG-L2 action=$1 " "$RIG_WORK/serial.log"; then ok "L2 ran $1 -f"; else fail "L2 never ran $1 -f"; fi
	if grep -q 'RIG-L2 error' "$RIG_WORK/serial.log"; then
		fail "L2: $(grep 'RIG-L2 error' "$RIG_WORK/serial.log" | head -n 1)"
	fi
}

# expect_cpus N: nproc and /sys/devices/system/cpu/online in L2.
expect_cpus() {
	n=$(l2_value nproc)
	online=$(l2_value cpus_online)
	want_online=0; [ "$1" -gt 1 ] && want_online="0-$(($1 - 1))"
	if [ "$n" = "$1" ] && [ "$online" = "$want_online" ]; then
		ok "L2 sees $1 CPUs (online $online)"
	else
		fail "L2 nproc=${n:-?} online=${online:-?}, expected $1 ($want_online)"
	fi
}

# expect_mem SIZE: the RAM the guest was given (System RAM in /proc/iomem, i.e. the e820 map)
# is SIZE less at most RIG_RAM_HOLE_KB (legacy 640K-1M hole, firmware reservations), so a VMM
# that rounds the size or drops a range fails; MemTotal is below it by a sane margin (kernel
# image, memmap and other boot-time reservations: ~62 MiB for 777M under QEMU q35).
expect_mem() {
	want=$(size_kb "$1")
	ram=$(l2_value ram_kb)
	got=$(l2_value memtotal_kb)
	hole=${RIG_RAM_HOLE_KB:-4096}
	slack=$((96 * 1024 + want / 32))
	if [ -z "$ram" ]; then
		fail "L2 reported no System RAM"
	elif [ "$ram" -le "$want" ] && [ "$ram" -ge $((want - hole)) ]; then
		ok "L2 System RAM ${ram} kB for --memory $1 (${want} kB; $((want - ram)) kB less)"
	else
		fail "L2 System RAM ${ram} kB, expected $((want - hole))..${want} kB for $1"
	fi
	if [ -z "$got" ]; then
		fail "L2 reported no MemTotal"
	elif [ "$got" -le "$want" ] && [ "$got" -ge $((want - slack)) ]; then
		ok "L2 MemTotal ${got} kB ($((want - got)) kB less than --memory $1)"
	else
		fail "L2 MemTotal ${got} kB, expected $((want - slack))..${want} kB for $1"
	fi
}

# expect_dmesg_clean [TOPIC-REGEX]: no L2 kernel error/warning about ACPI, (IO)APIC or the serial
# port (or about TOPIC-REGEX, an extended regexp matched against the lowercased line, e.g.
# 'pci|virtio'; the L2 script must print those lines), except lines matching
# /rig/dmesg-allow.txt (extended regexps, one per line, each with its reason). Other warnings are
# listed as info.
expect_dmesg_clean() {
	if ! grep -q 'RIG-L2 report-done' "$RIG_WORK/serial.log"; then
		fail "L2 report incomplete (no report-done line)"
		return
	fi
	sed -n 's/^.*RIG-L2 dmesg //p' "$RIG_WORK/serial.log" >"$RIG_WORK/dmesg"
	grep -v -E -f /rig/dmesg-allow.re "$RIG_WORK/dmesg" >"$RIG_WORK/dmesg.left" || true
	topic="acpi|apic|serial|ttys|8250|uart${1:+|$1}"
	what="ACPI/APIC/serial${1:+ or /$1/}"
	# Errors and warnings are levels 0-4; some are logged at lower levels with telling words.
	bad='error|warning|fail|firmware bug|invalid|bogus|broken|corrupt|mismatch|unable to|cannot|can.t|not found|timed out|conflict'
	awk -v topic="$topic" -v bad="$bad" '{ l = tolower($0) } l ~ topic && ($0 ~ /^<[0-4]>/ || l ~ bad)' \
		"$RIG_WORK/dmesg.left" >"$RIG_WORK/dmesg.bad"
	awk -v topic="$topic" '/^<[0-4]>/ && tolower($0) !~ topic' "$RIG_WORK/dmesg.left" >"$RIG_WORK/dmesg.other"
	if [ -s "$RIG_WORK/dmesg.bad" ]; then
		fail "L2 kernel log has $what errors or warnings:"
		head -n 20 "$RIG_WORK/dmesg.bad" | sed 's/^/  /'
		[ "$(wc -l <"$RIG_WORK/dmesg.bad")" -le 20 ] || echo "  ... $(wc -l <"$RIG_WORK/dmesg.bad") lines in all"
	else
		ok "L2 kernel log: no $what errors or warnings ($(wc -l <"$RIG_WORK/dmesg") lines checked)"
	fi
	if [ -s "$RIG_WORK/dmesg.other" ]; then
		info "other L2 kernel warnings ($(wc -l <"$RIG_WORK/dmesg.other") lines; first 8):"
		head -n 8 "$RIG_WORK/dmesg.other" | sed 's/^/  /'
	fi
}

# expect_stderr REGEX [COUNT] / expect_no_stderr REGEX: lines of the VMM's stderr matching an
# extended regexp (with COUNT: exactly that many).
expect_stderr() {
	n=$(grep -c -E "$1" "$RIG_WORK/vmm.err")
	if [ -n "${2:-}" ]; then
		if [ "$n" -eq "$2" ]; then ok "VMM stderr has $2 line(s) /$1/"; else fail "VMM stderr has $n lines matching /$1/, expected $2"; fi
	elif [ "$n" -gt 0 ]; then ok "VMM stderr has /$1/"; else fail "VMM stderr lacks a line matching /$1/"; fi
}
expect_no_stderr() {
	if grep -q -E "$1" "$RIG_WORK/vmm.err"; then fail "VMM stderr has /$1/: $(grep -E "$1" "$RIG_WORK/vmm.err" | head -n 1)"; else ok "VMM stderr has no /$1/"; fi
}

finish() {
	if [ "$RIG_FAILED" != 0 ] && [ -n "$VMM_RC" ]; then
		echo "--- guest serial, last $RIG_TAIL_SERIAL lines ($RIG_WORK/serial.log)"
		tail -n "$RIG_TAIL_SERIAL" "$RIG_WORK/serial.log"
		echo "--- VMM stderr, last $RIG_TAIL_STDERR lines"
		tail -n "$RIG_TAIL_STDERR" "$RIG_WORK/vmm.err"
		echo "---"
	fi
	exit "$RIG_FAILED"
}
