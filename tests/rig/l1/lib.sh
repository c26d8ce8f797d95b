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
# "RIG-L2 KEY ..." line; KEY may be several words). From the console as it is so far, so it
# also works while the VMM runs (serial.log is only written when it exits).
l2_value() {
	if [ $# -eq 1 ]; then
		tr -d '\r' <"$RIG_WORK/serial.raw" | sed -n "s/^.*RIG-L2 $1=\([^ ]*\).*/\1/p" | tail -n 1
	else
		tr -d '\r' <"$RIG_WORK/serial.raw" |
			sed -n "s/^.*RIG-L2 $1 \(.* \)\{0,1\}$2=\([^ ]*\).*/\2/p" | tail -n 1
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

# --- PCI devices and VFIO (scenarios/vfio-*.sh) ------------------------------------------------
# L1's devices: edu 1234:11e8 (64-bit DMA mask), nvme 1b36:0010 (64 MiB of zeros per rig run),
# e1000e 8086:10d3 on QEMU user networking (gateway 10.0.2.2), an SR-IOV NVMe (also 1b36:0010, at
# 00:08.0: two VFs, two detached 4 MiB namespaces; scenarios/vfio-sriov.sh), and the P2P NVMe
# (1b36:0010 at 00:09.0 with a controller memory buffer; pci_p2p_nvme). At L1 boot none has a driver
# (L1 loads nvme only when a scenario asks; loading it also binds the SR-IOV NVMe's PF, which
# has no namespace then). A scenario that rebinds a device calls pci_save first: finish() puts
# every saved device back on its driver, even when checks failed or the scenario returned early.

# VFIO_VMM: the L2 VMM of vfio_start/vfio_boot: kvmio, or qemu (RIG_PARAM_VFIO_VMM=qemu; QEMU q35
# with -device vfio-pci, the reference the guest-side checks were validated against).
VFIO_VMM=${RIG_PARAM_VFIO_VMM:-kvmio}

# pci_find VENDOR:DEVICE: the BDF (dddd:bb:dd.f) of the first device with those IDs (hex without
# 0x, as lspci -n prints them); status 1 and no output if there is none. SR-IOV physical and
# virtual functions are skipped: the NVMe of vfio-sriov (sriov_pf) has the plain NVMe's IDs; so
# is the P2P NVMe (pci_p2p_nvme), whose BAR2 tells it apart.
pci_find() {
	for d in /sys/bus/pci/devices/*; do
		[ -e "$d/sriov_totalvfs" ] || [ -e "$d/physfn" ] && continue
		[ -e "$d/resource2" ] && [ "$1" = 1b36:0010 ] && continue
		if [ "$(cat "$d/vendor"):$(cat "$d/device")" = "0x${1%%:*}:0x${1#*:}" ]; then
			echo "${d##*/}"
			return 0
		fi
	done
	return 1
}

# pci_p2p_nvme: the BDF of the P2P NVMe (vfio-p2p): QEMU's NVMe with a 1 MiB controller memory
# buffer in BAR2 and no namespace, at 00:09.0 (rig.sh); l1/init keeps L1's nvme driver off it.
pci_p2p_nvme() {
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1b36:0x0010 ] && [ -e "$d/resource2" ] &&
			[ ! -e "$d/sriov_totalvfs" ] && [ ! -e "$d/physfn" ] && { echo "${d##*/}"; return 0; }
	done
	return 1
}

# pci_driver BDF: the driver BDF is bound to, or "none".
pci_driver() {
	d=$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)
	if [ -n "$d" ]; then echo "${d##*/}"; else echo none; fi
}

# pci_ids BDF: VENDOR:DEVICE (1b36:0010).
pci_ids() {
	echo "$(sed 's/^0x//' "/sys/bus/pci/devices/$1/vendor"):$(sed 's/^0x//' "/sys/bus/pci/devices/$1/device")"
}

# pci_group BDF: its IOMMU group number (nothing without one).
pci_group() {
	g=$(readlink "/sys/bus/pci/devices/$1/iommu_group" 2>/dev/null) && echo "${g##*/}"
}

