# SPDX-License-Identifier: Apache-2.0
# Fuzz targets (clang + libFuzzer), on demand and not part of `make check`.
# Included by the top-level Makefile; also works alone: make -f tests/fuzz/fuzz.mk fuzz-pio
#   make fuzz-pio [FUZZ_TIME=60] [FUZZ_ARGS='-jobs=4 -workers=4']
#                             fuzz legacy port I/O (hostile-guest.md case 19) for FUZZ_TIME
#                             seconds; new corpus entries go to $(B)/fuzz/corpus/pio,
#                             crashing inputs to $(B)/fuzz/artifacts/
#   make fuzz-pio-regress     replay the seed corpus and tests/fuzz/crashes/pio once
# Needs clang and libclang-rt-14-dev (Debian 12).

B          ?= build
FUZZ_CC    ?= clang
FUZZ_TIME  ?= 60
FUZZ_ARGS  ?=
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -std=gnu11 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Wshadow \
               -Wno-unused-parameter -Werror=implicit-function-declaration \
               -D_GNU_SOURCE -Isrc -MMD -MP $(FUZZ_SAN)
FUZZ_OUT   := $(B)/fuzz

# Only the objects behind port I/O: not vm.c, whose vm_irq_line and
# vm_request_stop tests/unit/fake_vm.c replaces with recording stand-ins.
FUZZ_PIO_SRCS := src/bus.c src/util.c src/hw/uart8250.c src/hw/rtc.c src/hw/i8042.c \
                 src/hw/pm.c src/hw/ports.c tests/unit/fake_vm.c
FUZZ_PIO_OBJS := $(FUZZ_PIO_SRCS:%.c=$(FUZZ_OUT)/%.o) $(FUZZ_OUT)/tests/fuzz/fuzz_pio.o

$(FUZZ_OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_OUT)/fuzz_pio: $(FUZZ_PIO_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -lpthread

# Runs in $(FUZZ_OUT) so that -jobs leaves its fuzz-N.log files there.
fuzz-pio: $(FUZZ_OUT)/fuzz_pio
	@mkdir -p $(FUZZ_OUT)/corpus/pio $(FUZZ_OUT)/artifacts
	cd $(FUZZ_OUT) && ./fuzz_pio -max_total_time=$(FUZZ_TIME) -timeout=10 -malloc_limit_mb=256 \
	   -print_final_stats=1 -artifact_prefix=artifacts/ $(FUZZ_ARGS) \
	   corpus/pio $(abspath tests/fuzz/corpus/pio)

fuzz-pio-regress: $(FUZZ_OUT)/fuzz_pio
	$< $(wildcard tests/fuzz/corpus/pio/* tests/fuzz/crashes/pio/*)

.PHONY: fuzz-pio fuzz-pio-regress
-include $(shell find $(FUZZ_OUT) -name '*.d' 2>/dev/null)
