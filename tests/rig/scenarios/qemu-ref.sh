# Reference: Debian's QEMU (q35, KVM in L1) boots the same L2 kernel and initramfs that kvmio
# gets, with 3 vCPUs and 777M, and passes the same checks. Keeps the rig honest; the peer for
# benchmarks.
qemu_boot 3 777M rig.l2=report
expect_rc 0
expect_init
expect_cpus 3
expect_mem 777M
expect_dmesg_clean
expect_action poweroff