# pci_bind BDF DRIVER|none: bind BDF to DRIVER alone (driver_override, so that no other driver
# takes it; the module is loaded first), or leave it unbound. Probing may be asynchronous (nvme):
# waits up to 30 s. Status 0 when BDF ends up bound as asked. driver_override stays DRIVER.
pci_bind() {
	p=/sys/bus/pci/devices/$1
	[ -e "$p" ] || return 1
	if [ "$(pci_driver "$1")" = "$2" ]; then
		[ "$2" = none ] || echo "$2" >"$p/driver_override"
		return 0
	fi
	[ -e "$p/driver" ] && echo "$1" >"$p/driver/unbind"
	if [ "$2" = none ]; then
		echo >"$p/driver_override"
		[ "$(pci_driver "$1")" = none ]
		return
	fi
	modprobe "$2" 2>/dev/null
	echo "$2" >"$p/driver_override"
	echo "$1" >/sys/bus/pci/drivers_probe 2>/dev/null
	n=0
	while [ "$(pci_driver "$1")" != "$2" ] && [ $n -lt 300 ]; do
		usleep 100000
		n=$((n + 1))
	done
	[ "$(pci_driver "$1")" = "$2" ]
}

# pci_save BDF: remember BDF's driver and driver_override (once per scenario) for pci_restore.
pci_save() {
	grep -q "^$1 " "$RIG_WORK/pci.saved" 2>/dev/null && return
	echo "$1 $(pci_driver "$1") $(cat "/sys/bus/pci/devices/$1/driver_override")" >>"$RIG_WORK/pci.saved"
}

# pci_restore: the VFIO modules L1's init loaded are loaded, and every device pci_save saw is on
# its driver again, its driver_override as it was. A VMM still running (it holds its devices:
# unbinding would wait for it) is killed first. Runs from finish().
pci_restore() {
	[ -s "$RIG_WORK/pci.saved" ] || return 0
	if [ -n "${VMM_PID:-}" ] && kill -0 "$VMM_PID" 2>/dev/null; then
		info "killing the VMM (pid $VMM_PID) before restoring devices"
		kill -9 "$VMM_PID"
		wait "$VMM_PID" 2>/dev/null
		VMM_PID=
	fi
	for m in vfio-pci vfio_iommu_type1; do
		modprobe "$m" || fail "restore: modprobe $m failed"
	done
	while read -r bdf drv ovr; do
		if pci_bind "$bdf" "$drv"; then
			if [ "$ovr" = "(null)" ]; then echo >"/sys/bus/pci/devices/$bdf/driver_override"; else echo "$ovr" >"/sys/bus/pci/devices/$bdf/driver_override"; fi
			echo "restored: $bdf on $drv"
		else
			fail "restore: $bdf is on $(pci_driver "$bdf"), could not put it back on $drv"
		fi
	done <"$RIG_WORK/pci.saved"
	rm -f "$RIG_WORK/pci.saved"
}

# vfio_bind BDF...: pci_save each, bind it to vfio-pci; ok when /dev/vfio/GROUP exists, else fail.
vfio_bind() {
	for b in "$@"; do
		pci_save "$b"
		if pci_bind "$b" vfio-pci && [ -c "/dev/vfio/$(pci_group "$b")" ]; then
			ok "$b ($(pci_ids "$b")) on vfio-pci, /dev/vfio/$(pci_group "$b")"
		else
			fail "binding $b to vfio-pci: driver $(pci_driver "$b"), group $(pci_group "$b"), $(ls /dev/vfio 2>/dev/null | tr '\n' ' ')"
		fi
	done
}

