# SPDX-License-Identifier: Apache-2.0
# kvmio build. `make` builds build/kvmio; `make check` runs every test.

# CFLAGS, CPPFLAGS and LDFLAGS are the user's (make CFLAGS=... keeps what the build needs);
# B is the build directory, one per flavour (check-asan uses build/asan and build/tsan).
CC      ?= cc
CFLAGS  ?= -O2 -g
KVMIO_CFLAGS := -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-parameter \
           -Werror=implicit-function-declaration -Werror=incompatible-pointer-types -D_GNU_SOURCE -Isrc -MMD -MP
LDLIBS  += -lpthread -luring -ljansson -lseccomp -lcap-ng -ldl

B := build

# Everything but main.c goes into a static library that the unit tests link.
LIB_SRCS  := $(filter-out src/main.c,$(wildcard src/*.c src/*/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(B)/%.o)
MAIN_OBJ  := $(B)/src/main.o

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_TOOLS := $(B)/tests/unit/acpi_dump
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/unit/%)

all: $(B)/kvmio

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KVMIO_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/libkvmio.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/kvmio: $(MAIN_OBJ) $(B)/libkvmio.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Device tests get tests/unit/fake_vm.c's stand-ins for vm.c, linked before
# the library so that vm.o is not pulled in.
FAKE_VM_TESTS := i8042 pio_storm pm rtc uart8250 pci msix msi vpci vfio_dev pcihp vfio_regions
$(FAKE_VM_TESTS:%=$(B)/tests/unit/test_%): $(B)/tests/unit/fake_vm.o

# virtio device-model tests get tests/unit/fake_virtio.c's transport stand-ins
# (and the fake VM), so virtio/pci.o is not pulled in.
FAKE_VIRTIO_TESTS := $(patsubst tests/unit/test_%.c,%,$(wildcard tests/unit/test_virtio_*.c))
$(FAKE_VIRTIO_TESTS:%=$(B)/tests/unit/test_%): $(B)/tests/unit/fake_virtio.o $(B)/tests/unit/fake_vm.o

$(B)/tests/unit/%: tests/unit/%.c $(B)/libkvmio.a
	@mkdir -p $(dir $@)
	$(CC) $(KVMIO_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(filter %.o,$^) \
		$(B)/libkvmio.a $(LDLIBS) -lcmocka

-include tests/guests/guests.mk
-include tests/rig/rig.mk
-include tests/fuzz/fuzz.mk

unit: $(UNIT_BINS)

check-unit: $(UNIT_BINS) $(B)/kvmio
	@tests/unit/run.sh $(UNIT_BINS) tests/unit/cli.sh

# The unit tests under sanitizers, each flavour in its own build directory:
# ASan+UBSan for all but test_sandbox (ASan's own threads and exit-time leak
# check make calls no filter lists), TSan for the ones with threads.
SAN_FLAGS  := -O1 -g -fno-omit-frame-pointer
ASAN_FLAGS := $(SAN_FLAGS) -fsanitize=address,undefined -fno-sanitize-recover=undefined
TSAN_FLAGS := $(SAN_FLAGS) -fsanitize=thread
ASAN_TESTS := $(filter-out test_sandbox,$(UNIT_SRCS:tests/unit/%.c=%))
TSAN_TESTS := test_vpci test_virtio_blk test_virtio_net test_dev test_loop test_api test_pci \
              test_pcihp test_vfio_dev test_bus
check-asan:
	@mkdir -p $(B)
	@$(MAKE) --no-print-directory B=$(B)/asan CFLAGS="$(ASAN_FLAGS)" LDFLAGS="$(ASAN_FLAGS)" \
		$(ASAN_TESTS:%=$(B)/asan/tests/unit/%) >$(B)/asan.log 2>&1 || { tail -n 30 $(B)/asan.log; exit 1; }
	@UNIT_LABEL="ASan+UBSan" UBSAN_OPTIONS=print_stacktrace=1 \
		tests/unit/run.sh $(ASAN_TESTS:%=$(B)/asan/tests/unit/%)
	@$(MAKE) --no-print-directory B=$(B)/tsan CFLAGS="$(TSAN_FLAGS)" LDFLAGS="$(TSAN_FLAGS)" \
		$(TSAN_TESTS:%=$(B)/tsan/tests/unit/%) >$(B)/tsan.log 2>&1 || { tail -n 30 $(B)/tsan.log; exit 1; }
	@UNIT_LABEL=TSan TSAN_OPTIONS=halt_on_error=1 tests/unit/run.sh $(TSAN_TESTS:%=$(B)/tsan/tests/unit/%)

# ACPI tables through acpica-tools: iasl disassembles and recompiles each,
# acpiexec loads them as Linux's ACPICA would.
check-acpi: $(B)/tests/unit/acpi_dump
	@tests/unit/acpi-iasl.sh $<

check: all check-unit check-acpi check-guests

clean:
	rm -rf $(B)

# make install [PREFIX=/usr/local] [DESTDIR=staging]: the binary and its man page.
PREFIX  ?= /usr/local
install: $(B)/kvmio
	install -D -m 0755 $(B)/kvmio $(DESTDIR)$(PREFIX)/bin/kvmio
	install -D -m 0644 docs/kvmio.1 $(DESTDIR)$(PREFIX)/share/man/man1/kvmio.1

.PHONY: all unit check check-unit check-asan check-acpi clean install
-include $(shell find $(B) -name '*.d' 2>/dev/null)

# The README's first command: Linux with a busybox shell under kvmio, directly
# on hardware KVM, else inside the rig (tests/demo/demo.sh says which and why;
# a tiny guest tells whether /dev/kvm can run a VM at all).
demo: $(B)/kvmio $(GUEST_OUT)/uart.bzImage
	@tests/demo/demo.sh

.PHONY: demo
