#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# make check-guests: the tiny guests (run.sh) where KVM can run them. Directly on this host's
# /dev/kvm when it runs a test guest (hardware KVM, or the nested kvm_pvm module); otherwise
# inside the rig's L1 (tests/rig: QEMU TCG with nested SVM, where kvm_amd gives a real /dev/kvm),
# in one L1 boot, with the same runner and checks. One line says where and why, then run.sh's
# lines and its closing "guests: N passed, N failed".
#
# usage: check.sh KVMIO IMAGE_DIR
# env:   GUESTS_MODE  auto (default) | direct | rig: where to run; direct or rig forces it
#        GUESTS, GUEST_TIMEOUT, STDIN_LEN: passed to run.sh (also in the rig)
#        RIG_*: passed to tests/rig/rig.sh (RIG_VERBOSE=1 shows L1's whole console)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
kvmio=$1
dir=$2
mode=${GUESTS_MODE:-auto}
# shellcheck source=tests/guests/probe.sh
. "$here/probe.sh"

rig_line="in the rig's L1 (QEMU TCG with nested SVM; kvm_amd there)"
case "$mode" in
auto)
	if kvm_probe "$kvmio" "$dir/uart.bzImage"; then
		echo "guests: directly on this host: $KVM_WHY"
		exec "$here/run.sh" "$kvmio" "$dir"
	fi
	echo "guests: $rig_line: $KVM_WHY"
	;;
direct)
	echo "guests: directly on this host's /dev/kvm (GUESTS_MODE=direct)"
	exec "$here/run.sh" "$kvmio" "$dir"
	;;
rig)
	echo "guests: $rig_line (GUESTS_MODE=rig)"
	;;
*)
	echo "check.sh: GUESTS_MODE must be auto, direct or rig, not '$mode'" >&2
	exit 2
	;;
esac

# --- in the rig --------------------------------------------------------------------------
# L1 gets the runner, and what its busybox lacks: bash, coreutils' cksum, timeout and date, and
# tmux with its terminfo and a UTF-8 locale (tests/guests/rig/guests.sh says why).
tree=$(mktemp -d "${TMPDIR:-/tmp}/kvmio-guests.XXXXXX") || exit 2
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/rig/runner/bin"
cp "$here/run.sh" "$here/tty.sh" "$here/api.sh" "$tree/rig/runner/"
for t in bash cksum timeout date tmux; do
	p=$(command -v "$t") && cp -L "$p" "$tree/rig/runner/bin/"
done
"$repo/tests/rig/mkimg.sh" libs "$tree" "$tree"/rig/runner/bin/* || exit 2
for d in /lib/terminfo /usr/share/terminfo /usr/lib/locale/C.utf8; do
	[ -d "$d" ] && mkdir -p "$tree$(dirname "$d")" && cp -r "$d" "$tree$d"
done
for v in GUESTS GUEST_TIMEOUT STDIN_LEN; do
	[ -n "${!v:-}" ] && export "RIG_PARAM_$v=${!v}"
done

# rig.sh's output, filtered: the runner's lines ("RIG-DATA guests| LINE") as LINE; rig.sh's
# own lines (boot, retries, L1 failures) as they are, except the scenario's result and its
# repeated output and rig.sh's count, which would count the one scenario as one test.
# One L1 CPU: with two, L1 as a whole wedged in 3 of 5 runs of these 32 short-lived VMs (QEMU
# 7.2's nested SVM under MTTCG; tests/rig/README.md), with one in 1 of 10, and no slower;
# rig.sh then runs them again in a new L1 (RIG_L1_RETRIES).
pass=0 fail=0 closing=
while IFS= read -r line; do
	line=${line#L1| }
	case "$line" in
	"RIG-DATA guests-begin") pass=0 fail=0 closing= ;;
	"RIG-DATA guests| "*)
		line=${line#RIG-DATA guests| }
		case "$line" in
		PASS\ *) pass=$((pass + 1)) ;;
		FAIL\ *) fail=$((fail + 1)) ;;
		# The closing line comes last, after rig.sh's own.
		"guests: "*" passed, "*" failed") closing=$line; continue ;;
		esac
		printf '%s\n' "$line"
		;;
	"PASS guests ("*|"  | "*|"rig: "[0-9]*" passed, "*) ;;
	*) printf '%s\n' "$line" ;;
	esac
done < <(RIG_L1_SMP=${RIG_L1_SMP:-1} RIG_L1_EXTRA=$tree RIG_GUESTS=$dir "$repo/tests/rig/rig.sh" \
	--kvmio "$kvmio" --dir "$here/rig" guests 2>&1)
wait $! 2>/dev/null
rc=$?
if [ -z "$closing" ]; then
	# L1 or the rig failed before the runner finished: what ran counts, and so does the failure.
	echo "FAIL rig            the run in L1 did not finish (rig.sh status $rc; see above)"
	echo "guests: $pass passed, $((fail + 1)) failed"
	exit 1
fi
printf '%s\n' "$closing"
[ "$fail" -eq 0 ] && [ "$rc" -eq 0 ]
