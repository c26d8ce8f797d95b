# rig-timeout: 240
# How kvmio refuses devices it cannot assign, and what `kvmio check-device BDF` says. Wording is
# matched loosely (case-insensitive words); each refusal must be a non-zero exit status below 128,
# a short stderr (at most 3 lines: no register dump) and no guest started:
# - check-device: a device on vfio-pci (status 0, also as BB:DD.F; names vfio-pci and the IOMMU
#   group), one with no driver (status 1; says how to bind it to vfio-pci), one on nvme (status
#   1; names nvme), a BDF that does not exist (status 1), a malformed one (status 2);
# - run --device vfio=: a device with no driver, one on nvme (names vfio-pci and how to bind;
#   nvme keeps the device), a BDF that does not exist (names it), malformed BDFs (status 2), a
#   device another kvmio holds (busy; the first keeps running), vfio_iommu_type1 unloaded (names
#   it), all VFIO modules unloaded (names what to load);
# - afterwards the modules are loaded and every device is back as it was (finish: pci_restore),
#   and check-device says the edu device can be assigned again.
RIG_VMM_TIMEOUT=120
w=$RIG_WORK
edu=$(pci_find 1234:11e8) || { fail "no edu device (1234:11e8) in L1"; return; }
nv=$(pci_find 1b36:0010) || { fail "no NVMe (1b36:0010) in L1"; return; }
nic=$(pci_find 8086:10d3) || { fail "no e1000e (8086:10d3) in L1"; return; }
[ -x "$KVMIO" ] || { fail "kvmio is not in L1 (rig.sh --kvmio PATH)"; return; }
pci_save "$edu"
pci_save "$nv"
pci_save "$nic"
# A slot with nothing in it.
ghost=
for s in 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e; do
	[ -e "/sys/bus/pci/devices/0000:00:$s.0" ] || { ghost=0000:00:$s.0; break; }
done

# try NAME CMD...: run CMD to its end (60 s at most, stdin /dev/null); NAME.out, NAME.err, TRY_RC.
try() {
	name=$1
	shift
	echo "run: $*"
	timeout 60 "$@" </dev/null >"$w/$name.out" 2>"$w/$name.err"
	TRY_RC=$?
	echo "  status $TRY_RC, stderr: $(head -n 4 "$w/$name.err" | tr '\n' '|')"
}
# run_l2 NAME BDF-ARG: kvmio run with the L2 kernel (which would boot and power off at once if
# kvmio ignored the device) and --device vfio=BDF-ARG.
run_l2() {
	try "$1" "$KVMIO" run --kernel "$L2_KERNEL" --initrd "$L2_INITRD" --cmdline "$(l2_cmdline rig.l2=none)" \
		--memory 256M --serial stdio --device "vfio=$2"
}
# refused NAME WHAT [REGEX...]: TRY_RC is an error status (1..127), stderr is at most 3 lines,
# the guest never started, and stderr matches each extended REGEX (case-insensitive).
refused() {
	name=$1 what=$2
	shift 2
	n=$(wc -l <"$w/$name.err")
	if [ "$TRY_RC" -gt 0 ] && [ "$TRY_RC" -lt 128 ]; then ok "$what: refused, status $TRY_RC"; else fail "$what: status $TRY_RC, expected an error status"; fi
	if [ "$n" -ge 1 ] && [ "$n" -le 3 ]; then ok "$what: $n stderr line(s)"; else fail "$what: $n stderr lines, expected 1 to 3"; fi
	if grep -a -q -E 'RIG-L2|Linux version' "$w/$name.out"; then fail "$what: the guest started anyway"; fi
	for re in "$@"; do
		if grep -q -i -E "$re" "$w/$name.err"; then ok "$what: stderr says /$re/"; else fail "$what: stderr does not match /$re/"; fi
	done
}
# says NAME WHAT WANT-RC REGEX...: check-device's status and its output (stdout and stderr).
says() {
	name=$1 what=$2 want=$3
	shift 3
	expect_eq "$what: check-device status" "$TRY_RC" "$want"
	for re in "$@"; do
		if cat "$w/$name.out" "$w/$name.err" | grep -q -i -E "$re"; then ok "$what: says /$re/"; else fail "$what: output does not match /$re/"; fi
	done
}

