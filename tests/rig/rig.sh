#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The rig (docs: /work/shared/docs/rig.md, tests/rig/README.md): boots L1 Linux in QEMU TCG with
# real KVM (kvm_amd on emulated SVM), runs scenarios there that boot an L2 Linux under kvmio or
# QEMU, prints one line per scenario and then "rig: N passed, N failed".
#
# usage: tests/rig/rig.sh [--kvmio PATH] [--dir DIR] [SCENARIO...]
#                                            (default: every scenarios/*.sh, or DIR/*.sh)
#
# --dir DIR (or RIG_SCENARIO_DIR=DIR): scenarios are DIR/NAME.sh instead of tests/rig/scenarios/
# (bench/rig/ for the benchmarks). DIR is also copied whole to /rig/ext/ in L1 (helpers a
# scenario sources), and DIR/l2/*.sh go to /rig/l2/ in L2 (rig.l2=NAME): an extra cpio archive
# appended to the cached L2 initramfs (the kernel unpacks concatenated archives in order).
# In this mode a scenario's "RIG-DATA ..." lines on L1's /dev/console are printed as they come.
#
# Environment (all optional):
#   RIG_KVER            kernel version for L1 and L2 (default: newest /boot/vmlinuz-*)
#   RIG_CACHE           image cache (default: ${XDG_CACHE_HOME:-$HOME/.cache}/kvmio-rig)
#   RIG_SCEN_TIMEOUT    seconds per scenario in L1 (default 150; a scenario may say "# rig-timeout: N")
#   RIG_VMM_TIMEOUT     seconds per VMM run inside a scenario (default 120)
#   RIG_TIMEOUT         seconds for one L1 run (default: 120 + sum of scenario limits)
#   RIG_L1_RETRIES      new L1 boots for scenarios left without a result when L1 crashed or
#                       wedged (default 1)
#   RIG_L2_APPEND       extra L2 kernel command-line words (e.g. "loglevel=7" after dropping quiet)
#   RIG_VERBOSE=1       show the whole L1 console and every scenario's output
#   RIG_L1_SMP          L1 vCPUs (default 2; see l1_smp below)
#   RIG_L1_APPEND       extra L1 kernel command-line words (e.g. loglevel=5 to see L1 warnings)
#   RIG_L1_QEMU_ARGS    extra arguments for the L1 QEMU (e.g. "-monitor unix:/tmp/m,server,nowait")
#   RIG_L2_EXTRA        a directory whose tree is added to the L2 root (e.g. bin/TOOL), in the
#                       same appended archive as DIR/l2/*.sh
#   RIG_L1_EXTRA        a directory whose tree is added to the L1 root, in the per-run overlay
#                       (tools a scenario needs that the base image lacks: tmux, its libraries)
#   RIG_PARAM_*         passed on to the scenarios in L1 (exported, same names and values)
#   RIG_GUESTS          where the tiny test guests some scenarios boot are (default build/guests;
#                       make guests builds them); every *.bzImage there goes to /rig/guests/ in L1
#
# A scenario with a line "# rig-needs: vmlinux" gets /rig/vmlinux in L1: the L2 kernel without
# its XZ compression (tests/rig/mkimg.sh vmlinux), an ELF for kvmio's and QEMU's vmlinux boot.
set -uo pipefail
# modprobe (kmod) is in /usr/sbin, which a user's PATH on Debian lacks.
export PATH=$PATH:/usr/sbin:/sbin

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${RIG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvmio-rig}
scen_timeout=${RIG_SCEN_TIMEOUT:-150}
vmm_timeout=${RIG_VMM_TIMEOUT:-120}
verbose=${RIG_VERBOSE:-0}
# L1 CPUs. With 1, an L2 with several vCPUs sometimes wedges L1 for good under QEMU 7.2 TCG
# (L1 vCPU spinning in L2 with L1's timer interrupt pending but never taken; seen in ~1 of 4
# runs on a loaded host); with 2 the other L1 CPU keeps the L2 vCPUs going.
l1_smp=${RIG_L1_SMP:-2}

