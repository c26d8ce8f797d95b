#!/bin/sh
# Command-line errors: one line naming the problem, exit 2 for usage errors.
# Runs without /dev/kvm: every case here is refused before a VM is created.
KVMIO=${KVMIO:-build/kvmio}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
passed=0; failed=0

# expect STATUS PATTERN ARGS...: exit status and one stderr line matching PATTERN
expect() {
	want=$1 pat=$2; shift 2
	"$KVMIO" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	got=$?
	lines=$(wc -l <"$tmp/err")
	if [ "$got" -eq "$want" ] && grep -q -- "$pat" "$tmp/err" && [ "$lines" -le 1 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: kvmio $*: status $got (want $want), stderr:"; sed 's/^/    /' "$tmp/err"
	fi
}

printf 'not a kernel' >"$tmp/text"
: >"$tmp/empty"
head -c 4096 /dev/zero >"$tmp/zeros"
cp "$tmp/text" "$tmp/unreadable"; chmod 000 "$tmp/unreadable"

# expect_out PATTERN ARGS...: exit 0, PATTERN on stdout, nothing on stderr
expect_out() {
	pat=$1; shift
	if "$KVMIO" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null && grep -q -- "$pat" "$tmp/out" && [ ! -s "$tmp/err" ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1)); echo "FAIL: kvmio $*: no '$pat' on stdout"
	fi
}

expect 2 "no command given"
expect 2 "unknown command 'frobnicate'" frobnicate
expect_out "^kvmio [0-9]" --version
expect_out "run  *boot a Linux kernel" --help
expect_out "--serial MODE" run --help
expect 2 "unknown option '--bogus'" run --bogus
expect 2 "unknown option '-Z'" run -Z
expect 2 "needs a value" run --kernel
expect 2 "kernel is required" run
expect 2 "unexpected argument 'extra'" run --kernel "$tmp/zeros" extra
expect 2 "kernel '/nonexistent/bzImage': No such file" run --kernel /nonexistent/bzImage
expect 2 "not a regular file" run --kernel /tmp
expect 2 "empty file" run --kernel "$tmp/empty"
expect 2 "too small to be a bzImage" run --kernel "$tmp/text"
expect 2 "not a bzImage" run --kernel "$tmp/zeros"
expect 2 "expected a number from 1 to 254" run --kernel "$tmp/zeros" --cpus 0
expect 2 "expected a number from 1 to 254" run --kernel "$tmp/zeros" --cpus 255
expect 2 "expected a number from 1 to 254" run --kernel "$tmp/zeros" --cpus two
expect 2 "expected a size" run --kernel "$tmp/zeros" --memory lots
expect 2 "out of range" run --kernel "$tmp/zeros" --memory 1M
expect 2 "out of range" run --kernel "$tmp/zeros" --memory 2T
expect 2 "not a multiple of 4K" run --kernel "$tmp/zeros" --memory 33554433
expect 2 "expected stdio, file=PATH or none" run --kernel "$tmp/zeros" --serial tty
expect 2 "expected stdio, file=PATH or none" run --kernel "$tmp/zeros" --serial file=
# Devices: syntax errors before anything is opened.
expect 2 "no image path given" run --kernel "$tmp/zeros" --disk readonly=on
expect 2 "readonly='maybe': expected on or off" run --kernel "$tmp/zeros" --disk "$tmp/zeros,readonly=maybe"
expect 2 "unknown option 'cache=none'" run --kernel "$tmp/zeros" --disk "$tmp/zeros,cache=none"
expect 2 "longer than 20 bytes" run --kernel "$tmp/zeros" --disk "$tmp/zeros,serial=123456789012345678901"
expect 2 "at most 8 disks" run --kernel "$tmp/zeros" -d a -d b -d c -d d -d e -d f -d g -d h -d i
expect 2 "tap=IFNAME is required" run --kernel "$tmp/zeros" --net mac=52:54:00:12:34:56
expect 2 "an interface name is 1-15 characters" run --kernel "$tmp/zeros" --net tap=abcdefghijklmnop
expect 2 "expected a unicast MAC" run --kernel "$tmp/zeros" --net tap=t0,mac=01:00:5e:00:00:01
expect 2 "expected a unicast MAC" run --kernel "$tmp/zeros" --net tap=t0,mac=52:54:00:12:34
expect 2 "expected a unicast MAC" run --kernel "$tmp/zeros" --net tap=t0,mac=52:54:00:12:34:567
expect 2 "tx-usecs=.abc.: expected auto or microseconds, 0 to 10000" run --kernel "$tmp/zeros" --net tap=t0,tx-usecs=abc
expect 2 "tx-usecs=.10001.: expected auto or microseconds" run --kernel "$tmp/zeros" --net tap=t0,tx-usecs=10001
expect 2 "tx-usecs=.-1.: expected auto or microseconds" run --kernel "$tmp/zeros" --net tap=t0,tx-usecs=-1
expect 2 "--poll .1001.: expected microseconds from 0 (off) to 1000" run --kernel "$tmp/zeros" --poll 1001
expect 2 "--poll .x.: expected microseconds" run --kernel "$tmp/zeros" --poll x
expect 2 "tap 't0' given twice" run --kernel "$tmp/zeros" --net tap=t0 --net tap=t0
expect 2 "expected vfio=BDF" run --kernel "$tmp/zeros" --device nvme=01:00.0
expect 2 "needs caching mode" run --kernel "$tmp/zeros" --iommu=caching-mode=off --device vfio=01:00.0
expect 2 "not a bzImage" run --kernel "$tmp/zeros" --iommu --device vfio=01:00.0
expect_out "--iommu" run --help
expect 2 "--iommu=caching-mode=maybe: expected caching-mode=on or caching-mode=off" run --kernel "$tmp/zeros" --iommu=caching-mode=maybe
expect 2 "not a bzImage" run --kernel "$tmp/zeros" --iommu=caching-mode=off
expect 2 "not a bzImage" run --kernel "$tmp/zeros" --iommu=caching-mode=on
expect 2 "expected a PCI address" run --kernel "$tmp/zeros" --device vfio=
expect 2 "expected a PCI address" run --kernel "$tmp/zeros" --device vfio=01:20.0
expect 2 "expected a PCI address" run --kernel "$tmp/zeros" --device vfio=01:00.8
expect 2 "expected a PCI address" run --kernel "$tmp/zeros" --device vfio=0000:01:00.0x
expect 2 "0000:01:00.0 given twice" run --kernel "$tmp/zeros" --device vfio=01:00.0 --device vfio=0000:01:00.0
expect 2 "at most 8 assigned devices" run --kernel "$tmp/zeros" --device vfio=01:00.0 --device vfio=01:01.0 \
	--device vfio=01:02.0 --device vfio=01:03.0 --device vfio=01:04.0 --device vfio=01:05.0 \
	--device vfio=01:06.0 --device vfio=01:07.0 --device vfio=01:08.0
