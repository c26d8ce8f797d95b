# SPDX-License-Identifier: Apache-2.0
# Helpers for the benchmark scenarios (bench/rig/*.sh), sourced in L1 after tests/rig/l1/lib.sh
# (rig.sh --dir bench/rig copies this directory to /rig/ext). Results go out as
# "RIG-DATA KIND key=value ..." lines on L1's console, which rig.sh prints and bench/boot and
# bench/virtio collect.

# Parameters from the host (rig.sh passes RIG_PARAM_* through).
BENCH_CPUS=${RIG_PARAM_CPUS:-2}
BENCH_MEM=${RIG_PARAM_MEM:-512M}
# The L2 kernel as tests/rig/l1/lib.sh has it (the bzImage), and uncompressed: an ELF that
# rig.sh puts in L1 for a scenario with "# rig-needs: vmlinux". Set L2_KERNEL to either.
L2_BZIMAGE=$L2_KERNEL
L2_VMLINUX=/rig/vmlinux

# now_ms: NOW = L1 uptime in ms (10 ms resolution), without forking a process.
now_ms() {
	read -r _up _ </proc/uptime
	NOW=$(( ${_up%.*} * 1000 + 1${_up#*.} * 10 - 1000 ))
}

# data KIND WORDS...: one result line, to the scenario's log and to L1's console.
data() {
	echo "RIG-DATA $*"
	echo "RIG-DATA $*" >/dev/console
}

# stamp: copy stdin to stdout, each line prefixed with the L1 uptime (ms) when it was read.
# Reads block on the VMM's pipe: no polling, so L1 CPU time goes to the VMM.
stamp() {
	while IFS= read -r _line || [ -n "$_line" ]; do
		now_ms
		printf '%s %s\n' "$NOW" "$_line"
		_line=
	done
}

# timed_boot NAME CMD...: run a VMM (stdin /dev/null) with its stdout through stamp, at most
# RIG_VMM_TIMEOUT seconds. Measures in L1, from just before the fork: the first guest console
# line "RIG-L2 init" (init_ms) and the VMM's exit (exit_ms); the guest's own uptime at init
# (guest_init_s). Prints "RIG-DATA boot vmm=NAME ...". Files: $RIG_WORK/NAME.serial (stamped),
# NAME.err. Status 0 if the guest reached init and the VMM exited with status 0.
timed_boot() {
	name=$1; shift
	fifo=$RIG_WORK/stamp.fifo
	rm -f "$RIG_WORK/$name.diag"
	rm -f "$fifo"
	mkfifo "$fifo"
	stamp <"$fifo" | tr -d '\r' >"$RIG_WORK/$name.serial" &
	spid=$!
	echo "run: $*"
	now_ms; t0=$NOW
	"$@" </dev/null >"$fifo" 2>"$RIG_WORK/$name.err" &
	vpid=$!
	# Past the limit: what the hung VM was doing (lib.sh kvm_diag), then SIGKILL.
	( sleep "$RIG_VMM_TIMEOUT"; kvm_diag "$vpid" >"$RIG_WORK/$name.diag" 2>&1; kill -9 "$vpid" ) >/dev/null 2>&1 &
	wpid=$!
	wait "$vpid"
	rc=$?
	now_ms; t1=$NOW
	kill "$wpid" 2>/dev/null
	wait "$spid"
	[ "$rc" = 137 ] || rm -f "$RIG_WORK/$name.diag"
	init_t=$(sed -n 's/^\([0-9]*\) .*RIG-L2 init uptime=.*/\1/p' "$RIG_WORK/$name.serial" | head -n 1)
	guest=$(sed -n 's/^.*RIG-L2 init uptime=\([0-9.]*\).*/\1/p' "$RIG_WORK/$name.serial" | head -n 1)
	if [ -n "$init_t" ]; then init_ms=$((init_t - t0)); else init_ms=NA; fi
	data "boot vmm=$name rc=$rc init_ms=$init_ms exit_ms=$((t1 - t0)) guest_init_s=${guest:-NA}"
	# RIG_PARAM_SHOW_CONSOLE=1 (bench/boot: BENCH_SHOW_CONSOLE=1): the stamped console in the
	# scenario's output (shown with RIG_VERBOSE=1), e.g. with RIG_L2_APPEND=loglevel=7.
	[ "${RIG_PARAM_SHOW_CONSOLE:-0}" = 1 ] && awk -v t0="$t0" -v n="$name" \
		'{ i = index($0, " "); printf "%s console: +%dms %s\n", n, substr($0, 1, i - 1) - t0, substr($0, i + 1) }' \
		"$RIG_WORK/$name.serial"
	if [ "$rc" != 0 ] || [ -z "$init_t" ]; then
		if [ -n "$init_t" ]; then fail "$name: VMM status $rc"; else fail "$name: VMM status $rc, guest init not reached"; fi
		echo "--- $name: guest console (L1 ms, line), last 20 lines"
		tail -n 20 "$RIG_WORK/$name.serial"
		echo "--- $name: stderr, last 10 lines"
		tail -n 10 "$RIG_WORK/$name.err"
		[ -s "$RIG_WORK/$name.diag" ] && { echo "--- $name: killed after ${RIG_VMM_TIMEOUT}s"; cat "$RIG_WORK/$name.diag"; }
		rm -f "$RIG_WORK/$name.diag"
		return 1
	fi
	ok "$name: init after ${init_ms} ms, exit after $((t1 - t0)) ms (L1), guest uptime at init ${guest}s"
}

# The VMM command lines, same kernel, initramfs, vCPUs and memory: qemu_cmd MACHINE [QEMU ARGS]
# -- [L2 WORDS]; kvmio_cmd [KVMIO ARGS] -- [L2 WORDS]. They set CMD (words: no spaces in the
# paths and arguments used here), and APPEND_OPT and APPEND (the kernel command line, one
# word): run as  $CMD $APPEND_OPT "$APPEND".
qemu_cmd() {
	machine=$1; shift
	extra=
	while [ $# -gt 0 ] && [ "$1" != -- ]; do extra="$extra $1"; shift; done
	[ "${1:-}" = -- ] && shift
	APPEND_OPT=-append APPEND=$(l2_cmdline "$@")
	CMD="qemu-system-x86_64 -enable-kvm -machine $machine -cpu host -smp $BENCH_CPUS -m $BENCH_MEM
		-nographic -nodefaults -no-reboot -serial stdio -kernel $L2_KERNEL -initrd $L2_INITRD$extra"
}
kvmio_cmd() {
	extra=
	while [ $# -gt 0 ] && [ "$1" != -- ]; do extra="$extra $1"; shift; done
	[ "${1:-}" = -- ] && shift
	APPEND_OPT=--cmdline APPEND=$(l2_cmdline "$@")
	CMD="$KVMIO run --kernel $L2_KERNEL --initrd $L2_INITRD --serial stdio
		--cpus $BENCH_CPUS --memory $BENCH_MEM$extra"
}
