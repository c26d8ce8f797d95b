# Sourced by the L2 /init (rig.l2=vfio-two; L1 side: scenarios/vfio-two.sh): the NVMe and the
# e1000e assigned to one guest, each through a short version of its own scenario's checks.
. /rig/l2/vfio-lib.sh
l2_nvme short
l2_e1000e short
l2_report 'nvme|e1000e|eth[0-9]'
