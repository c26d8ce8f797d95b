# kvmio boots Debian's kernel with the L2 initramfs to init with 1 vCPU; the guest reports
# what it sees and powers off.
kvmio_boot --cpus 1 --memory 512M -- rig.l2=report
expect_rc 0
expect_init
expect_cpus 1
expect_mem 512M
expect_dmesg_clean
expect_action poweroff