# --- check-device -------------------------------------------------------------------------------
vfio_bind "$edu"
pci_bind "$nic" none || fail "unbinding $nic"
pci_bind "$nv" nvme || fail "binding $nv to nvme"
grp=$(pci_group "$edu")
try cd-bound "$KVMIO" check-device "$edu"
sed 's/^/  check-device: /' "$w/cd-bound.out"
says cd-bound "edu on vfio-pci" 0 'vfio-pci' "group[^0-9]*$grp([^0-9]|\$)"
try cd-short "$KVMIO" check-device "${edu#0000:}"
says cd-short "edu on vfio-pci, as BB:DD.F" 0 'vfio-pci'
try cd-none "$KVMIO" check-device "$nic"
sed 's/^/  check-device: /' "$w/cd-none.out" "$w/cd-none.err"
says cd-none "e1000e with no driver" 1 'vfio-pci' 'driver' 'group'
try cd-nvme "$KVMIO" check-device "$nv"
says cd-nvme "NVMe on nvme" 1 'nvme' 'vfio-pci'
if [ -n "$ghost" ]; then
	try cd-ghost "$KVMIO" check-device "$ghost"
	says cd-ghost "$ghost (no such device)" 1 "${ghost#0000:}"
fi
try cd-bad "$KVMIO" check-device 00:3g.0
says cd-bad "malformed BDF 00:3g.0" 2

# --- run --device vfio= ---------------------------------------------------------------------------
run_l2 run-none "$nic"
refused run-none "e1000e with no driver" 'vfio-pci' 'bind|driver_override|drivers_probe'
run_l2 run-nvme "$nv"
refused run-nvme "NVMe on nvme" 'vfio-pci' 'nvme' 'bind|driver_override|drivers_probe|unbind'
expect_eq "NVMe still on L1's nvme driver after kvmio refused it" "$(pci_driver "$nv")" nvme
if [ -n "$ghost" ]; then
	run_l2 run-ghost "$ghost"
	refused run-ghost "$ghost (no such device)" "${ghost#0000:}"
fi
for bad in 00:3g.0 0000:00:20.0 0000:00:03.8 ''; do
	run_l2 run-bad "$bad"
	expect_eq "--device vfio='$bad': usage error" "$TRY_RC" 2
done

# A device another kvmio holds.
kvmio_start --cpus 1 --memory 256M --device "vfio=$edu" -- rig.l2=none rig.action=hang
n=0
# holds PID: PID has /dev/vfio/$grp open.
holds() {
	for f in /proc/"$1"/fd/*; do [ "$(readlink "$f")" = "/dev/vfio/$grp" ] && return 0; done
	return 1
}
while [ $n -lt 200 ] && kill -0 "$VMM_PID" 2>/dev/null && ! holds "$VMM_PID"; do
	usleep 100000
	n=$((n + 1))
done
if holds "$VMM_PID"; then
	ok "the first kvmio holds /dev/vfio/$grp"
	run_l2 run-busy "$edu"
	refused run-busy "edu held by another kvmio" 'busy|in use|already|another'
	if kill -0 "$VMM_PID" 2>/dev/null; then ok "the first kvmio still runs"; else fail "the first kvmio ended"; fi
else
	fail "the first kvmio never opened /dev/vfio/$grp"
fi
vmm_kill TERM
expect_rc 143

# VFIO modules unloaded: first the type1 IOMMU backend only, then all of VFIO (rmmod: busybox's
# modprobe -r also tries the dependencies, and fails while vfio is in use).
loaded() { grep -q "^$1 " /proc/modules; }
vfio_mods() { grep '^vfio' /proc/modules | cut -d' ' -f1 | tr '\n' ' '; }
rmmod vfio_iommu_type1
if ! loaded vfio_iommu_type1; then
	run_l2 run-notype1 "$edu"
	refused run-notype1 "vfio_iommu_type1 not loaded" 'vfio_iommu_type1'
	try cd-notype1 "$KVMIO" check-device "$edu"
	info "check-device with vfio_iommu_type1 unloaded: status $TRY_RC, $(tail -n 1 "$w/cd-notype1.out")"
else
	fail "rmmod vfio_iommu_type1 failed; loaded: $(vfio_mods)"
fi
for m in vfio_pci vfio_pci_core vfio_virqfd vfio; do
	loaded "$m" && rmmod "$m"
done
if [ -z "$(vfio_mods)" ] && [ ! -e /dev/vfio/vfio ]; then
	ok "VFIO modules unloaded (edu now on $(pci_driver "$edu"))"
	run_l2 run-novfio "$edu"
	refused run-novfio "VFIO modules not loaded" 'modprobe|load' 'vfio'
	try cd-novfio "$KVMIO" check-device "$edu"
	says cd-novfio "edu with VFIO unloaded" 1 'vfio'
else
	fail "unloading the VFIO modules failed; loaded: $(vfio_mods)"
fi

# Back as it was; and the edu device can be assigned again.
pci_restore
pci_save "$edu"
vfio_bind "$edu"
try cd-again "$KVMIO" check-device "$edu"
says cd-again "edu on vfio-pci after the modules came back" 0 'vfio-pci'
