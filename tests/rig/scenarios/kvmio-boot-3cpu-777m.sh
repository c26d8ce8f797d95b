# kvmio with 3 vCPUs and a memory size that is not a power of two.
kvmio_boot --cpus 3 --memory 777M -- rig.l2=report
expect_rc 0
expect_init
expect_cpus 3
expect_mem 777M
expect_dmesg_clean
expect_action poweroff
