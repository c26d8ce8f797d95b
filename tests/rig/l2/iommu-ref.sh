# Sourced by the L2 /init (rig.l2=iommu-ref; L1 side: scenarios/qemu-ref-iommu.sh): a disk and
# the rng behind an Intel IOMMU, under whichever VMM: what intel-iommu made of the unit, the
# groups, the disk's first MiB, the rng, and the kernel log's DMAR and virtio lines.
for m in virtio_pci virtio_blk virtio-rng; do
	modprobe "$m" || echo "RIG-L2 error: modprobe $m failed"
done
n=0
while [ ! -e /dev/vda ] && [ $n -lt 50 ]; do usleep 200000; n=$((n + 1)); done
echo "RIG-L2 iommu groups=$(ls /sys/kernel/iommu_groups 2>/dev/null | wc -l) functions=$(ls /sys/bus/pci/devices | wc -l) grouped=$(ls -d /sys/bus/pci/devices/*/iommu_group 2>/dev/null | wc -l) dmar_on=$(dmesg | grep -c 'Intel(R) Virtualization Technology for Directed I/O') dma_faults=$(dmesg | grep -c 'DMAR: \[DMA')"
echo "RIG-L2 blk sha=$(dd if=/dev/vda bs=65536 count=16 2>/dev/null | sha256sum | cut -c1-64)"
echo "RIG-L2 rng current=$(cat /sys/class/misc/hw_random/rng_current) bytes=$(head -c 4096 /dev/hwrng | wc -c)"
dmesg -r | awk '/^<[0-4]>/ || tolower($0) ~ /acpi|apic|serial|ttys|8250|uart|pci|virtio|vd[a-z]|dmar|iommu/' |
	sed 's/^/RIG-L2 dmesg /'
echo "RIG-L2 report-done"
