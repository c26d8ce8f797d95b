# rig-timeout: 360
# vfio-nvme with kvmio dropping root after setup (--user 65534:65534): the NVMe's group, device
# and guest RAM's DMA mapping are set up as root, then kvmio runs as nobody with no capabilities
# while L2's nvme driver reads and writes the namespace (MSI-X enabled after the drop, through
# the device fd kvmio holds); the same checks as vfio-nvme.
VFIO_FLAGS="--user 65534:65534 -v"
. /rig/scenarios/vfio-nvme.sh
expect_stderr 'running as 65534:65534, no capabilities'
