#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# acpi-iasl.sh ACPI_DUMP - check kvmio's ACPI tables with acpica-tools, for
# 1, 4 and 255 vCPUs and each PCI variant of acpi_dump (ACPI_DUMP is
# build/tests/unit/acpi_dump):
#
#  1. `iasl -d` disassembles every table (FADT, MADT, DSDT, FACS, XSDT, RSDT,
#     MCFG) with no error or warning and no "Incorrect checksum"/"Invalid"
#     remark;
#  2. the disassembly recompiles with 0 errors, warnings and remarks, to the
#     same bytes, header checksum and compiler ID aside: the DSDT's AML is
#     exactly what iasl itself emits for the disassembled ASL;
#  3. acpiexec loads our FADT, DSDT, MADT and MCFG through ACPICA's own table
#     code (the code Linux runs: tbfadt.c warns about FADT inconsistencies)
#     with no warning or error, evaluates \_S5 to {S5_TYP, S5_TYP, 0, 0} and
#     parses every device's _CRS with ACPICA's resource manager;
#  4. with PCI, acpiexec converts \_SB.PCI0._PRT as Linux does
#     (AcpiGetIrqRoutingTable) and finds the swizzle of src/boot/acpi.h for
#     every slot and pin, and _OSC answers a Linux-like query by granting no
#     control, and flags a foreign UUID and an unknown revision.
#
# Prints one line per step and exits 1 on the first failure, showing the
# offending tool output.
set -u

dump=${1:?usage: acpi-iasl.sh ACPI_DUMP}
s5_typ=5	# ACPI_S5_TYP in src/vm.h
intx_gsi=16	# PCI_INTX_GSI_BASE in src/vm.h
# The PCI host bridge _OSC UUID (PCI Firmware spec 4.5.1) as the Buffer ToUUID makes.
osc_uuid='(5B 4D DB 33 F7 1F 1C 40 96 57 74 41 C0 3D D7 66)'

for tool in iasl acpiexec; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "acpi-iasl: $tool not found (package acpica-tools)"
		exit 1
	fi
done

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "acpi-iasl: FAIL: $1"
	[ -f "${2:-}" ] && sed 's/^/    /' "$2"
	exit 1
}

# Tool output lines that mean trouble. acpiexec's built-in interface tests
# ("Unexpected ... (aetests-NNN)") poke registers and GPEs a real FADT need
# not have (PM2_CNT, GPE blocks 1+); they are not about our tables.
bad_lines() {
	grep -E 'Error|Warning|Exception|Incorrect|Invalid|failed: AE_' "$1" |
		grep -v -e '(aetests-' -e 'AcpiSetCurrentResources failed: AE_NOT_FOUND' \
			-e '0 Errors, 0 Warnings'
}

# _PRT as acpiexec prints it: one "ADDRESS PIN SOURCE_INDEX" line per entry, in hex.
prt_entries() {
	sed -n '/^Evaluating _PRT/,/^Evaluating _CRS/s/^ *\(Address\|Pin\|Source Index\) : \([0-9A-F]*\)$/\2/p' "$1" |
		paste -d' ' - - -
}

