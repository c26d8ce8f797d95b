# `reboot -f` in the guest ends kvmio with status 0 after one "reboot" line on stderr.
kvmio_boot --cpus 1 --memory 256M -- rig.l2=none rig.action=reboot
expect_init
expect_action reboot
expect_rc 0
expect_stderr reboot 1