expect 2 "vf-token='2ab74924': expected a UUID" run --kernel "$tmp/zeros" --device vfio=01:00.1,vf-token=2ab74924
expect 2 "expected a UUID" run --kernel "$tmp/zeros" --device vfio=01:00.1,vf-token=2ab74924-c335-45f4-9b16-8569e5b0825g
expect 2 "not a bzImage" run --kernel "$tmp/zeros" --device vfio=01:00.1,vf-token=2ab74924-C335-45f4-9b16-8569e5b08258
expect 2 "rom= needs a file" run --kernel "$tmp/zeros" --device vfio=01:00.0,rom=
expect 2 "vga='1': expected on or off" run --kernel "$tmp/zeros" --device vfio=01:00.0,vga=1
expect 2 "unknown option 'romfile=x'" run --kernel "$tmp/zeros" --device vfio=01:00.0,romfile=x
expect 2 "not a bzImage" run --kernel "$tmp/zeros" --device vfio=01:00.0,rom=/x.rom,vga=on,id=gpu
expect_out "check-device BDF" --help
expect_out "Usage: kvmio check-device BDF" check-device --help
expect 2 "expected one PCI address" check-device
expect 2 "expected one PCI address" check-device 00:01.0 00:02.0
expect 2 "check-device '00:03.8': expected a PCI address" check-device 00:03.8
expect 2 "expected stdio, file=PATH or none" run --kernel "$tmp/zeros" --console tty
expect 2 "only one can use stdio" run --kernel "$tmp/zeros" --console stdio --serial stdio
if [ "$(id -u)" -ne 0 ]; then
	expect 2 "Permission denied" run --kernel "$tmp/unreadable"
fi
# A valid kernel header but a missing initrd is still a usage error.
if [ -n "${KVMIO_TEST_KERNEL:-}" ]; then
	expect 2 "initrd '/nonexistent': No such file" run --kernel "$KVMIO_TEST_KERNEL" --initrd /nonexistent
fi

# stderr a pipe whose reader is gone, before kvmio starts: the error line
# gets EPIPE, and kvmio still exits with its own status instead of dying
# of SIGPIPE (141). SIGPIPE is put back to its default for kvmio (env
# --default-signal) in case this script inherited it ignored; a control
# command that must die of SIGPIPE shows the setup is what it claims.
dflpipe=
if env --default-signal=PIPE true >/dev/null 2>&1; then
	dflpipe="env --default-signal=PIPE"
fi
# readerless_stderr ARGS...: run ARGS with stderr on a pipe without a reader; exit status into $tmp/status
readerless_stderr() {
	rm -f "$tmp/fifo"
	if ! mkfifo "$tmp/fifo"; then
		echo 99 >"$tmp/status"
		return
	fi
	exec 8<>"$tmp/fifo"	# a reader, so that opening the write end does not block
	exec 9>"$tmp/fifo"
	exec 8<&-		# the only reader closed: writes to fd 9 get EPIPE (and SIGPIPE)
	$dflpipe "$@" >/dev/null 2>&9 </dev/null
	echo $? >"$tmp/status"
	exec 9>&-
}
readerless_stderr sh -c 'printf "x\n" >&2; exit 0'
if [ "$(cat "$tmp/status")" -ne 141 ]; then
	echo "SKIP: kvmio with stderr on a closed pipe: SIGPIPE cannot be reset here" \
	     "(control got status $(cat "$tmp/status"), want 141)"
else
	for args in "" "run" "run --kernel /nonexistent/bzImage" "frobnicate"; do
		# shellcheck disable=SC2086
		readerless_stderr "$KVMIO" $args
		got=$(cat "$tmp/status")
		if [ "$got" -eq 2 ]; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
			echo "FAIL: kvmio $args with stderr on a pipe without a reader: status $got (want 2)"
		fi
	done
fi

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
