# SPDX-License-Identifier: Apache-2.0
# The rig (tests/rig/README.md): real Linux guests under kvmio, inside QEMU TCG with nested KVM.
# Included from the top-level Makefile.
#   make check-rig                     every scenario (needs build/kvmio and the tiny guests the
#                                      rig runs, build/guests/vfio_edu.bzImage)
#   make check-rig RIG_ARGS=qemu-ref   selected scenarios
#   make check-rig-ref                 only the QEMU reference scenario (no kvmio needed)

RIG_ARGS ?=

check-rig: build/kvmio $(GUEST_RIG_IMAGES)
	tests/rig/rig.sh --kvmio build/kvmio $(RIG_ARGS)

check-rig-ref:
	tests/rig/rig.sh qemu-ref

.PHONY: check-rig check-rig-ref
