# SPDX-License-Identifier: Apache-2.0
# The rig (tests/rig/README.md): real Linux guests under kvmio, inside QEMU TCG with nested KVM.
# Included from the top-level Makefile.
#   make check-rig                     every scenario (needs build/kvmio and the tiny guests the
#                                      rig runs, build/guests/vfio_edu.bzImage and vfio_p2p.bzImage)
#   make check-rig RIG_ARGS=qemu-ref   selected scenarios
#   make check-rig-ref                 only the QEMU reference scenario (no kvmio needed)

RIG_ARGS ?=

# Programs for L2, static (its root is busybox alone); rig.sh adds $(B)/rig/l2's tree to L2's root.
RIG_L2_BINS := $(B)/rig/l2/bin/vfio-user

$(B)/rig/l2/bin/%: tests/rig/l2/%.c
	@mkdir -p $(dir $@)
	$(CC) -static -O2 -Wall -Wextra -o $@ $<

check-rig: build/kvmio $(GUEST_RIG_IMAGES) $(RIG_L2_BINS)
	tests/rig/rig.sh --kvmio build/kvmio $(RIG_ARGS)

check-rig-ref:
	tests/rig/rig.sh qemu-ref

.PHONY: check-rig check-rig-ref
