# Sourced by the L2 /init (rig.l2=vfio-e1000e; L1 side: scenarios/vfio-e1000e.sh): the assigned
# e1000e under Debian's e1000e driver: carrier, DHCP and pings to QEMU's user-network gateway,
# the expansion ROM; then the PCI functions, their interrupts and the kernel log.
. /rig/l2/vfio-lib.sh
l2_e1000e full
l2_report 'e1000e|eth[0-9]'
