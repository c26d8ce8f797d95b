# `poweroff -f` in the guest (ACPI S5) ends kvmio with status 0, and is not reported as a reboot.
kvmio_boot --cpus 1 --memory 256M -- rig.l2=none rig.action=poweroff
expect_init
expect_action poweroff
expect_rc 0
expect_no_stderr reboot
