# SPDX-License-Identifier: Apache-2.0
# Tier-2 tests: tiny freestanding guests (bzImages) run under build/kvmio on
# /dev/kvm. Included by the top-level Makefile.
#   make guests         build $(B)/guests/*.bzImage
#   make check-guests   build kvmio and the guests, run tests/guests/run.sh: on this
#                       host's /dev/kvm if it runs a guest, else inside the rig's L1
#                       (tests/guests/check.sh); GUESTS_MODE=direct|rig forces one

GUEST_DIR   := tests/guests
GUEST_OUT   := $(B)/guests
GUEST_NAMES := early_crash uart rtc lapic_timer smp poweroff reset_i8042 reset_acpi triple_fault crash cpl3 \
               stdin echo pci vtd
# Built with the rest, run only by the rig's own scenarios (tests/rig/scenarios/vfio-*.sh): they
# need a device assigned with --device vfio=. run.sh does not run them.
GUEST_RIG_NAMES := vfio_edu vfio_p2p
GUEST_RIG_IMAGES := $(GUEST_RIG_NAMES:%=$(GUEST_OUT)/%.bzImage)
GUEST_NAMES += $(GUEST_RIG_NAMES)
# Built with the rest, run only by the benchmarks (bench/exits): they print numbers, not checks.
GUEST_BENCH_NAMES := exits
GUEST_NAMES += $(GUEST_BENCH_NAMES)

GUEST_CC      ?= $(CC)
GUEST_OBJCOPY ?= objcopy
# No SSE (CR4.OSFXSR is clear at entry), no red zone (interrupts share the
# stack), no PIC: linked at 0x100000 by guest.ld.
GUEST_CFLAGS  := -std=gnu11 -O2 -g -Wall -Wextra -ffreestanding -fno-pic -fno-pie \
                 -mno-red-zone -mgeneral-regs-only -fno-stack-protector \
                 -fno-asynchronous-unwind-tables -fcf-protection=none -MMD -MP
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none -Wl,--no-warn-rwx-segments \
                 -Wl,-z,noexecstack -T $(GUEST_DIR)/guest.ld

GUEST_LIB_OBJS := $(addprefix $(GUEST_OUT)/,header.o entry.o boot32.o isr.o lib.o)
GUEST_IMAGES   := $(GUEST_NAMES:%=$(GUEST_OUT)/%.bzImage)
GUEST_ELFS     := $(GUEST_NAMES:%=$(GUEST_OUT)/%.elf)

# Guests needing more than the library.
$(GUEST_OUT)/smp.elf: $(GUEST_OUT)/trampoline.o
$(GUEST_OUT)/cpl3.elf $(GUEST_OUT)/triple_fault.elf: $(GUEST_OUT)/user.o $(GUEST_OUT)/user_entry.o
$(GUEST_OUT)/pci.elf: $(GUEST_OUT)/pci_virtio.o $(GUEST_OUT)/pci_fixture.o $(GUEST_OUT)/pci_lib.o \
                      $(GUEST_OUT)/virtio_lib.o
$(GUEST_OUT)/vfio_edu.elf $(GUEST_OUT)/vfio_p2p.elf: $(GUEST_OUT)/pci_lib.o
$(GUEST_OUT)/vtd.elf: $(GUEST_OUT)/pci_lib.o $(GUEST_OUT)/virtio_lib.o
$(GUEST_OUT)/exits.elf: $(GUEST_OUT)/pci_lib.o $(GUEST_OUT)/virtio_lib.o

$(GUEST_OUT)/%.o: $(GUEST_DIR)/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_OUT)/%.o: $(GUEST_DIR)/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_OUT)/%.elf: $(GUEST_OUT)/%.o $(GUEST_LIB_OBJS) $(GUEST_DIR)/guest.ld
	$(GUEST_CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $(filter %.o,$^)

# No library: it must fault before anything could load an IDT.
$(GUEST_OUT)/early_crash.elf: $(GUEST_OUT)/early_crash.o $(GUEST_OUT)/header.o $(GUEST_DIR)/guest.ld
	$(GUEST_CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $(filter %.o,$^)

# Setup sectors, then the protected-mode part (from 0x100000): a bzImage.
$(GUEST_OUT)/%.bzImage: $(GUEST_OUT)/%.elf
	$(GUEST_OBJCOPY) -O binary -j .setup $< $@.setup
	$(GUEST_OBJCOPY) -O binary -R .setup $< $@.payload
	cat $@.setup $@.payload > $@
	@rm -f $@.setup $@.payload

.SECONDARY: $(GUEST_ELFS) $(GUEST_NAMES:%=$(GUEST_OUT)/%.o) $(GUEST_LIB_OBJS) \
            $(GUEST_OUT)/trampoline.o $(GUEST_OUT)/user.o $(GUEST_OUT)/user_entry.o \
            $(GUEST_OUT)/pci_virtio.o $(GUEST_OUT)/pci_fixture.o $(GUEST_OUT)/pci_lib.o \
            $(GUEST_OUT)/virtio_lib.o

guests: $(GUEST_IMAGES)

# kvmio with test hooks (sandbox.c: a worker that breaks its filter on request), in its own
# build directory, for the guests' seccomp-kill case.
$(B)/hooks/kvmio: FORCE
	@$(MAKE) --no-print-directory B=$(B)/hooks CPPFLAGS="$(CPPFLAGS) -DKVMIO_TEST_HOOKS" $@ >/dev/null

check-guests: $(B)/kvmio $(B)/hooks/kvmio $(GUEST_IMAGES)
	@KVMIO_HOOKS=$(B)/hooks/kvmio $(GUEST_DIR)/check.sh $(B)/kvmio $(GUEST_OUT)

FORCE:
.PHONY: guests check-guests FORCE
