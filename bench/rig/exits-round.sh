# rig-timeout: 300
# One round of bench/exits: the tiny guest tests/guests/exits.c (/rig/guests/exits.bzImage)
# under kvmio and under QEMU q35 (KVM in L1), one vCPU and 64M each, with a virtio-rng whose
# queue notifications both serve in the kernel (ioeventfd). The order alternates from round to
# round within one L1 (kvmio first in odd rounds), so neither VMM always runs first. The guest
# times each kind of exit with its own TSC and prints one "EXITS key=value ..." line; this
# passes it on as "RIG-DATA exits vmm=NAME rc=RC key=value ...".
#
# RIG_PARAM_EXITS_N (10000) and RIG_PARAM_EXITS_REPS (5): the guest's exits.n and exits.reps;
# RIG_PARAM_EXITS_TRIES (2): runs of a VMM per round before it counts as failed.
# RIG_PARAM_KVMIO_ARGS: more kvmio options for a third run per round, "kvmio-alt", after kvmio's.
# RIG_PARAM_EXITS_PERF=1: one more kvmio run under perf (bench/exits --perf); see perf_run.
. /rig/ext/lib/bench.sh
RIG_VMM_TIMEOUT=120
img=/rig/guests/exits.bzImage
words="exits.n=${RIG_PARAM_EXITS_N:-10000} exits.reps=${RIG_PARAM_EXITS_REPS:-5}"
[ -f "$img" ] || { fail "no $img (make guests)"; return; }

# exits_run NAME CMD...: run the VMM to its end; report its EXITS line. A run that fails is run
# again, up to RIG_PARAM_EXITS_TRIES times in all (default 2): this guest makes some 400,000
# exits per run, and under nested TCG a guest now and then triple-faults or hangs in the middle
# of them, with either VMM (tests/rig/README.md; QEMU with -no-reboot then just exits 0, which
# the missing EXITS line gives away). Each failed try is printed; the data line says tries=N.
exits_run() {
	name=$1; shift
	try=1
	# vmm_wait fails the scenario when it kills a hung VMM; a try after it that succeeds undoes that.
	failed_before=$RIG_FAILED
	while :; do
		vmm_run "$@"
		line=$(grep -a '^EXITS ' "$RIG_WORK/serial.log" | tail -n 1)
		rc=$VMM_RC
		if [ "$rc" = 0 ] && { [ -z "$line" ] || ! grep -a -q '^UCALL DONE' "$RIG_WORK/serial.log"; }; then
			rc=1
		fi
		[ "$rc" = 0 ] && break
		echo "--- $name, try $try: VMM status $VMM_RC, $(grep -a -c '^EXITS ' "$RIG_WORK/serial.log") EXITS line(s); guest console, last 15 lines"
		tail -n 15 "$RIG_WORK/serial.log"
		echo "--- $name, try $try: stderr, last 10 lines"
		tail -n 10 "$RIG_WORK/vmm.err"
		# On the console too, so a failure a second try made good stays in the log.
		data "exits-retry vmm=$name try=$try status=$VMM_RC console_lines=$(wc -l <"$RIG_WORK/serial.log")" \
			"stderr: $(head -n 1 "$RIG_WORK/vmm.err")"
		[ "$try" -lt "${RIG_PARAM_EXITS_TRIES:-2}" ] || break
		info "$name: try $try failed (VMM status $VMM_RC); running it again"
		try=$((try + 1))
	done
	grep -a '^UCALL SYNC' "$RIG_WORK/serial.log" | sed "s/^UCALL SYNC /$name: /"
	data "exits vmm=$name rc=$rc tries=$try ${line#EXITS }"
	if [ "$rc" = 0 ]; then
		RIG_FAILED=$failed_before
		ok "$name: guest done, VMM status 0 (try $try)"
	else
		fail "$name: failed $try times, the last with VMM status $VMM_RC"
	fi
}

run_kvmio() {
	exits_run kvmio "$KVMIO" run --kernel "$img" --cpus 1 --memory 64M --rng --serial stdio \
		--cmdline "$words"
	[ -z "${RIG_PARAM_KVMIO_ARGS:-}" ] && return
	# shellcheck disable=SC2086
	exits_run kvmio-alt "$KVMIO" run --kernel "$img" --cpus 1 --memory 64M --rng --serial stdio \
		--cmdline "$words" $RIG_PARAM_KVMIO_ARGS
}

# q35 for the same devices as kvmio's: PCI config space through 0xCF8/0xCFC and ECAM (MCFG),
# a modern-only virtio-rng-pci (1af4:1044, as kvmio's). SeaBIOS boots the guest's bzImage
# through its 16-bit entry (tests/guests/header.S).
run_qemu() {
	exits_run qemu qemu-system-x86_64 -enable-kvm -machine q35 -cpu host -smp 1 -m 64M \
		-nographic -nodefaults -no-reboot -serial stdio \
		-device virtio-rng-pci,disable-legacy=on -kernel "$img" -append "$words"
}

n=$(cat /tmp/exits-rounds 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" >/tmp/exits-rounds
if [ $((n % 2)) = 1 ]; then
	run_kvmio
	run_qemu
else
	run_qemu
	run_kvmio
fi
