# rig-timeout: 1200
# bench/exits --perf: where one kind of exit spends its time in L1, kvmio and QEMU alike. For
# each kind in RIG_PARAM_EXITS_PERF_KINDS (default: the five that reach a VMM or its ioeventfd),
# each VMM runs the exits guest on that kind alone (exits.only=KIND, endless) while
# "perf record -e cpu-clock -g -p PID" samples all of the VMM's threads, in L1's kernel (KVM)
# and in user space, for RIG_PARAM_EXITS_PERF_S seconds (default 10); then the VMM is killed
# and perf report prints the threads' shares and the top symbols, each line as
# "RIG-DATA perf VMM KIND| LINE". Before that, over a window as long without perf: each
# thread's CPU time and context switches, KVM's exit rate (debugfs) and L1's idle share. cpu-clock: under TCG, L1 has no hardware PMU. perf comes from
# bench/exits, which adds it (and its libraries) to L1 (RIG_L1_EXTRA).
. /rig/ext/lib/bench.sh
RIG_VMM_TIMEOUT=200
img=/rig/guests/exits.bzImage
kinds=${RIG_PARAM_EXITS_PERF_KINDS:-pio mmio cf8 ecam notify}
secs=${RIG_PARAM_EXITS_PERF_S:-10}
w=$RIG_WORK
[ -f "$img" ] || { fail "no $img (make guests)"; return; }
command -v perf >/dev/null || { fail "no perf in L1 (bench/exits --perf adds it)"; return; }
echo 0 >/proc/sys/kernel/kptr_restrict
echo -1 >/proc/sys/kernel/perf_event_paranoid

# out VMM KIND: stdin's lines as data lines.
out() { while IFS= read -r l; do data "perf $1 $2| $l"; done; }

# report VMM KIND LINES PERF-REPORT-ARGS...: perf report's lines (no comments), as data lines.
report() {
	v=$1 k=$2 lines=$3; shift 3
	perf report -i "$w/perf.data" --stdio "$@" 2>/dev/null | grep -v '^#' | grep . | head -n "$lines" | out "$v" "$k"
}

# snap PID: per thread "TID COMM UTIME STIME GUEST VCSW NVCSW CPU" (ticks; stat fields 14,
# 15, 43, 39; status's context switches), then "kvm EXITS IO_EXITS MMIO_EXITS PAGES_4K
# PAGES_2M" (debugfs) and "cpu IDLE TOTAL" (L1's /proc/stat).
snap() {
	for t in /proc/"$1"/task/*; do
		read -r line <"$t/stat" 2>/dev/null || continue
		# shellcheck disable=SC2086
		set -- ${line##*) }
		echo "${t##*/} $(tr ' ' _ <"$t/comm") ${12} ${13} ${41} $(awk '/^voluntary_ctxt_switches:/ { v = $2 }
			/^nonvoluntary_ctxt_switches:/ { n = $2 } END { print v + 0, n + 0 }' "$t/status") ${37}"
	done
	d=$(ls -d /sys/kernel/debug/kvm/"$VMM_PID"-* 2>/dev/null | head -n 1)
	[ -n "$d" ] && echo "kvm $(cat "$d/exits") $(cat "$d/io_exits") $(cat "$d/mmio_exits") $(cat "$d/pages_4k") $(cat "$d/pages_2m")"
	awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print "cpu", $5, t }' /proc/stat
}

# deltas SNAP1 SNAP2 SECS: per thread CPU (ticks of 10 ms: user without guest, kernel, guest)
# and context switches over the window; KVM's exits per second; L1's idle share.
deltas() {
	awk -v secs="$3" 'FNR == NR { a[$1] = $0; next }
		$1 == "kvm" { split(a["kvm"], o); printf "exits/s %d (to user space: io %d, mmio %d); guest RAM in L1 nested pages: %d of 4 KiB, %d of 2 MiB\n", ($2 - o[2]) / secs, ($3 - o[3]) / secs, ($4 - o[4]) / secs, $5, $6; next }
		$1 == "cpu" { split(a["cpu"], o); printf "L1 idle %.0f%% of both CPUs\n", 100 * ($2 - o[2]) / ($3 - o[3]); next }
		($1 in a) { split(a[$1], o); printf "thread %s: user %d kernel %d guest %d ticks, switches %d voluntary %d forced, last on CPU %s\n", $2, ($3 - $5) - (o[3] - o[5]), $4 - o[4], $5 - o[5], $6 - o[6], $7 - o[7], $8 }' "$1" "$2"
}

# L1's clock: with an unstable TSC, KVM moves the guest's TSC offset at every vcpu_load (each
# KVM_RUN) and updates kvmclock: part of every exit's cost, for both VMMs alike.
cs=/sys/devices/system/clocksource/clocksource0
data "perf L1| clocksource $(cat $cs/current_clocksource) (available: $(cat $cs/available_clocksource))"

for kind in $kinds; do
	words="exits.only=$kind exits.n=100000000 exits.reps=1"
	for vmm in kvmio qemu; do
		if [ "$vmm" = kvmio ]; then
			vmm_start "$KVMIO" run --kernel "$img" --cpus 1 --memory 64M --rng --serial stdio \
				--cmdline "$words"
		else
			vmm_start qemu-system-x86_64 -enable-kvm -machine q35 -cpu host -smp 1 -m 64M \
				-nographic -nodefaults -no-reboot -serial stdio -name exits,debug-threads=on \
				-device virtio-rng-pci,disable-legacy=on -kernel "$img" -append "$words"
		fi
		if ! wait_serial '^UCALL SYNC n=' 90; then
			fail "$vmm $kind: the guest did not start timing"
			vmm_kill KILL
			tail -n 5 "$w/serial.log" "$w/vmm.err"
			continue
		fi
		sleep 2
		# Without perf first (what the numbers are), then under it.
		snap "$VMM_PID" >"$w/snap.1"
		sleep "$secs"
		snap "$VMM_PID" >"$w/snap.2"
		deltas "$w/snap.1" "$w/snap.2" "$secs" | out "$vmm" "$kind"
		rm -f "$w/perf.data"
		perf record -e cpu-clock -F 1000 -g -p "$VMM_PID" -o "$w/perf.data" -- sleep "$secs" \
			>"$w/perf.out" 2>&1 || { fail "$vmm $kind: perf record failed"; cat "$w/perf.out"; }
		vmm_kill KILL
		data "perf $vmm $kind| threads, where:"
		report "$vmm" "$kind" 20 --no-children -g none --sort comm,dso --percent-limit 0.5
		data "perf $vmm $kind| self:"
		report "$vmm" "$kind" 25 --no-children -g none --sort comm,dso,sym --percent-limit 0.7
		data "perf $vmm $kind| with callees:"
		report "$vmm" "$kind" 40 --children -g none --sort sym --percent-limit 3
	done
done
ok "profiles taken"