for run in 1:nopci 4:pci 255:mem64 4:wide 2:iommu; do
	ncpus=${run%%:*}
	pci=${run#*:}
	d=$tmp/$ncpus-$pci
	mkdir -p "$d/re"
	"$dump" "$d" $ncpus $pci || fail "acpi_dump $ncpus $pci"
	tables="facp apic dsdt facs xsdt rsdt"
	if [ $pci = nopci ]; then
		[ -e "$d/mcfg.dat" ] && fail "nopci: an MCFG"
	else
		tables="$tables mcfg"
	fi
	if [ $pci = iommu ]; then
		tables="$tables dmar"
	elif [ -e "$d/dmar.dat" ]; then
		fail "$pci: a DMAR table without --iommu"
	fi

	for t in $tables; do
		log=$d/$t.log
		(cd "$d" && iasl -d $t.dat) >"$log" 2>&1 || fail "iasl -d $t ($run)" "$log"
		cat "$d/$t.dsl" >>"$log"
		bad_lines "$log" >/dev/null && fail "iasl -d $t ($run)" "$log"

		(cd "$d" && iasl -p re/$t $t.dsl) >"$log" 2>&1 || fail "iasl $t.dsl ($run)" "$log"
		grep -q '0 Errors, 0 Warnings, 0 Remarks' "$log" || fail "iasl $t.dsl ($run)" "$log"
		if [ $t = facs ]; then
			cmp "$d/$t.dat" "$d/re/$t.aml" >"$log" 2>&1 ||
				fail "$t differs from iasl's recompilation" "$log"
		else
			# Skip the checksum (byte 9) and the compiler ID and revision (28-35).
			{ cmp -n 9 "$d/$t.dat" "$d/re/$t.aml" &&
			  cmp -i 10 -n 18 "$d/$t.dat" "$d/re/$t.aml" &&
			  cmp -i 36 "$d/$t.dat" "$d/re/$t.aml"; } >"$log" 2>&1 ||
				fail "$t differs from iasl's recompilation ($run)" "$log"
		fi
	done
	if [ $pci = nopci ]; then
		grep -q -e PNP0A0 -e PNP0C02 "$d/dsdt.dsl" && fail "nopci: PCI in the DSDT" "$d/dsdt.dsl"
	fi
	# The VT-d as iasl reads it: host address width 48, one DRHD for all PCI devices at the
	# register page, the IOAPIC (id 0) in its scope, no interrupt remapping; the page reserved.
	if [ $pci = iommu ]; then
		for want in 'Host Address Width : 2F' 'Subtable Type : 0000 \[Hardware Unit Definition\]' \
			'Register Base Address : 00000000FED90000' 'Device Scope Type : 03 \[IOAPIC Device\]' \
			'Enumeration ID : 00' 'PCI Bus Number : FF'; do
			grep -q "$want" "$d/dmar.dsl" || fail "DMAR: no '$want'" "$d/dmar.dsl"
		done
		# The table's flags (no INTR_REMAP), then the DRHD's (INCLUDE_PCI_ALL).
		flags=$(sed -n 's/.*\] *Flags : \([0-9A-F]*\).*/\1/p' "$d/dmar.dsl" | tr '\n' ' ')
		[ "$flags" = "00 01 " ] || fail "DMAR flags '$flags', want '00 01 '" "$d/dmar.dsl"
		grep -q '0xFED90000,         // Address Base' "$d/dsdt.dsl" ||
			fail "the VT-d register page is not in the PNP0C02 reservation" "$d/dsdt.dsl"
	fi
	echo "acpi-iasl: $ncpus cpus, $pci: iasl disassembles and recompiles every table identically"

	log=$d/acpiexec.log
	cmds='evaluate \_S5; resources \_SB.COM1; resources \_SB.RTC; resources \_SB.KBD;
		resources \_SB.MOU'
	files="facp.dat dsdt.dat apic.dat"
	ncrs=4
	if [ $pci != nopci ]; then
		# A query as Linux makes it (CDW1 bit 0), asking for native hotplug,
		# PME, AER and PCIe capability control (CDW3 0x1D); then a foreign
		# UUID and revision 2, without the query bit.
		cmds="$cmds; resources \_SB.PCI0; resources \_SB.MRES;
			evaluate \_SB.PCI0._OSC $osc_uuid 1 3 (01 00 00 00 1F 00 00 00 1D 00 00 00);
			evaluate \_SB.PCI0._OSC (00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF) 1 3 (00 00 00 00 1F 00 00 00 1D 00 00 00);
			evaluate \_SB.PCI0._OSC $osc_uuid 2 3 (00 00 00 00 1F 00 00 00 00 00 00 00)"
		files="$files mcfg.dat"
		ncrs=6
	fi
	(cd "$d" && acpiexec -b "$cmds" $files) >"$log" 2>&1 || fail "acpiexec ($run)" "$log"
	bad_lines "$log" >/dev/null && fail "acpiexec ($run)" "$log"
	typ=$(printf '%016X' $s5_typ)
	tr -d '\n' <"$log" | grep -q "Contains 4 Elements: *\[Integer\] = $typ *\[Integer\] = $typ *\[Integer\] = 0000000000000000 *\[Integer\] = 0000000000000000" ||
		fail "acpiexec: \\_S5 is not {$s5_typ, $s5_typ, 0, 0}" "$log"
	[ "$(grep -c 'EndTag Resource' "$log")" -ge $ncrs ] ||
		fail "acpiexec: not every _CRS parsed ($run)" "$log"
	if [ $pci = nopci ]; then
		echo "acpi-iasl: $ncpus cpus, $pci: acpiexec loads FADT+DSDT+MADT cleanly, \\_S5 and every _CRS evaluate"
		continue
	fi

	if [ $pci != pci ]; then
		grep -q '64-Bit QWORD Address Space Resource' "$log" ||
			fail "acpiexec: no 64-bit window ($run)" "$log"
	fi
	n=0
	prt_entries "$log" >"$d/prt"
	while read -r addr pin gsi; do
		slot=$((0x$addr >> 16))
		[ $((0x$addr & 0xFFFF)) -eq $((0xFFFF)) ] && [ $slot -eq $((n / 4)) ] &&
			[ $((0x$pin)) -eq $((n % 4)) ] &&
			[ $((0x$gsi)) -eq $((intx_gsi + (slot + n % 4) % 4)) ] ||
			fail "acpiexec: _PRT entry $n is $addr $pin $gsi ($run)" "$d/prt"
		n=$((n + 1))
	done <"$d/prt"
	[ $n -eq 128 ] || fail "acpiexec: _PRT has $n entries, not 32 slots x 4 pins ($run)" "$d/prt"
	for want in '11 00 00 00 1F 00 00 00 00 00 00 00' '04 00 00 00 1F 00 00 00 1D 00 00 00' \
		    '08 00 00 00 1F 00 00 00 00 00 00 00'; do
		grep -q "Length 0C = *0000: $want " "$log" ||
			fail "acpiexec: no _OSC result $want ($run)" "$log"
	done
	echo "acpi-iasl: $ncpus cpus, $pci: acpiexec loads FADT+DSDT+MADT+MCFG cleanly, \\_S5, _CRS, _PRT and _OSC evaluate"

	# ACPI PCI hotplug (src/hw/pcihp.h), the same AML in every PCI variant:
	# checked once. acpiexec backs the SystemIO region with memory: a read
	# gives what was written, else the fill value (-fv, 0 by default). With
	# zeros, PCNT and \_GPE._E01 run and notify nothing, each slot's _EJ0
	# writes 1 << slot to B0EJ, and _ADR and _SUN name the slot. With every
	# byte 0x82, PCIU and PCID both say slots 1, 7, 9, 15, 17, 23, 25 and 31:
	# PCNT sends each a Device Check (1) and an Eject Request (3), and
	# nothing else. acpiexec takes at most 1023 characters of commands: 8
	# slots a run.
	[ $pci = pci ] || continue
	want=
	got=
	ran=0
	for slots in '1 2 3 4 5 6 7 8' '9 10 11 12 13 14 15 16' '17 18 19 20 21 22 23 24' \
		     '25 26 27 28 29 30 31'; do
		log=$d/pcihp-${slots%% *}.log
		cmds='evaluate \_SB.PCI0.PCNT; evaluate \_GPE._E01'
		for s in $slots; do
			sxx=\\_SB.PCI0.$(printf 'S%02X' $s)
			cmds="$cmds; evaluate $sxx._EJ0 1; evaluate \_SB.PCI0.B0EJ; evaluate $sxx._ADR; evaluate $sxx._SUN"
			want="$want$(printf '%016X %016X %016X ' $((1 << s)) $((s << 16)) $s)"
		done
		(cd "$d" && acpiexec -b "$cmds" $files) >"$log" 2>&1 || fail "acpiexec: hotplug ($run)" "$log"
		bad_lines "$log" >/dev/null && fail "acpiexec: hotplug ($run)" "$log"
		grep -q -e 'failed with status' -e 'exceeded maximum' -e 'Received a .* Notify' "$log" &&
			fail "acpiexec: hotplug methods fail, or notify with nothing to report ($run)" "$log"
		ran=$((ran + $(grep -c '^No object was returned from evaluation of ' "$log")))
		got="$got$(sed -n 's/^ *\[Integer\] = \([0-9A-F]*\)$/\1/p' "$log" | tr '\n' ' ')"
	done
	[ $ran -eq $((4 * 2 + 31)) ] || fail "acpiexec: PCNT, _E01 and every _EJ0 do not all run ($run)" "$d/pcihp-1.log"
	[ "$got" = "$want" ] ||
		fail "acpiexec: B0EJ after _EJ0, _ADR, _SUN of S01-S1F are '$got', want '$want' ($run)"

	log=$d/pcihp-fill.log
	(cd "$d" && acpiexec -fv 0x82 -b 'evaluate \_SB.PCI0.PCNT' $files) >"$log" 2>&1 ||
		fail "acpiexec: PCNT with slots to report ($run)" "$log"
	bad_lines "$log" >/dev/null && fail "acpiexec: PCNT with slots to report ($run)" "$log"
	want=
	for s in 1 7 9 15 17 23 25 31; do
		want="$want$(printf 'S%02X 0x01 S%02X 0x03 ' $s $s)"
	done
	got=$(sed -n 's/.*Received a System Notify on \[\(S[0-9A-F][0-9A-F]\)_\].* Value \(0x0[0-9A-F]\).*/\1 \2/p' "$log" |
		LC_ALL=C sort | tr '\n' ' ')
	[ "$got" = "$want" ] || fail "acpiexec: PCNT notifies '$got', want '$want' ($run)" "$log"
	echo "acpi-iasl: $ncpus cpus, $pci: acpiexec runs PCNT, \\_GPE._E01 and every slot's _EJ0, _ADR and _SUN"
done
echo "acpi-iasl: ok"