# vfio_start CPUS MEMORY "BDF..." [L2 CMDLINE WORDS...]: L2 with those devices assigned, in the
# background (VMM_PID), under $VFIO_VMM; vfio_boot: the same, run to its end. VFIO_IOMMU=1 puts
# them behind the VMM's emulated VT-d (kvmio --iommu -v, for its shadow line; QEMU intel-iommu
# with caching mode, which its VFIO needs too) and adds intel_iommu=on to L2's command line.
vfio_start() {
	cpus=$1 mem=$2 bdfs=$3
	shift 3
	devs=
	[ "${VFIO_IOMMU:-0}" = 1 ] && set -- intel_iommu=on "$@"
	if [ "$VFIO_VMM" = qemu ]; then
		machine=q35
		for b in $bdfs; do devs="$devs -device vfio-pci,host=$b"; done
		if [ "${VFIO_IOMMU:-0}" = 1 ]; then
			machine=q35,kernel-irqchip=split
			devs="-device intel-iommu,caching-mode=on,intremap=off $devs"
		fi
		# shellcheck disable=SC2086
		vmm_start qemu-system-x86_64 -enable-kvm -machine $machine -cpu host -smp "$cpus" -m "$mem" \
			-nographic -nodefaults -no-reboot -serial stdio $devs \
			-kernel "$L2_KERNEL" -initrd "$L2_INITRD" -append "$(l2_cmdline "$@")"
	else
		for b in $bdfs; do devs="$devs --device vfio=$b"; done
		[ "${VFIO_IOMMU:-0}" = 1 ] && devs="$devs --iommu -v"
		# VFIO_FLAGS: more kvmio flags (user-vfio-nvme: --user).
		devs="$devs ${VFIO_FLAGS:-}"
		# shellcheck disable=SC2086
		kvmio_start --cpus "$cpus" --memory "$mem" $devs -- "$@"
	fi
}

# expect_shadow NAME: kvmio's exit line for the container of an assigned device behind its
# VT-d (vfio-BDF): it mirrored the guest's own mappings (more maps than identity's RAM regions
# would make, and unmaps), and nothing failed.
expect_shadow() {
	line=$(grep -a "$1: shadowed the guest's DMA mappings" "$RIG_WORK/vmm.err" | tail -n 1)
	maps=$(echo "$line" | sed -n 's/.*: \([0-9]*\) maps.*/\1/p')
	unmaps=$(echo "$line" | sed -n 's/.* \([0-9]*\) unmaps.*/\1/p')
	failed=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
	if [ "${maps:-0}" -gt 2 ] && [ "${unmaps:-0}" -gt 0 ] && [ "$failed" = 0 ]; then
		ok "kvmio shadowed L2's mappings of $1 into its container: $maps maps, $unmaps unmaps, none failed"
	else
		fail "kvmio's shadow of $1: '${line:-no exit line}'"
	fi
}
vfio_boot() {
	vfio_start "$@"
	vmm_wait
}

# l1_dmesg_mark: a marker line in L1's kernel log; expect_l1_dmesg_clean: after the last marker,
# no IOMMU fault (DMAR) and no error-level line about VFIO, the IOMMU, PCI or the assigned
# devices' drivers; other warnings are listed as info.
l1_dmesg_mark() {
	RIG_DMESG_MARK="rig-mark-$RIG_NAME-$(ms)"
	echo "<6>$RIG_DMESG_MARK" >/dev/kmsg
}
expect_l1_dmesg_clean() {
	[ -n "${RIG_DMESG_MARK:-}" ] || { fail "expect_l1_dmesg_clean without l1_dmesg_mark"; return; }
	dmesg -r | sed -n "/$RIG_DMESG_MARK/,\$p" | sed 1d >"$RIG_WORK/l1-dmesg"
	# KVM's "Unhandled WRMSR(0xc0010007)" (an AMD perf MSR Linux pokes at boot) is harmless (rig.md).
	grep -E 'DMAR: \[DMA|DMAR: DRHD|fault addr|PTE (Read|Write) access|^<[0-3]>.*(vfio|iommu|dmar|pci|nvme|e1000e|kvm)' \
		"$RIG_WORK/l1-dmesg" | grep -v -E 'Unhandled (WR|RD)MSR' >"$RIG_WORK/l1-dmesg.bad"
	if [ -s "$RIG_WORK/l1-dmesg.bad" ]; then
		fail "L1 kernel log has IOMMU faults or VFIO/PCI errors:"
		head -n 12 "$RIG_WORK/l1-dmesg.bad" | sed 's/^/  /'
	else
		ok "L1 kernel log: no IOMMU faults, no VFIO/PCI errors ($(wc -l <"$RIG_WORK/l1-dmesg") new lines)"
	fi
	grep -E '^<4>' "$RIG_WORK/l1-dmesg" | head -n 8 |
		sed 's/^/info: L1 warning: /'
}

