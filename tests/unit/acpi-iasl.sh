#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# acpi-iasl.sh ACPI_DUMP - check kvmio's ACPI tables with acpica-tools, for
# 1, 4 and 255 vCPUs (ACPI_DUMP is build/tests/unit/acpi_dump):
#
#  1. `iasl -d` disassembles every table (FADT, MADT, DSDT, FACS, XSDT, RSDT)
#     with no error or warning and no "Incorrect checksum"/"Invalid" remark;
#  2. the disassembly recompiles with 0 errors, warnings and remarks, to the
#     same bytes, header checksum and compiler ID aside: the DSDT's AML is
#     exactly what iasl itself emits for the disassembled ASL;
#  3. acpiexec loads our FADT and DSDT through ACPICA's own table code (the
#     code Linux runs: tbfadt.c warns about FADT inconsistencies) with no
#     warning or error, evaluates \_S5 to {S5_TYP, S5_TYP, 0, 0} and parses
#     every device's _CRS with ACPICA's resource manager.
#
# Prints one line per step and exits 1 on the first failure, showing the
# offending tool output.
set -u

dump=${1:?usage: acpi-iasl.sh ACPI_DUMP}
s5_typ=5	# ACPI_S5_TYP in src/vm.h

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

for ncpus in 1 4 255; do
	d=$tmp/$ncpus
	mkdir -p "$d/re"
	"$dump" "$d" $ncpus || fail "acpi_dump $ncpus"

	for t in facp apic dsdt facs xsdt rsdt; do
		log=$d/$t.log
		(cd "$d" && iasl -d $t.dat) >"$log" 2>&1 || fail "iasl -d $t ($ncpus cpus)" "$log"
		cat "$d/$t.dsl" >>"$log"
		bad_lines "$log" >/dev/null && fail "iasl -d $t ($ncpus cpus)" "$log"

		(cd "$d" && iasl -p re/$t $t.dsl) >"$log" 2>&1 || fail "iasl $t.dsl ($ncpus cpus)" "$log"
		grep -q '0 Errors, 0 Warnings, 0 Remarks' "$log" || fail "iasl $t.dsl ($ncpus cpus)" "$log"
		if [ $t = facs ]; then
			cmp "$d/$t.dat" "$d/re/$t.aml" >"$log" 2>&1 ||
				fail "$t differs from iasl's recompilation" "$log"
		else
			# Skip the checksum (byte 9) and the compiler ID and revision (28-35).
			{ cmp -n 9 "$d/$t.dat" "$d/re/$t.aml" &&
			  cmp -i 10 -n 18 "$d/$t.dat" "$d/re/$t.aml" &&
			  cmp -i 36 "$d/$t.dat" "$d/re/$t.aml"; } >"$log" 2>&1 ||
				fail "$t differs from iasl's recompilation ($ncpus cpus)" "$log"
		fi
	done
	echo "acpi-iasl: $ncpus cpus: iasl disassembles and recompiles every table identically"

	log=$d/acpiexec.log
	(cd "$d" && acpiexec -b 'evaluate \_S5; resources \_SB.COM1; resources \_SB.RTC;
		resources \_SB.KBD; resources \_SB.MOU' facp.dat dsdt.dat apic.dat) >"$log" 2>&1 ||
		fail "acpiexec ($ncpus cpus)" "$log"
	bad_lines "$log" >/dev/null && fail "acpiexec ($ncpus cpus)" "$log"
	typ=$(printf '%016X' $s5_typ)
	tr -d '\n' <"$log" | grep -q "Contains 4 Elements: *\[Integer\] = $typ *\[Integer\] = $typ *\[Integer\] = 0000000000000000 *\[Integer\] = 0000000000000000" ||
		fail "acpiexec: \\_S5 is not {$s5_typ, $s5_typ, 0, 0}" "$log"
	[ "$(grep -c 'EndTag Resource' "$log")" -ge 4 ] ||
		fail "acpiexec: not every _CRS parsed" "$log"
	echo "acpi-iasl: $ncpus cpus: acpiexec loads FADT+DSDT+MADT cleanly, \\_S5 and every _CRS evaluate"
done
echo "acpi-iasl: ok"
