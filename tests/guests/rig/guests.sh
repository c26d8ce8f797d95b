# rig-timeout: 300
# The tiny guests of make check-guests on L1's /dev/kvm (kvm_amd), for hosts whose own /dev/kvm
# is missing or cannot run them (tests/guests/check.sh runs this with rig.sh --dir). The same
# runner as on the host (tests/guests/run.sh, tty.sh), run by bash with coreutils' cksum, timeout
# and date and tmux (for the terminal tests) in /rig/runner/bin: busybox has no cksum, its
# timeout and date differ (status 143 on timeout, no %N), and its shell runs its own applets
# whatever PATH says. Each line the runner prints also goes to L1's
# console as "RIG-DATA guests| LINE", so check.sh prints the results as they come; a
# "RIG-DATA guests-begin" line comes first (a retry in a new L1 starts the count again).
runner=/rig/runner
[ -x "$KVMIO" ] || { fail "kvmio is not in L1 (rig.sh --kvmio PATH)"; return; }
[ -x "$runner/bin/bash" ] || { fail "no $runner/run.sh (RIG_L1_EXTRA from tests/guests/check.sh)"; return; }
# tmux needs ptys, a UTF-8 locale and a writable TMPDIR.
mkdir -p /dev/pts
grep -q ' /dev/pts ' /proc/mounts || mount -t devpts -o ptmxmode=0666 devpts /dev/pts
export PATH=$runner/bin:$PATH LANG=C.UTF-8 TMPDIR=/tmp
# Nested TCG is slower than any host: more time for each terminal step, not for the guests.
export TTY_WAIT=${RIG_PARAM_TTY_WAIT:-30}
# What check.sh was given for run.sh.
for v in GUESTS GUEST_TIMEOUT STDIN_LEN; do
	eval "[ -n \"\${RIG_PARAM_$v:-}\" ] && export $v=\"\$RIG_PARAM_$v\""
done

echo "RIG-DATA guests-begin" >/dev/console
out=$RIG_WORK/runner.out
bash "$runner/run.sh" "$KVMIO" /rig/guests 2>&1 </dev/null | while IFS= read -r line; do
	printf '%s\n' "$line" >>"$out"
	printf 'RIG-DATA guests| %s\n' "$line" >/dev/console
done
# The runner's verdict is its closing line (the pipe's status is the loop's).
last=$(grep -a '^guests: [0-9]* passed, [0-9]* failed' "$out" 2>/dev/null | tail -n 1)
case "$last" in
"guests: "*" passed, 0 failed") ok "$last" ;;
"") fail "the runner ended without its closing line" ;;
*) fail "$last" ;;
esac