# expect_l1_dmar_faults WHAT DEV WANT: after the last l1_dmesg_mark (the log into
# $RIG_WORK/l1-dmesg), L1's IOMMU faults are at exactly the addresses WANT (hex, with or without
# 0x, space-separated, any order), none missing, none more, and every DMAR fault is DEV's (a BDF).
expect_l1_dmar_faults() {
	dev=${2#0000:}
	want=$(echo "$3" | tr ' ' '\n' | sed -n 's/^0x//; /./p' | sort -u | tr '\n' ' ')
	dmesg -r | sed -n "/$RIG_DMESG_MARK/,\$p" | sed 1d >"$RIG_WORK/l1-dmesg"
	got=$(grep -o 'fault addr 0x[0-9a-f]*' "$RIG_WORK/l1-dmesg" | sed 's/.*0x//' | sort -u | tr '\n' ' ')
	if [ -n "$want" ] && [ "$got" = "$want" ] &&
		! grep 'DMAR: \[DMA' "$RIG_WORK/l1-dmesg" | grep -q -v "device \[$dev\]"; then
		ok "$1: L1's IOMMU refused $dev's DMA at exactly $got"
	else
		fail "$1: L1's DMAR faults at '$got', want '${want:-(the guest named none)}', all from $dev:"
		grep -E 'DMAR|fault addr' "$RIG_WORK/l1-dmesg" | head -n 8 | sed 's/^/  /'
	fi
}

# expect_l1_no_errors_besides_faults DRIVERS: in that log, no error-level line about DRIVERS
# (an extended regex: vfio|iommu|...) but the IOMMU faults expect_l1_dmar_faults checked.
expect_l1_no_errors_besides_faults() {
	grep -E 'DMAR: \[DMA|DMAR: DRHD|fault addr|PTE (Read|Write) access' -v "$RIG_WORK/l1-dmesg" |
		grep -E "^<[0-3]>.*($1)" | sed 's/^/  /' >"$RIG_WORK/l1-dmesg.bad"
	if [ -s "$RIG_WORK/l1-dmesg.bad" ]; then
		fail "L1 kernel log has VFIO/PCI errors besides those faults:"; cat "$RIG_WORK/l1-dmesg.bad"
	else
		ok "L1 kernel log: no VFIO/PCI errors besides those faults"
	fi
}

# nvme_blk BDF: wait (30 s at most) for the namespace block device of the NVMe at BDF under L1's
# nvme driver; prints its name (nvme0n1). Status 1 if it never appears.
nvme_blk() {
	n=0
	while [ $n -lt 300 ]; do
		for b in /sys/bus/pci/devices/"$1"/nvme/nvme*/nvme*n*; do
			[ -e "$b" ] && [ -b "/dev/${b##*/}" ] && { echo "${b##*/}"; return 0; }
		done
		usleep 100000
		n=$((n + 1))
	done
	return 1
}

# nvme_prepare BDF: under L1's own nvme driver, fill the whole namespace with random data (a copy
# stays in $RIG_WORK/nvme.orig) and read it back (NVME_SHA: its checksum). Checks print ok/FAIL.
nvme_prepare() {
	NVME_SHA=
	pci_save "$1"
	if ! pci_bind "$1" nvme || ! blk=$(nvme_blk "$1"); then
		fail "L1's nvme driver on $1: driver $(pci_driver "$1"), no namespace block device"
		return 1
	fi
	bytes=$(($(cat "/sys/block/$blk/size") * 512))
	dd if=/dev/urandom of="$RIG_WORK/nvme.orig" bs=1M count=$((bytes >> 20)) 2>/dev/null
	dd if="$RIG_WORK/nvme.orig" of="/dev/$blk" bs=1M oflag=direct conv=notrunc,fsync 2>/dev/null ||
		fail "L1: writing /dev/$blk failed"
	NVME_SHA=$(sha256sum <"$RIG_WORK/nvme.orig" | cut -c1-64)
	expect_eq "L1 wrote $((bytes >> 20)) MiB of random data to /dev/$blk and reads it back" \
		"$(dd if="/dev/$blk" bs=1M iflag=direct 2>/dev/null | sha256sum | cut -c1-64)" "$NVME_SHA"
}

# nvme_verify BDF: back under L1's nvme driver, the guest's two writes (l2/vfio-lib.sh: W1 1 MiB
# at sector 10243, W2 256 KiB at 40 MiB; checksums from its "RIG-L2 nvme" line) are on the
# namespace, and nothing else changed.
nvme_verify() {
	if ! pci_bind "$1" nvme || ! blk=$(nvme_blk "$1"); then
		fail "L1's nvme driver back on $1: driver $(pci_driver "$1"), no namespace block device"
		return 1
	fi
	ok "$1 back on L1's nvme driver: /dev/$blk"
	w1=$(l2_value nvme w1_sha)
	w2=$(l2_value nvme w2_sha)
	expect_eq "L1 finds the guest's buffered+fsync write (1 MiB at byte 5244416)" \
		"$(dd if="/dev/$blk" bs=512 skip=10243 count=2048 iflag=direct 2>/dev/null | sha256sum | cut -c1-64)" "$w1"
	expect_eq "L1 finds the guest's O_DIRECT write (256 KiB at 40 MiB)" \
		"$(dd if="/dev/$blk" bs=262144 skip=160 count=1 iflag=direct 2>/dev/null | sha256sum | cut -c1-64)" "$w2"
	# The original with the guest's two regions copied in must be the namespace.
	dd if="/dev/$blk" of="$RIG_WORK/nvme.orig" bs=512 skip=10243 seek=10243 count=2048 iflag=direct conv=notrunc 2>/dev/null
	dd if="/dev/$blk" of="$RIG_WORK/nvme.orig" bs=262144 skip=160 seek=160 count=1 iflag=direct conv=notrunc 2>/dev/null
	expect_eq "the rest of the namespace is unchanged" \
		"$(dd if="/dev/$blk" bs=1M iflag=direct 2>/dev/null | sha256sum | cut -c1-64)" \
		"$(sha256sum <"$RIG_WORK/nvme.orig" | cut -c1-64)"
	rm -f "$RIG_WORK/nvme.orig"
}

# expect_l2_msix VENDOR:DEVICE DRIVER IRQ-REGEX: in L2 (l2_report's lines), the function with those
# IDs is bound to DRIVER and uses MSI-X only, and the interrupts named IRQ-REGEX are MSI and fired.
expect_l2_msix() {
	line=$(grep "RIG-L2 pci .* id=0x${1%%:*}:0x${1#*:} " "$RIG_WORK/serial.log" | head -n 1)
	if [ -z "$line" ]; then
		fail "L2 has no PCI function $1"
		return
	fi
	case "$line" in
	*" driver=$2 "*" msi_mode=msix,") ok "L2: $1 bound to $2, MSI-X (${line##*msi_irqs=})" ;;
	*) fail "L2: $1 not on $2 with MSI-X only: ${line#*RIG-L2 pci }" ;;
	esac
	irqs=$(grep "RIG-L2 irq name=" "$RIG_WORK/serial.log" | grep -E "name=($3)")
	n=$(echo "$irqs" | awk '{ sub(/.*count=/, ""); s += $1 } END { print s + 0 }')
	if [ -z "$irqs" ]; then
		fail "L2: no interrupts named /$3/ in /proc/interrupts"
	elif echo "$irqs" | grep -q -v 'chip=PCI-MSI'; then
		fail "L2: /$3/ interrupts not all PCI-MSI: $(echo "$irqs" | grep -v 'chip=PCI-MSI' | head -n 1)"
	elif [ "$n" -gt 0 ]; then
		ok "L2: $n interrupts on $(echo "$irqs" | wc -l) PCI-MSI vector(s) named /$3/"
	else
		fail "L2: /$3/ vectors never fired"
	fi
}

finish() {
	pci_restore
	if [ "$RIG_FAILED" != 0 ] && [ -n "$VMM_RC" ]; then
		echo "--- guest serial, last $RIG_TAIL_SERIAL lines ($RIG_WORK/serial.log)"
		tail -n "$RIG_TAIL_SERIAL" "$RIG_WORK/serial.log"
		echo "--- VMM stderr, last $RIG_TAIL_STDERR lines"
		tail -n "$RIG_TAIL_STDERR" "$RIG_WORK/vmm.err"
		echo "---"
	fi
	exit "$RIG_FAILED"
}
