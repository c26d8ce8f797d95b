# Sourced by the L2 /init (rig.l2=report): report what the guest sees.
echo "RIG-L2 nproc=$(nproc)"
echo "RIG-L2 cpus_online=$(cat /sys/devices/system/cpu/online)"
echo "RIG-L2 memtotal_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
# RAM the VMM described (e820 via /proc/iomem top-level "System RAM" ranges), in kB.
ram=0
while IFS= read -r line; do
	case "$line" in
	" "*) ;;
	*" : System RAM")
		range=${line%% *}
		ram=$((ram + 0x${range#*-} - 0x${range%-*} + 1)) ;;
	esac
done </proc/iomem
echo "RIG-L2 ram_kb=$((ram / 1024))"
# Kernel log lines for the scenario's check (tests/rig/l1/lib.sh: expect_dmesg_clean):
# every warning-or-worse line (levels 0-4), plus every line about ACPI, (IO)APIC or the serial port.
dmesg -r | awk '/^<[0-4]>/ || tolower($0) ~ /acpi|apic|serial|ttys|8250|uart/' | sed 's/^/RIG-L2 dmesg /'
echo "RIG-L2 report-done"
