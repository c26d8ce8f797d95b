# Sourced by the L2 /init (rig.l2=bench-vfio; L1 side: bench/rig/vfio-round.sh), with the rig's
# NVMe (1b36:0010) assigned to the guest. L1 runs the same file for its own measurement of the
# same device under its own nvme driver ("L1 direct"): sh bench-vfio.sh with BENCH_NVME_DEV (the
# namespace block device), BENCH_PASSES and BENCH_RAND_S set, and randread in PATH.
# Times are the clock of the kernel that runs the script (/proc/uptime; randread: its own
# CLOCK_MONOTONIC). Parameters (L2 kernel command line): bench.passes, bench.rand_s.
#   - one untimed O_DIRECT read of the whole namespace (warm-up), then bench.passes more, each
#     one "dd bs=1M iflag=direct" of the whole namespace, timed together: seq_read in MiB/s;
#   - spawn_ms: the mean time of a "dd count=0 iflag=direct" on the namespace (process start,
#     open, close: what each pass costs besides its reads);
#   - randread (bench/randread.c): 4 KiB O_DIRECT reads at random offsets, queue depth 1, for
#     bench.rand_s seconds: IOPS ("bench rand");
#   - randread with 1 MiB blocks for bench.rand_s seconds: the same 1 MiB O_DIRECT reads at queue
#     depth 1 as dd's, from one process, so no process start per pass ("bench big": IOPS =
#     MiB/s; the backing file is in L0's page cache, so the order of the blocks does not matter).
# Result: "RIG-L2 bench nvme KEY=VALUE ...", "RIG-L2 bench rand ...", "RIG-L2 bench big ...",
# then "RIG-L2 bench-done".
vr() { echo "RIG-L2 $*"; }
verr() { echo "RIG-L2 error: $*"; }
cmdarg() { for a in $(cat /proc/cmdline); do case "$a" in "$1"=*) echo "${a#*=}" ;; esac; done; }
# T: uptime in seconds (no fork)
t() { read -r T _ </proc/uptime; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v mb="$1" -v a="$2" -v b="$3" 'BEGIN { if (b > a) printf "%.2f", mb / (b - a); else print "NA" }'; }

bench_vfio_main() {
	if [ -n "${BENCH_NVME_DEV:-}" ]; then # L1 direct
		where=l1 dev=$BENCH_NVME_DEV passes=${BENCH_PASSES:-96} rand_s=${BENCH_RAND_S:-10}
	else
		where=l2 dev=/dev/nvme0n1
		passes=$(cmdarg bench.passes); passes=${passes:-96}
		rand_s=$(cmdarg bench.rand_s); rand_s=${rand_s:-10}
		# kernel warnings on the console from here on (quiet hides them): an NVMe I/O timeout
		# shows up on the console, not only as a hang
		echo 5 >/proc/sys/kernel/printk
		modprobe nvme || verr "modprobe nvme failed"
		n=0
		while [ $n -lt 600 ] && ! [ -b "$dev" ]; do
			usleep 100000
			n=$((n + 1))
		done
		[ -b "$dev" ] || { verr "no $dev 60 s after modprobe nvme"; return 1; }
	fi
	name=${dev##*/}
	mb=$(($(cat "/sys/block/$name/size") * 512 >> 20))
	[ "$mb" -gt 0 ] || { verr "$dev: size $(cat "/sys/block/$name/size")"; return 1; }
	queues=$(ls -d "/sys/block/$name/mq/"* 2>/dev/null | wc -l)

	# warm-up: one whole pass, untimed
	dd if="$dev" of=/dev/null bs=1M iflag=direct 2>/tmp/dd.err || { verr "dd warm-up: $(tr '\n' ' ' </tmp/dd.err)"; return 1; }
	i=0 rc=0 lo='' hi='' all=''
	vr "bench mark seq-start" # L1 stamps these two lines with its own clock (vfio-round.sh)
	t; t0=$T
	tp=$T
	while [ $i -lt "$passes" ]; do
		dd if="$dev" of=/dev/null bs=1M iflag=direct 2>/tmp/dd.err || { rc=$?; break; }
		i=$((i + 1))
		t
		d=$(( ${T%.*}${T#*.} - ${tp%.*}${tp#*.} )) # centiseconds (uptime has 2 decimals)
		tp=$T
		[ -n "$lo" ] && [ "$lo" -le $d ] || lo=$d
		[ -n "$hi" ] && [ "$hi" -ge $d ] || hi=$d
		all="$all${all:+,}$d"
	done
	t; t1=$T
	vr "bench mark seq-end"
	[ $rc = 0 ] || verr "dd pass $i: status $rc: $(tr '\n' ' ' </tmp/dd.err)"
	# what a pass costs besides its reads: start dd, open the device, read nothing
	i=0
	t; t1b=$T
	while [ $i -lt "$passes" ]; do
		dd if="$dev" of=/dev/null bs=1M count=0 iflag=direct 2>/dev/null
		i=$((i + 1))
	done
	t; t2=$T
	vr "bench nvme where=$where dev=$name size_mb=$mb queues=$queues passes=$passes" \
		"seq_read=$(rate $((mb * passes)) "$t0" "$t1") seq_s=$(secs "$t0" "$t1")" \
		"pass_min_ms=$((lo * 10)) pass_max_ms=$((hi * 10))" \
		"spawn_ms=$(awk -v a="$t1b" -v b="$t2" -v n="$passes" 'BEGIN { printf "%.1f", (b - a) * 1000 / n }')"
	vr "bench passes cs=$all" # each pass's time in centiseconds, in order
	rr=$(randread "$dev" "$rand_s" 2>&1)
	rrc=$?
	[ $rrc = 0 ] || verr "randread: $rr"
	vr "bench rand ${rr:-none}"
	rr=$(randread "$dev" "$rand_s" 1048576 2>&1)
	rrc=$?
	[ $rrc = 0 ] || verr "randread 1M: $rr"
	vr "bench big ${rr:-none}"
	vr bench-done
}
bench_vfio_main