die() { echo "rig: error: $*" >&2; exit 2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

kvmio=
scenarios=()
scen_dir=${RIG_SCENARIO_DIR:-}
while [ $# -gt 0 ]; do
	case "$1" in
	--kvmio) kvmio=${2:?--kvmio PATH}; shift 2 ;;
	--kvmio=*) kvmio=${1#--kvmio=}; shift ;;
	--dir) scen_dir=${2:?--dir DIR}; shift 2 ;;
	--dir=*) scen_dir=${1#--dir=}; shift ;;
	-h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option $1" ;;
	*) scenarios+=("${1%.sh}"); shift ;;
	esac
done
if [ -z "$kvmio" ] && [ -x "$repo/build/kvmio" ]; then kvmio=$repo/build/kvmio; fi
[ -z "$kvmio" ] || [ -x "$kvmio" ] || die "kvmio binary $kvmio not found"
# Scenarios: tests/rig/scenarios/, or --dir DIR (ext=1: DIR's helpers and L2 scripts go along).
if [ -n "$scen_dir" ]; then
	[ -d "$scen_dir" ] || die "no scenario directory $scen_dir"
	scen_dir=$(cd "$scen_dir" && pwd)
	scen_label=$scen_dir ext=1
else
	scen_dir=$here/scenarios scen_label=tests/rig/scenarios ext=0
