# rig-timeout: 240
# Diagnostic, not a benchmark (docs/benchmarks.md): how L1's KVM maps each VMM's guest RAM.
# kvmio, then QEMU microvm, boot the L2 with the same vCPUs and memory and stay at init; then
# this scenario reads the RAM mapping (start modulo 2 MiB, L1's transparent huge pages) and KVM's
# counts of 4 KiB / 2 MiB nested mappings (debugfs pages_4k, pages_2m). KVM maps 2 MiB guest pages
# only where guest-physical and host-virtual addresses agree modulo 2 MiB.
#   tests/rig/rig.sh --kvmio build/kvmio --dir bench/rig hugepages
# Prints "RIG-DATA hugepages vmm=NAME ..."; fails if QEMU's guest gets 2 MiB mappings and
# kvmio's none.
. /rig/ext/lib/bench.sh

# ram_report NAME PID: the VMM's largest mapping of at least BENCH_MEM (its guest RAM).
ram_report() {
	want=$(( $(size_kb "$BENCH_MEM") * 1024 ))
	best= best_sz=0
	while read -r range _; do
		sz=$(( 0x${range#*-} - 0x${range%-*} ))
		if [ "$sz" -ge "$want" ] && [ "$sz" -gt "$best_sz" ]; then best=$range best_sz=$sz; fi
	done <"/proc/$2/maps"
	thp=$(awk -v r="$best" '$1 == r { f = 1; next } f && /^[0-9a-f]+-/ { f = 0 } f && /^AnonHugePages:/ { print $2 }' "/proc/$2/smaps")
	d=$(ls -d "/sys/kernel/debug/kvm/$2"-* 2>/dev/null | head -n 1)
	p4k=$(cat "$d/pages_4k" 2>/dev/null) p2m=$(cat "$d/pages_2m" 2>/dev/null)
	mod=NA
	[ -n "$best" ] && mod=$(( 0x${best%-*} % 2097152 / 1024 ))
	data "hugepages vmm=$1 ram=${best:-none} start_mod_2m_kb=$mod" \
		"anon_huge_kb=${thp:-NA} kvm_pages_4k=${p4k:-NA} kvm_pages_2m=${p2m:-NA}"
	eval "p2m_$1=\${p2m:-0}"
}

info "L1 transparent_hugepage: $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
kvmio_cmd -- rig.l2=none rig.action=hang
# shellcheck disable=SC2086
vmm_start $CMD $APPEND_OPT "$APPEND"
if wait_serial 'RIG-L2 init' 100; then ram_report kvmio "$VMM_PID"; else fail "kvmio: guest never reached init"; fi
vmm_kill KILL

qemu_cmd microvm,x-option-roms=off,isa-serial=on,rtc=on -- rig.l2=none rig.action=hang
# shellcheck disable=SC2086
vmm_start $CMD $APPEND_OPT "$APPEND"
if wait_serial 'RIG-L2 init' 100; then ram_report microvm "$VMM_PID"; else fail "microvm: guest never reached init"; fi
vmm_kill KILL

if [ "${p2m_microvm:-0}" -gt 0 ] && [ "${p2m_kvmio:-0}" -eq 0 ]; then
	fail "kvmio's guest RAM has no 2 MiB nested mappings (QEMU's: $p2m_microvm)"
else
	ok "2 MiB nested mappings: kvmio ${p2m_kvmio:-?}, microvm ${p2m_microvm:-?}"
fi
