# Sourced by the L2 /init (rig.l2=vmlinux, tests/rig/scenarios/kvmio-boot-vmlinux.sh): what
# report.sh says, then where the kernel runs: _text's virtual address (/proc/kallsyms, real
# addresses for root) and the physical start of "Kernel code" in /proc/iomem.
. /rig/l2/report.sh
echo "RIG-L2 text=$(awk '$3 == "_text" { print $1; exit }' /proc/kallsyms)"
echo "RIG-L2 kernel_code=$(awk -F'[- :]+' '/Kernel code/ { print $2; exit }' /proc/iomem)"