fi
l2_extra=${RIG_L2_EXTRA:-}
[ -z "$l2_extra" ] || [ -d "$l2_extra" ] || die "RIG_L2_EXTRA: no directory $l2_extra"
l1_extra=${RIG_L1_EXTRA:-}
[ -z "$l1_extra" ] || [ -d "$l1_extra" ] || die "RIG_L1_EXTRA: no directory $l1_extra"
if [ ${#scenarios[@]} -eq 0 ]; then
	for f in "$scen_dir"/*.sh; do scenarios+=("$(basename "$f" .sh)"); done
fi
for s in "${scenarios[@]}"; do
	[ -f "$scen_dir/$s.sh" ] || die "no scenario $s ($scen_label/$s.sh)"
done

for tool in qemu-system-x86_64 modprobe cpio sha256sum timeout ldd; do
	command -v "$tool" >/dev/null || die "$tool not found (packages: qemu-system-x86 linux-image-amd64 busybox-static kmod cpio)"
done
[ -x /bin/busybox ] || die "/bin/busybox not found (apt-get install busybox-static)"
if [ -z "${RIG_KVER:-}" ]; then
	RIG_KVER=$(ls /boot/vmlinuz-* 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V | tail -n 1)
fi
kver=$RIG_KVER
{ [ -n "$kver" ] && [ -r "/boot/vmlinuz-$kver" ]; } || die "no readable /boot/vmlinuz-* (apt-get install linux-image-amd64)"
[ -d "/lib/modules/$kver" ] || die "no /lib/modules/$kver"

t_start=$(now)
mkdir -p "$cache" || die "cannot create $cache"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmio-rig.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT

# --- cached images, keyed by a hash of everything that goes into them ----------------------
pkgver() { dpkg-query -W -f '${Package}=${Version}\n' "$@" 2>/dev/null; }
qemu_bin=$(readlink -f "$(command -v qemu-system-x86_64)")
key_common() {
	echo "kver=$kver"
	pkgver "linux-image-$kver" busybox-static kmod
	sha256sum "$here/mkimg.sh" "/boot/vmlinuz-$kver" /bin/busybox | cut -d' ' -f1
}
base_key=$( {
	key_common
	pkgver qemu-system-x86 qemu-system-data seabios nvme-cli
	# nvme-cli (vfio-sriov's virt-mgmt and attach-ns), when installed, goes into the base image.
	if command -v nvme >/dev/null; then
		ldd "$(command -v nvme)" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort |
			xargs sha256sum "$(command -v nvme)" | cut -d' ' -f1
	fi
	ldd "$qemu_bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort |
		xargs sha256sum "$qemu_bin" | cut -d' ' -f1
} | sha256sum | cut -c1-16)
l2_key=$( {
	key_common
	(cd "$here/l2" && find . -type f | LC_ALL=C sort | xargs sha256sum)
} | sha256sum | cut -c1-16)

build_image() { # KIND KEY -> prints the path
	local kind=$1 out="$cache/$1-$2.cpio" t
	if [ ! -s "$out" ]; then
		t=$(now)
		"$here/mkimg.sh" "$kind" "$kver" "$out" >&2 || die "building the $kind image failed"
		echo "rig: built $kind image $(basename "$out") ($(du -m "$out" | cut -f1) MiB) in $(since "$t")s" >&2
		# Keep the two newest images of each kind.
		ls -t "$cache/$kind"-*.cpio 2>/dev/null | tail -n +3 | xargs -r rm -f
	fi
	echo "$out"
}
base=$(build_image base "$base_key") || exit 2
l2img=$(build_image l2 "$l2_key") || exit 2
# /rig/vmlinux, the L2 kernel uncompressed (66 MiB for Debian's 6.1), goes into L1 only for
# the scenarios that say "# rig-needs: vmlinux": every other run would unpack it under TCG
# for nothing. Its own archive, cached like the others, appended after the base one.
vmlinux_img=
for s in "${scenarios[@]}"; do
	grep -q '^# rig-needs:.*\<vmlinux\>' "$scen_dir/$s.sh" || continue
	vmlinux_key=$( {
		echo "kver=$kver"
		sha256sum "$here/mkimg.sh" "/boot/vmlinuz-$kver" | cut -d' ' -f1
		xz --version 2>/dev/null | head -n 1
	} | sha256sum | cut -c1-16)
	vmlinux_img=$(build_image vmlinux "$vmlinux_key") || exit 2
	break
done

# --- per-run overlay: L1 init, scenarios, L2 image, kvmio (appended to the base cpio) -------
ov=$tmp/ov
mkdir -p "$ov/rig/scenarios" "$ov/rig/bin"
install -m 0755 "$here/l1/init" "$ov/init"
cp "$here/l1/lib.sh" "$ov/rig/lib.sh"
sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/dmesg-allow.txt" >"$ov/rig/dmesg-allow.re"
# Every scenario file, so that one may source another (iommu-virtio.sh does); the list says
# which run.
cp "$scen_dir"/*.sh "$ov/rig/scenarios/"
# Tiny guests (tests/guests/guests.mk) at /rig/guests/NAME.bzImage; a scenario that needs a
# missing one says so.
mkdir -p "$ov/rig/guests"
for g in "${RIG_GUESTS:-$repo/build/guests}"/*.bzImage; do
	[ -f "$g" ] && cp "$g" "$ov/rig/guests/"
done
[ -z "$l1_extra" ] || cp -r "$l1_extra/." "$ov/"
# What make built for L2 (tests/rig/rig.mk: bin/vfio-user), added to its root when there.
l2_built=$repo/build/rig/l2
if [ "$ext" = 1 ] || [ -n "$l2_extra" ] || [ -d "$l2_built" ]; then
	# The cached L2 image, then an archive of DIR/l2/*.sh (at /rig/l2/), what make built for L2
	# and RIG_L2_EXTRA's tree.
	l2x=$tmp/l2x
	mkdir -p "$l2x/rig/l2"
	if [ "$ext" = 1 ]; then
		cp -r "$scen_dir" "$ov/rig/ext"
		for f in "$scen_dir"/l2/*.sh; do [ -f "$f" ] && cp "$f" "$l2x/rig/l2/"; done
	fi
	[ -d "$l2_built" ] && cp -r "$l2_built/." "$l2x/"
	[ -z "$l2_extra" ] || cp -r "$l2_extra/." "$l2x/"
	(cd "$l2x" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$tmp/l2x.cpio" ||
		die "packing the extra L2 archive failed"
	cat "$l2img" "$tmp/l2x.cpio" >"$ov/rig/l2.cpio"
else
	cp "$l2img" "$ov/rig/l2.cpio"
fi
if [ -n "$kvmio" ]; then
	cp "$kvmio" "$ov/rig/bin/kvmio"
	"$here/mkimg.sh" libs "$ov" "$kvmio" || die "copying kvmio's libraries failed"
fi
cat >"$ov/rig/config" <<CFG
RIG_SCEN_TIMEOUT=$scen_timeout
RIG_VMM_TIMEOUT=$vmm_timeout
RIG_L2_APPEND='${RIG_L2_APPEND:-}'
RIG_VERBOSE=$verbose
RIG_FAIL_LINES=100
RIG_TAIL_SERIAL=30
RIG_TAIL_STDERR=15
export RIG_SCEN_TIMEOUT RIG_VMM_TIMEOUT RIG_L2_APPEND RIG_VERBOSE RIG_TAIL_SERIAL RIG_TAIL_STDERR
CFG
for v in $(compgen -v RIG_PARAM_); do
	printf "%s=%q\nexport %s\n" "$v" "${!v}" "$v" >>"$ov/rig/config"
done
truncate -s 64M "$tmp/nvme.img"
# The SR-IOV NVMe's two namespaces (vfio-sriov), sparse, one per virtual function.
truncate -s 4M "$tmp/sriov-ns1.img" "$tmp/sriov-ns2.img"

limit_of() { # SCENARIO -> its time limit in L1, seconds
	local t
	t=$(sed -n 's/^# rig-timeout: *\([0-9][0-9]*\).*/\1/p' "$scen_dir/$1.sh" | head -n 1)
	echo "${t:-$scen_timeout}"
}

# Logs of each run in $cache/runs/STAMP-PID (the newest five kept), $cache/last-run -> newest.
logdir=$cache/runs/$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$logdir"
[ -L "$cache/last-run" ] || rm -rf "$cache/last-run"
ln -sfn "runs/$(basename "$logdir")" "$cache/last-run.tmp$$" && mv -T "$cache/last-run.tmp$$" "$cache/last-run"
ls -d "$cache"/runs/*/ 2>/dev/null | sort | head -n -5 | xargs -r rm -rf
echo "rig: kernel $kver, kvmio ${kvmio:-(none)}, ${#scenarios[@]} scenario(s); logs: $logdir"
[ "$ext" = 1 ] && echo "rig: scenarios from $scen_dir"

results=$tmp/results  # "PASS|FAIL NAME" per finished scenario, in order, over all L1 runs
: >"$results"

# filter: parse the L1 console; print scenario lines. Host-side watchdog: L1 prints at least a
# heartbeat every 10 s while a scenario runs, so once L1 is at init, 60 s without a RIG- line (or
# a scenario's limit plus 60 s without its result, or a soft lockup) means L1 is wedged: returns 3.
filter() {
	local line='' part='' rc now_s booted=0 deadline=$(( $(date +%s) + 180 )) silence
	silence=$deadline
	while :; do
		IFS= read -r -t 5 part
		rc=$?
		if [ $rc -gt 128 ]; then # timeout: keep a partial line, check the watchdog
			line+=$part
			if [ "$(date +%s)" -gt "$deadline" ] || [ "$(date +%s)" -gt "$silence" ]; then
				echo "rig: L1 silent past its deadline: wedged" >>"$console"
				return 3
			fi
			continue
		fi
		line+=$part
		[ $rc -ne 0 ] && [ -z "$line" ] && return 0 # EOF
		line=${line%$'\r'}
		printf '%s\n' "$line" >>"$console"
		now_s=$(date +%s)
		# Only L1's own lines (its heartbeat every 10 s) count as life: a wedged L1 kernel
		# can go on printing RCU stall reports for minutes.
		[ "$booted" = 1 ] && [[ $line == *RIG-* ]] && silence=$((now_s + 60))
		[ "$verbose" = 1 ] && printf 'L1| %s\n' "$line"
		if [[ $line =~ RIG-RESULT\ (PASS|FAIL)\ ([^ ]+)\ ([0-9.]+)(\ (.*))?$ ]]; then
			local st=${BASH_REMATCH[1]} name=${BASH_REMATCH[2]} secs=${BASH_REMATCH[3]} why=${BASH_REMATCH[5]}
			echo "$st $name" >>"$results"
			if [ "$st" = PASS ]; then echo "PASS $name (${secs}s)"; else echo "FAIL $name (${secs}s): $why"; fi
			deadline=$(( $(date +%s) + 60 ))
		elif [[ $line =~ RIG-OUT\ [^\ ]+\ \|\ ?(.*)$ ]]; then
			[ "$verbose" = 1 ] || printf '  | %s\n' "${BASH_REMATCH[1]}"
		elif [[ $line =~ RIG-L1\ start\ ([^ ]+)\ ([0-9]+) ]]; then
			deadline=$(( $(date +%s) + BASH_REMATCH[2] + 60 ))
		elif [[ $line =~ RIG-L1\ init\ uptime=([0-9.]+) ]]; then
			[ "$verbose" = 1 ] || echo "rig: L1 at init after ${BASH_REMATCH[1]}s of its uptime"
			deadline=$(( $(date +%s) + 120 ))
			booted=1
		elif [ "$ext" = 1 ] && [[ $line =~ RIG-DATA\  ]]; then
			[ "$verbose" = 1 ] || printf '%s\n' "${line#"${line%%RIG-DATA *}"}"
		elif [[ $line =~ RIG-L1\ error ]]; then
			[ "$verbose" = 1 ] || echo "$line"
		elif [[ $line =~ soft\ lockup ]]; then
			# An L1 CPU stuck in KVM_RUN under nested TCG stays stuck (README), and its
			# process cannot be killed: waiting for the scenario's limit only loses time.
			[ "$verbose" = 1 ] || echo "L1| $line"
			echo "rig: an L1 CPU is in a soft lockup: wedged" >>"$console"
			return 3
		elif [[ $line =~ Kernel\ panic|BUG:|rcu.*stall ]]; then
			[ "$verbose" = 1 ] || echo "L1| $line"
		fi
		line=
		[ $rc -ne 0 ] && return 0
	done
}

# run_l1 SCENARIO...: one L1 boot running the given scenarios. Sets l1_rc (QEMU's exit status,
# or "wedged").
run_l1() {
	local s total=120 t_l1
	for s in "$@"; do total=$((total + $(limit_of "$s"))); done
	total=${RIG_TIMEOUT:-$total}
	printf '%s\n' "$@" >"$ov/rig/scenarios.list"
	(cd "$ov" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$tmp/ov.cpio" ||
		die "packing the overlay failed"
	cat "$base" ${vmlinux_img:+"$vmlinux_img"} "$tmp/ov.cpio" >"$tmp/l1.cpio"
	console=$logdir/l1-console.$((++l1_runs)).log
	: >"$console"
	ln -sfn "$(basename "$console")" "$logdir/l1-console.log"
	t_l1=$(now)
	# QEMU runs in the background (timeout gives it its own process group) so that an interrupted
	# rig.sh, or the watchdog, can take it down; its console comes through a FIFO.
	rm -f "$tmp/console.fifo"
	mkfifo "$tmp/console.fifo"
	# Devices (tests/rig/README.md, VFIO scenarios): edu with a 64-bit DMA mask (QEMU's default is
	# 28 bits; vfio-p2p has it DMA to a BAR above 3 GiB); the plain NVMe; e1000e; the SR-IOV NVMe
	# at 00:08.0; the P2P NVMe at 00:09.0 (no namespace, a 1 MiB controller memory buffer in BAR2,
	# kept away from L1's nvme driver by l1/init; only vfio-p2p uses it).
	timeout -k 10 "$total" qemu-system-x86_64 -accel tcg -machine q35,kernel-irqchip=split -cpu EPYC,+svm,+npt \
		-m 3072 -smp "$l1_smp" -nographic -no-reboot -nodefaults -serial stdio \
		-device intel-iommu,intremap=on,caching-mode=on \
		-device edu,dma_mask=0xffffffffffffffff \
		-drive file="$tmp/nvme.img",if=none,id=nv0,format=raw -device nvme,serial=x,drive=nv0 \
		-netdev user,id=n0 -device e1000e,netdev=n0 \
		-device nvme-subsys,id=sriovsub,nqn=rig-sriov \
		-device nvme,id=sriovpf,serial=rig-sriov-pf,subsys=sriovsub,addr=0x8,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=4 \
		-drive file="$tmp/sriov-ns1.img",if=none,id=sv1,format=raw -device nvme-ns,bus=sriovpf,drive=sv1,nsid=1,detached=on \
		-drive file="$tmp/sriov-ns2.img",if=none,id=sv2,format=raw -device nvme-ns,bus=sriovpf,drive=sv2,nsid=2,detached=on \
		-device nvme,id=p2pnv,serial=rig-p2p,addr=0x9,cmb_size_mb=1 \
		-kernel "/boot/vmlinuz-$kver" -initrd "$tmp/l1.cpio" \
		-append "console=ttyS0 quiet panic=-1 intel_iommu=on ${RIG_L1_APPEND:-}" ${RIG_L1_QEMU_ARGS:-} \
		</dev/null >"$tmp/console.fifo" 2>&1 &
	qpid=$!
	trap 'kill "$qpid" 2>/dev/null; rm -rf "$tmp"; exit 130' INT TERM HUP
	filter <"$tmp/console.fifo"
	if [ $? -eq 3 ]; then
		kill "$qpid" 2>/dev/null
		wait "$qpid"
		l1_rc=wedged
	else
		wait "$qpid"
		l1_rc=$?
	fi
	trap - INT TERM HUP
	echo "rig: L1 run $l1_runs: $# scenario(s), ${total}s limit, $(since "$t_l1")s wall, QEMU status $l1_rc" >>"$logdir/summary"
	l1_wall=$(awk -v a="${l1_wall:-0}" -v b="$(since "$t_l1")" 'BEGIN { printf "%.1f", a + b }')
}

l1_runs=0
retries=${RIG_L1_RETRIES:-1}
# run_todo: run every scenario in todo[], in as many L1 boots as L1 failures need (up to retries).
run_todo() {
while :; do
	before=$(wc -l <"$results")
	run_l1 "${todo[@]}"
	done_now=$(( $(wc -l <"$results") - before ))
	todo=("${todo[@]:$done_now}")
	[ ${#todo[@]} -eq 0 ] && break
	case "$l1_rc" in
	wedged) why="L1 wedged (a soft lockup, its console silent for 60 s, or past the scenario's limit)" ;;
	124|137) why="L1 killed after its time limit" ;;
	*) why="L1 QEMU exited with status $l1_rc" ;;
	esac
	if grep -aq 'Kernel panic' "$console"; then why="L1 kernel panic"; fi
	echo "rig: $why during ${todo[0]}; last lines of the L1 console ($console):"
	if [ "$verbose" != 1 ]; then
		# From the first sign of a kernel problem if there is one, else the end.
		first=$(grep -an -m 1 -E 'BUG:|Oops|general protection|Kernel panic|soft lockup|rcu.*stall|stack guard' "$console" | cut -d: -f1)
		if [ -n "$first" ]; then
			sed -n "${first},\$p" "$console" | grep -av '^RIG-OUT' | head -n 30
		else
			grep -av '^RIG-OUT' "$console" | tail -n 25
		fi | sed 's/^/  L1| /' || true # head leaves early: SIGPIPE upstream is no failure
	fi
	if [ "$retries" -le 0 ]; then
		for s in "${todo[@]}"; do
			echo "FAIL $s: no result ($why)"
			echo "FAIL $s" >>"$results"
		done
		break
	fi
	retries=$((retries - 1))
	echo "rig: booting a new L1 for the ${#todo[@]} scenario(s) left (an L1 failure is the rig's, under nested TCG)"
done
}
todo=("${scenarios[@]}")
run_todo

# RIG_FAIL_RETRIES=N (CI sets 1): a failed scenario runs again in a fresh L1, up to N times. Nested
# TCG occasionally breaks an L2 vCPU or L1 itself with any VMM (README: "nested TCG failures"); a
# scenario that fails again is a failure. Every retry is printed, and counted in the last line.
fail_retries=${RIG_FAIL_RETRIES:-0}
retried=0
while [ "$fail_retries" -gt 0 ] && grep -q '^FAIL ' "$results"; do
	mapfile -t todo < <(sed -n 's/^FAIL //p' "$results")
	sed -i '/^FAIL /d' "$results"
	retried=$((retried + ${#todo[@]}))
	fail_retries=$((fail_retries - 1))
	retries=${RIG_L1_RETRIES:-1}
	echo "rig: retrying ${#todo[@]} failed scenario(s) in a fresh L1: ${todo[*]}"
	run_todo
done

passed=$(grep -c '^PASS ' "$results")
failed=$(grep -c '^FAIL ' "$results")
echo "rig: wall $(since "$t_start")s in all, ${l1_wall}s in $l1_runs L1 run(s)"
note=
[ "$retried" -gt 0 ] && note=" ($retried scenario run(s) retried after a failure)"
echo "rig: $passed passed, $failed failed$note"
[ "$failed" -eq 0 ]
