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

# The split virtqueue (hostile-guest.md cases 1-11): pure over guest_mem, so
# only queue.c, mem.c and util.c.
#   make fuzz-virtq [FUZZ_TIME=60]   corpus in $(B)/fuzz/corpus/virtq
#   make fuzz-virtq-regress          replay tests/fuzz/{corpus,crashes}/virtq once
FUZZ_VIRTQ_SRCS := src/virtio/queue.c src/iommu/dma.c src/mem.c src/util.c
FUZZ_VIRTQ_OBJS := $(FUZZ_VIRTQ_SRCS:%.c=$(FUZZ_OUT)/%.o) $(FUZZ_OUT)/tests/fuzz/fuzz_virtq.o

$(FUZZ_OUT)/fuzz_virtq: $(FUZZ_VIRTQ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -lpthread

fuzz-virtq: $(FUZZ_OUT)/fuzz_virtq
	@mkdir -p $(FUZZ_OUT)/corpus/virtq $(FUZZ_OUT)/artifacts
	cd $(FUZZ_OUT) && ./fuzz_virtq -max_total_time=$(FUZZ_TIME) -timeout=10 -malloc_limit_mb=256 \
	   -max_len=32768 -print_final_stats=1 -artifact_prefix=artifacts/ $(FUZZ_ARGS) \
	   corpus/virtq $(wildcard $(abspath tests/fuzz/corpus/virtq))

# With no files libFuzzer would fuzz forever instead of replaying: skip then.
FUZZ_VIRTQ_REPLAY := $(wildcard tests/fuzz/corpus/virtq/* tests/fuzz/crashes/virtq/*)
fuzz-virtq-regress: $(FUZZ_OUT)/fuzz_virtq
	$(if $(FUZZ_VIRTQ_REPLAY),$< $(FUZZ_VIRTQ_REPLAY),@echo "fuzz-virtq-regress: no inputs to replay")

.PHONY: fuzz-virtq fuzz-virtq-regress

# PCI config space, BARs, MSI-X and the virtio-pci transport (hostile-guest.md
# cases 11-15, 19, 20), with the real virtio-rng behind it:
#   make fuzz-pci [FUZZ_TIME=60] [FUZZ_ARGS=...]   corpus in $(B)/fuzz/corpus/pci
#   make fuzz-pci-regress                          replay tests/fuzz/crashes/pci once
FUZZ_PCI_SRCS := src/bus.c src/util.c src/mem.c src/pci/pci.c src/pci/cap.c src/pci/msi.c src/virtio/pci.c \
                 src/virtio/queue.c src/iommu/dma.c src/virtio/rng.c tests/unit/fake_vm.c
FUZZ_PCI_OBJS := $(FUZZ_PCI_SRCS:%.c=$(FUZZ_OUT)/%.o) $(FUZZ_OUT)/tests/fuzz/fuzz_pci.o

$(FUZZ_OUT)/fuzz_pci: $(FUZZ_PCI_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -lpthread

fuzz-pci: $(FUZZ_OUT)/fuzz_pci
	@mkdir -p $(FUZZ_OUT)/corpus/pci $(FUZZ_OUT)/artifacts
	cd $(FUZZ_OUT) && ./fuzz_pci -max_total_time=$(FUZZ_TIME) -timeout=10 -malloc_limit_mb=256 \
	   -print_final_stats=1 -artifact_prefix=artifacts/ $(FUZZ_ARGS) corpus/pci

fuzz-pci-regress: $(FUZZ_OUT)/fuzz_pci
	$(if $(wildcard tests/fuzz/crashes/pci/*),$< $(wildcard tests/fuzz/crashes/pci/*),@echo "fuzz-pci-regress: no reproducers in tests/fuzz/crashes/pci")

.PHONY: fuzz-pci fuzz-pci-regress

# virtio-rng and virtio-console behind the fake transport (hostile-guest.md
# cases 5, 6, 8, 14, 18): guest RAM, rings included, from the input. Seeds:
# tests/fuzz/mkseeds-virtio-rng-console.py.
#   make fuzz-virtio-rng-console [FUZZ_TIME=60]   corpus in $(B)/fuzz/corpus/virtio-rng-console
#   make fuzz-virtio-rng-console-regress         replay the seeds and crashes once
FUZZ_VRC_SRCS := src/bus.c src/util.c src/mem.c src/virtio/queue.c src/iommu/dma.c src/virtio/rng.c \
                 src/virtio/console.c tests/unit/fake_virtio.c tests/unit/fake_vm.c
FUZZ_VRC_OBJS := $(FUZZ_VRC_SRCS:%.c=$(FUZZ_OUT)/%.o) $(FUZZ_OUT)/tests/fuzz/fuzz_virtio_rng_console.o

# --wrap: the target sees every virtq_push a device makes (see the target).
$(FUZZ_OUT)/fuzz_virtio_rng_console: $(FUZZ_VRC_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Wl,--wrap=virtq_push -o $@ $^ -lpthread

fuzz-virtio-rng-console: $(FUZZ_OUT)/fuzz_virtio_rng_console
	@mkdir -p $(FUZZ_OUT)/corpus/virtio-rng-console $(FUZZ_OUT)/artifacts
	cd $(FUZZ_OUT) && ./fuzz_virtio_rng_console -max_total_time=$(FUZZ_TIME) -timeout=10 \
	   -malloc_limit_mb=256 -max_len=65536 -print_final_stats=1 -artifact_prefix=artifacts/ \
	   $(FUZZ_ARGS) corpus/virtio-rng-console $(abspath tests/fuzz/corpus/virtio-rng-console)

FUZZ_VRC_REPLAY := $(wildcard tests/fuzz/corpus/virtio-rng-console/* tests/fuzz/crashes/virtio-rng-console/*)
fuzz-virtio-rng-console-regress: $(FUZZ_OUT)/fuzz_virtio_rng_console
	$(if $(FUZZ_VRC_REPLAY),$< $(FUZZ_VRC_REPLAY),@echo "fuzz-virtio-rng-console-regress: no inputs to replay")

.PHONY: fuzz-virtio-rng-console fuzz-virtio-rng-console-regress

# The virtio-net device model (hostile-guest.md cases 14, 17, 18, and 1-11
# through the queue) over a socketpair "tap", with the fake transport:
#   make fuzz-virtio-net [FUZZ_TIME=60]   corpus in $(B)/fuzz/corpus/virtio-net
#   make fuzz-virtio-net-regress          replay tests/fuzz/{corpus,crashes}/virtio-net once
FUZZ_NET_SRCS := src/virtio/net.c src/virtio/queue.c src/iommu/dma.c src/mem.c src/util.c tests/unit/fake_virtio.c
FUZZ_NET_OBJS := $(FUZZ_NET_SRCS:%.c=$(FUZZ_OUT)/%.o) $(FUZZ_OUT)/tests/fuzz/fuzz_virtio_net.o

$(FUZZ_OUT)/fuzz_virtio_net: $(FUZZ_NET_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -lpthread

fuzz-virtio-net: $(FUZZ_OUT)/fuzz_virtio_net
	@mkdir -p $(FUZZ_OUT)/corpus/virtio-net $(FUZZ_OUT)/artifacts
	cd $(FUZZ_OUT) && ./fuzz_virtio_net -max_total_time=$(FUZZ_TIME) -timeout=10 -malloc_limit_mb=256 \
	   -max_len=4096 -print_final_stats=1 -artifact_prefix=artifacts/ $(FUZZ_ARGS) \
	   corpus/virtio-net $(wildcard $(abspath tests/fuzz/corpus/virtio-net))

FUZZ_NET_REPLAY := $(wildcard tests/fuzz/corpus/virtio-net/* tests/fuzz/crashes/virtio-net/*)
fuzz-virtio-net-regress: $(FUZZ_OUT)/fuzz_virtio_net
	$(if $(FUZZ_NET_REPLAY),$< $(FUZZ_NET_REPLAY),@echo "fuzz-virtio-net-regress: no inputs to replay")

.PHONY: fuzz-virtio-net fuzz-virtio-net-regress

# The virtio-blk device model (hostile-guest.md cases 5, 6, 8, 14, 16) over a
# memfd image, with the fake transport; io_uring and the synchronous path:
#   make fuzz-virtio-blk [FUZZ_TIME=60]   corpus in $(B)/fuzz/corpus/virtio-blk
#   make fuzz-virtio-blk-regress          replay tests/fuzz/{corpus,crashes}/virtio-blk once
FUZZ_BLK_SRCS := src/virtio/blk.c src/virtio/queue.c src/iommu/dma.c src/mem.c src/util.c tests/unit/fake_virtio.c
FUZZ_BLK_OBJS := $(FUZZ_BLK_SRCS:%.c=$(FUZZ_OUT)/%.o) $(FUZZ_OUT)/tests/fuzz/fuzz_virtio_blk.o

$(FUZZ_OUT)/fuzz_virtio_blk: $(FUZZ_BLK_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -luring -lpthread

fuzz-virtio-blk: $(FUZZ_OUT)/fuzz_virtio_blk
	@mkdir -p $(FUZZ_OUT)/corpus/virtio-blk $(FUZZ_OUT)/artifacts
	cd $(FUZZ_OUT) && ./fuzz_virtio_blk -max_total_time=$(FUZZ_TIME) -timeout=10 -malloc_limit_mb=256 \
	   -max_len=4096 -print_final_stats=1 -artifact_prefix=artifacts/ $(FUZZ_ARGS) \
	   corpus/virtio-blk $(wildcard $(abspath tests/fuzz/corpus/virtio-blk))

FUZZ_BLK_REPLAY := $(wildcard tests/fuzz/corpus/virtio-blk/* tests/fuzz/crashes/virtio-blk/*)
fuzz-virtio-blk-regress: $(FUZZ_OUT)/fuzz_virtio_blk
	$(if $(FUZZ_BLK_REPLAY),$< $(FUZZ_BLK_REPLAY),@echo "fuzz-virtio-blk-regress: no inputs to replay")

.PHONY: fuzz-virtio-blk fuzz-virtio-blk-regress

# VFIO device assignment (hostile-guest.md cases 13 and 20) over a fake device
# file, config space from the input: the target's pread/pwrite wrappers check
# every access kvmio makes to the device.
#   make fuzz-vfio [FUZZ_TIME=60]   corpus in $(B)/fuzz/corpus/vfio
#   make fuzz-vfio-regress          replay tests/fuzz/{corpus,crashes}/vfio once
FUZZ_VFIO_SRCS := src/bus.c src/util.c src/mem.c src/pci/pci.c src/iommu/dma.c src/pci/cap.c src/pci/msi.c \
                  src/vfio/config.c src/vfio/device.c src/vfio/irq.c src/vfio/container.c \
                  src/vfio/sysfs.c tests/unit/fake_vm.c
FUZZ_VFIO_OBJS := $(FUZZ_VFIO_SRCS:%.c=$(FUZZ_OUT)/%.o) $(FUZZ_OUT)/tests/fuzz/fuzz_vfio.o

$(FUZZ_OUT)/fuzz_vfio: $(FUZZ_VFIO_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Wl,--wrap=pread,--wrap=pwrite -o $@ $^ -lpthread

fuzz-vfio: $(FUZZ_OUT)/fuzz_vfio
	@mkdir -p $(FUZZ_OUT)/corpus/vfio $(FUZZ_OUT)/artifacts
	cd $(FUZZ_OUT) && ./fuzz_vfio -max_total_time=$(FUZZ_TIME) -timeout=10 -malloc_limit_mb=512 \
	   -max_len=8192 -print_final_stats=1 -artifact_prefix=artifacts/ $(FUZZ_ARGS) \
	   corpus/vfio $(wildcard $(abspath tests/fuzz/corpus/vfio))

FUZZ_VFIO_REPLAY := $(wildcard tests/fuzz/corpus/vfio/* tests/fuzz/crashes/vfio/*)
fuzz-vfio-regress: $(FUZZ_OUT)/fuzz_vfio
	$(if $(FUZZ_VFIO_REPLAY),$< $(FUZZ_VFIO_REPLAY),@echo "fuzz-vfio-regress: no inputs to replay")

.PHONY: fuzz-vfio fuzz-vfio-regress

# The emulated VT-d (src/iommu/vtd*.c): its register file, the invalidation queue and the
# translation tables, all in guest RAM the input gives (hostile-guest.md, issue 13's cases).
#   make fuzz-vtd [FUZZ_TIME=60]   corpus in $(B)/fuzz/corpus/vtd, seeds in tests/fuzz/corpus/vtd
#   make fuzz-vtd-regress          replay the seeds and tests/fuzz/crashes/vtd once
# tests/fuzz/mkseeds-vtd.py writes the seeds.
FUZZ_VTD_SRCS := src/iommu/vtd.c src/iommu/vtd_walk.c src/iommu/vtd_qi.c src/iommu/dma.c src/mem.c src/util.c
FUZZ_VTD_OBJS := $(FUZZ_VTD_SRCS:%.c=$(FUZZ_OUT)/%.o) $(FUZZ_OUT)/tests/fuzz/fuzz_vtd.o

$(FUZZ_OUT)/fuzz_vtd: $(FUZZ_VTD_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -lpthread

fuzz-vtd: $(FUZZ_OUT)/fuzz_vtd
	@mkdir -p $(FUZZ_OUT)/corpus/vtd $(FUZZ_OUT)/artifacts
	cd $(FUZZ_OUT) && ./fuzz_vtd -max_total_time=$(FUZZ_TIME) -timeout=10 -malloc_limit_mb=256 \
	   -max_len=70000 -print_final_stats=1 -artifact_prefix=artifacts/ $(FUZZ_ARGS) \
	   corpus/vtd $(abspath tests/fuzz/corpus/vtd)

FUZZ_VTD_REPLAY := $(wildcard tests/fuzz/corpus/vtd/* tests/fuzz/crashes/vtd/*)
fuzz-vtd-regress: $(FUZZ_OUT)/fuzz_vtd
	$(if $(FUZZ_VTD_REPLAY),$< $(FUZZ_VTD_REPLAY),@echo "fuzz-vtd-regress: no inputs to replay")

.PHONY: fuzz-vtd fuzz-vtd-regress

# The control API's requests (src/api/endpoints.c) from a hostile client, through
# api_dispatch against a fake VMM: method, URL and body from the input, checked
# against the API's contract (status, JSON replies, what the VMM is handed).
#   make fuzz-api [FUZZ_TIME=60]   corpus in $(B)/fuzz/corpus/api, seeds in tests/fuzz/corpus/api
#   make fuzz-api-regress          replay the seeds and tests/fuzz/crashes/api once
FUZZ_API_SRCS := src/api/endpoints.c src/dev.c src/loop.c src/util.c src/vfio/sysfs.c src/pci/cap.c
FUZZ_API_OBJS := $(FUZZ_API_SRCS:%.c=$(FUZZ_OUT)/%.o) $(FUZZ_OUT)/tests/fuzz/fuzz_api.o

$(FUZZ_OUT)/fuzz_api: $(FUZZ_API_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -ljansson -lpthread

fuzz-api: $(FUZZ_OUT)/fuzz_api
	@mkdir -p $(FUZZ_OUT)/corpus/api $(FUZZ_OUT)/artifacts
	cd $(FUZZ_OUT) && ./fuzz_api -max_total_time=$(FUZZ_TIME) -timeout=10 -malloc_limit_mb=256 \
	   -max_len=4096 -print_final_stats=1 -artifact_prefix=artifacts/ $(FUZZ_ARGS) \
	   corpus/api $(abspath tests/fuzz/corpus/api)

FUZZ_API_REPLAY := $(wildcard tests/fuzz/corpus/api/* tests/fuzz/crashes/api/*)
fuzz-api-regress: $(FUZZ_OUT)/fuzz_api
	$(if $(FUZZ_API_REPLAY),$< $(FUZZ_API_REPLAY),@echo "fuzz-api-regress: no inputs to replay")

.PHONY: fuzz-api fuzz-api-regress
