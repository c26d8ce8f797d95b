# Sourced by the L2 /init (rig.l2=vfio-nvme; L1 side: scenarios/vfio-nvme.sh): the assigned NVMe
# under Debian's nvme driver: the whole namespace read, two writes read back; then the PCI
# functions, their interrupts and the kernel log.
. /rig/l2/vfio-lib.sh
l2_nvme full
l2_report 'nvme'
