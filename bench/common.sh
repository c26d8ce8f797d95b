# SPDX-License-Identifier: Apache-2.0
# Host side of the benchmarks (bench/boot, bench/virtio): run rounds in one rig L1 boot,
# collect the "RIG-DATA" lines, print medians and ratios. Sourced.
bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$bench/.." && pwd)
out=$repo/build/bench
kvmio=${KVMIO:-$repo/build/kvmio}

die() { echo "bench: error: $*" >&2; exit 2; }

[ -x "$kvmio" ] || die "no kvmio at $kvmio (make build/kvmio, or KVMIO=PATH)"
mkdir -p "$out"

# The rig uses both host cores: numbers taken while another rig's L1 runs are worthless.
# Wait for it (BENCH_NOWAIT=1: don't).
wait_idle() {
	local said=0
	[ "${BENCH_NOWAIT:-0}" = 1 ] && return
	while pgrep -f 'qemu-system-x86_64 -accel tcg' >/dev/null; do
		[ $said = 1 ] || echo "bench: another rig's L1 QEMU is running; waiting for it (BENCH_NOWAIT=1 to skip)"
		said=1
		sleep 30
	done
}

# run_rig LOG SCENARIO...: one rig run with bench/rig's scenarios (or BENCH_RIG_DIR's: a copy of
# bench/rig with files added, such as L1 tools); its output to the terminal and LOG; the
# RIG-DATA lines in LOG.data. Status: rig.sh's.
run_rig() {
	local log=$1 rc; shift
	wait_idle
	echo "bench: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), host $(uname -n), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$log"
	RIG_TIMEOUT=${RIG_TIMEOUT:-} "$repo/tests/rig/rig.sh" --kvmio "$kvmio" --dir "${BENCH_RIG_DIR:-$bench/rig}" "$@" 2>&1 | tee -a "$log"
	rc=${PIPESTATUS[0]}
	# (RIG_VERBOSE=1: the data lines come as "L1| RIG-DATA ...".) A scenario's data counts once it has its result line ("PASS|FAIL NAME (SECS)..."). When L1
	# crashed or wedged, rig.sh runs the scenario again in a new L1: the data it printed
	# before the crash is dropped.
	awk '/^(L1\| )?RIG-DATA / { sub(/^L1\| /, ""); buf = buf $0 "\n"; next }
		/^(PASS|FAIL) [^ ]+ \([0-9.]+s\)/ { round++; gsub(/ *\n/, " round=" round "\n", buf); printf "%s", buf; buf = ""; next }
		/^rig: .* during [^ ]+;/ { if (buf != "") dropped++; buf = ""; next }
		END { if (buf != "") dropped++; if (dropped) printf "bench: dropped the data of %d scenario run(s) cut short by an L1 failure\n", dropped > "/dev/stderr" }' \
		"$log" >"$log.data"
	return "$rc"
}

# summarize DATAFILE KIND "METRIC:LABEL:UNIT ..." "VMM ..." "BASE ...":
# a table of medians (min..max) per VMM and metric, then the ratio of
# the first VMM's median to each BASE's ("ratio kvmio/q35 ..."); a BASE written A/B gives the
# ratio of VMM A's median to VMM B's ("ratio kvmio-vmlinux/microvm-vmlinux"); each ratio with
# its lowest and highest value within one round (run_rig numbers the rounds). A run whose VMM exited with a
# status other than 0 is left out (counted under "failed"), a missing value (NA) out of its
# metric.
summarize() {
	awk -v kind="$2" -v metrics="$3" -v vmms="$4" -v bases="$5" '
	function median(a, n,    i, j, t) {
		for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function fmt(x) { return x >= 100 ? sprintf("%.0f", x) : x >= 10 ? sprintf("%.1f", x) : sprintf("%.2f", x) }
	$2 == kind {
		for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		vmm = v["vmm"]; runs[vmm]++; r = v["round"]; if (r + 0 > nr) nr = r + 0
		if (v["rc"] != "0") { failed[vmm]++; delete v; next }
		for (m in v) if (v[m] ~ /^[0-9.]+$/) { c = ++cnt[vmm, m]; val[vmm, m, c] = v[m] + 0; inr[vmm, m, r] = v[m] + 0 }
		delete v
	}
	END {
		nm = split(metrics, M, " "); nv = split(vmms, V, " "); nb = split(bases, B, " ")
		w = 8
		for (k = 1; k <= nv; k++) if (length(V[k]) > w) w = length(V[k])
		printf "%-*s %4s %6s", w, "vmm", "runs", "failed"
		for (i = 1; i <= nm; i++) { split(M[i], f, ":"); printf "  %-24s", f[2] " (" f[3] ")" }
		printf "\n"
		for (k = 1; k <= nv; k++) {
			printf "%-*s %4d %6d", w, V[k], runs[V[k]], failed[V[k]]
			for (i = 1; i <= nm; i++) {
				split(M[i], f, ":"); n = cnt[V[k], f[1]]
				if (!n) { printf "  %-24s", "-"; continue }
				delete a; lo = hi = val[V[k], f[1], 1]
				for (j = 1; j <= n; j++) { a[j] = val[V[k], f[1], j]; if (a[j] < lo) lo = a[j]; if (a[j] > hi) hi = a[j] }
				med[V[k], f[1]] = median(a, n)
				printf "  %-24s", fmt(med[V[k], f[1]]) " (" fmt(lo) ".." fmt(hi) ")"
			}
			printf "\n"
		}
		printf "(median (min..max) per column)\n"
		for (b = 1; b <= nb; b++) {
			if (index(B[b], "/")) split(B[b], pr, "/"); else { pr[1] = V[1]; pr[2] = B[b] }
			printf "ratio %s/%s:", pr[1], pr[2]
			for (i = 1; i <= nm; i++) {
				split(M[i], f, ":")
				x = med[pr[1], f[1]]; y = med[pr[2], f[1]]
				if (x == "" || y == "" || y == 0) r = "-"; else r = sprintf("%.2f", x / y)
				printf "  %s %s", f[2], r
				# The same ratio within each round (both ran, in one L1 boot, minutes apart):
				# its range shows how much of a difference is noise between rounds.
				np = 0
				for (k = 1; k <= nr; k++)
					if ((pr[1], f[1], k) in inr && (pr[2], f[1], k) in inr && inr[pr[2], f[1], k] > 0) {
						x = inr[pr[1], f[1], k] / inr[pr[2], f[1], k]
						if (!np++ || x < lo) lo = x
						if (np == 1 || x > hi) hi = x
					}
				if (np > 1) printf " (rounds %.2f..%.2f)", lo, hi
			}
			printf "\n"
		}
		if (nb) printf "(ratio of the medians; in brackets the lowest and highest ratio within one round)\n"
	}' "$1"
}
