# rig-timeout: 300
# virtio-devices with kvmio dropping root after setup (--user 65534:65534, docs/security.md): the
# same disks, NICs, rng and console, the same data checks, run by a kvmio that, once the images,
# taps and /dev/kvm are open, runs as nobody with no capabilities and its seccomp filters.
VD_FLAGS="--user 65534:65534 -v"
. /rig/scenarios/virtio-devices.sh
expect_stderr 'running as 65534:65534, no capabilities'
