# SPDX-License-Identifier: Apache-2.0
# Fuzz targets (clang + libFuzzer), on demand and not part of `make check`.
# Included by the top-level Makefile; also works alone: make -f tests/fuzz/fuzz.mk fuzz-pio
#   make fuzz-pio [FUZZ_TIME=60] [FUZZ_ARGS='-jobs=4 -workers=4']
#                             fuzz legacy port I/O (hostile-guest.md case 19) for FUZZ_TIME
#                             seconds; new corpus entries go to $(B)/fuzz/corpus/pio,
#                             crashing inputs to $(B)/fuzz/artifacts/
#   make fuzz-pio-regress     replay the seed corpus (each input once) and tests/fuzz/crashes/pio
#                             (each FUZZ_CRASH_RUNS times)
#   make fuzz-regress         every fuzz-X-regress: each target's corpus in tests/fuzz/corpus/X
#                             and its saved crashes in tests/fuzz/crashes/X, under ASan and
#                             UBSan (seconds; CI runs it, .ci/run)
# Needs clang and libclang-rt-14-dev (Debian 12).
#
# tests/fuzz/corpus/X: the seeds tests/fuzz/mkseeds-X.py writes (what the unit tests do, in
# the target's input format; api's are hand-written requests). For virtq, pci, virtio-net,
# virtio-blk and vfio also what a short run found that reaches a new edge; to refresh one
# (fuzz_X: the name with underscores), small:
#   make fuzz-X FUZZ_TIME=60; python3 tests/fuzz/mkseeds-X.py NEW
#   build/fuzz/fuzz_X -merge=1 -use_counters=0 NEW tests/fuzz/corpus/X build/fuzz/corpus/X
# then NEW replaces tests/fuzz/corpus/X. A crashing input goes to tests/fuzz/crashes/X, with
# its fix, never into a corpus.
#
# Every target links the few objects it exercises; all of them that put devices on the bus
# need dev.c (the device registry) and loop.c (where a last reference defers its release),
# and those that start device threads sandbox.c (whose filters stay off: no sandbox_init).

B          ?= build
FUZZ_CC    ?= clang
FUZZ_TIME  ?= 60
FUZZ_ARGS  ?=
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -std=gnu11 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Wshadow \
               -Wno-unused-parameter -Werror=implicit-function-declaration \
               -Werror=incompatible-pointer-types \
               -D_GNU_SOURCE -Isrc -MMD -MP $(FUZZ_SAN)
FUZZ_OUT   := $(B)/fuzz
# A replay that hangs fails instead of holding CI; what fails is copied to $(B)/fuzz/replay-*.
FUZZ_REPLAY_ARGS := -timeout=60 -artifact_prefix=$(FUZZ_OUT)/replay-
FUZZ_CRASH_RUNS  := 500

# $(call fuzz_replay,X): fuzz-X-regress's recipe, with the target's binary as $<: every input
# of tests/fuzz/corpus/X once, every one of tests/fuzz/crashes/X FUZZ_CRASH_RUNS times: a race
# shows only now and then (crashes/pci's unplug race went unseen in 1 of 20 replays at 200
# runs, in none at 500: under a second). With no files libFuzzer would fuzz instead: none then.
define fuzz_replay
$(if $(wildcard tests/fuzz/corpus/$1/*),$< $(FUZZ_REPLAY_ARGS) $(wildcard tests/fuzz/corpus/$1/*))
$(if $(wildcard tests/fuzz/crashes/$1/*),$< $(FUZZ_REPLAY_ARGS) -runs=$(FUZZ_CRASH_RUNS) $(wildcard tests/fuzz/crashes/$1/*))
endef

# Only the objects behind port I/O: not vm.c, whose vm_irq_line and
# vm_request_stop tests/unit/fake_vm.c replaces with recording stand-ins.
FUZZ_PIO_SRCS := src/bus.c src/util.c src/dev.c src/loop.c src/sandbox.c src/hw/uart8250.c \
                 src/hw/rtc.c src/hw/i8042.c src/hw/pm.c src/hw/ports.c tests/unit/fake_vm.c
FUZZ_PIO_OBJS := $(FUZZ_PIO_SRCS:%.c=$(FUZZ_OUT)/%.o) $(FUZZ_OUT)/tests/fuzz/fuzz_pio.o

$(FUZZ_OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_OUT)/fuzz_pio: $(FUZZ_PIO_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -lseccomp -lcap-ng -lpthread

# Runs in $(FUZZ_OUT) so that -jobs leaves its fuzz-N.log files there.
fuzz-pio: $(FUZZ_OUT)/fuzz_pio
	@mkdir -p $(FUZZ_OUT)/corpus/pio $(FUZZ_OUT)/artifacts
	cd $(FUZZ_OUT) && ./fuzz_pio -max_total_time=$(FUZZ_TIME) -timeout=10 -malloc_limit_mb=256 \
	   -print_final_stats=1 -artifact_prefix=artifacts/ $(FUZZ_ARGS) \
	   corpus/pio $(abspath tests/fuzz/corpus/pio)

fuzz-pio-regress: $(FUZZ_OUT)/fuzz_pio
	$(call fuzz_replay,pio)

.PHONY: fuzz-pio fuzz-pio-regress
-include $(shell find $(FUZZ_OUT) -name '*.d' 2>/dev/null)

# The split virtqueue (hostile-guest.md cases 1-11): pure over guest_mem, so
# only queue.c, mem.c and util.c. Seeds: tests/fuzz/mkseeds-virtq.py.
#   make fuzz-virtq [FUZZ_TIME=60]   corpus in $(B)/fuzz/corpus/virtq
#   make fuzz-virtq-regress          replay tests/fuzz/{corpus,crashes}/virtq
FUZZ_VIRTQ_SRCS := src/virtio/queue.c src/iommu/dma.c src/mem.c src/util.c
FUZZ_VIRTQ_OBJS := $(FUZZ_VIRTQ_SRCS:%.c=$(FUZZ_OUT)/%.o) $(FUZZ_OUT)/tests/fuzz/fuzz_virtq.o

$(FUZZ_OUT)/fuzz_virtq: $(FUZZ_VIRTQ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -lpthread

fuzz-virtq: $(FUZZ_OUT)/fuzz_virtq
	@mkdir -p $(FUZZ_OUT)/corpus/virtq $(FUZZ_OUT)/artifacts
	cd $(FUZZ_OUT) && ./fuzz_virtq -max_total_time=$(FUZZ_TIME) -timeout=10 -malloc_limit_mb=256 \
	   -max_len=32768 -print_final_stats=1 -artifact_prefix=artifacts/ $(FUZZ_ARGS) \
	   corpus/virtq $(wildcard $(abspath tests/fuzz/corpus/virtq))

fuzz-virtq-regress: $(FUZZ_OUT)/fuzz_virtq
	$(call fuzz_replay,virtq)

.PHONY: fuzz-virtq fuzz-virtq-regress

# PCI config space, BARs, MSI-X and the virtio-pci transport (hostile-guest.md
# cases 11-15, 19, 20), with the real virtio-rng behind it. Seeds:
# tests/fuzz/mkseeds-pci.py. iommu.c and the VT-d: virtio-pci takes the IOMMU lock.
#   make fuzz-pci [FUZZ_TIME=60] [FUZZ_ARGS=...]   corpus in $(B)/fuzz/corpus/pci
#   make fuzz-pci-regress                          replay tests/fuzz/{corpus,crashes}/pci
FUZZ_PCI_SRCS := src/bus.c src/util.c src/mem.c src/dev.c src/loop.c src/sandbox.c src/pci/pci.c \
                 src/pci/cap.c src/pci/msi.c src/virtio/pci.c src/virtio/queue.c src/iommu/dma.c \
                 src/iommu/iommu.c src/iommu/vtd.c src/iommu/vtd_walk.c src/iommu/vtd_qi.c \
                 src/virtio/rng.c tests/unit/fake_vm.c
FUZZ_PCI_OBJS := $(FUZZ_PCI_SRCS:%.c=$(FUZZ_OUT)/%.o) $(FUZZ_OUT)/tests/fuzz/fuzz_pci.o

$(FUZZ_OUT)/fuzz_pci: $(FUZZ_PCI_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -lseccomp -lcap-ng -lpthread

fuzz-pci: $(FUZZ_OUT)/fuzz_pci
	@mkdir -p $(FUZZ_OUT)/corpus/pci $(FUZZ_OUT)/artifacts
	cd $(FUZZ_OUT) && ./fuzz_pci -max_total_time=$(FUZZ_TIME) -timeout=10 -malloc_limit_mb=256 \
	   -print_final_stats=1 -artifact_prefix=artifacts/ $(FUZZ_ARGS) \
	   corpus/pci $(wildcard $(abspath tests/fuzz/corpus/pci))

fuzz-pci-regress: $(FUZZ_OUT)/fuzz_pci
	$(call fuzz_replay,pci)

.PHONY: fuzz-pci fuzz-pci-regress

# virtio-rng and virtio-console behind the fake transport (hostile-guest.md
# cases 5, 6, 8, 14, 18): guest RAM, rings included, from the input. Seeds:
# tests/fuzz/mkseeds-virtio-rng-console.py.
#   make fuzz-virtio-rng-console [FUZZ_TIME=60]   corpus in $(B)/fuzz/corpus/virtio-rng-console
#   make fuzz-virtio-rng-console-regress         replay the seeds and crashes
FUZZ_VRC_SRCS := src/bus.c src/util.c src/mem.c src/dev.c src/loop.c src/virtio/queue.c src/iommu/dma.c \
                 src/virtio/rng.c src/virtio/console.c tests/unit/fake_virtio.c tests/unit/fake_vm.c
FUZZ_VRC_OBJS := $(FUZZ_VRC_SRCS:%.c=$(FUZZ_OUT)/%.o) $(FUZZ_OUT)/tests/fuzz/fuzz_virtio_rng_console.o

# --wrap: the target sees every virtq_push a device makes (see the target).
$(FUZZ_OUT)/fuzz_virtio_rng_console: $(FUZZ_VRC_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Wl,--wrap=virtq_push -o $@ $^ -lpthread

fuzz-virtio-rng-console: $(FUZZ_OUT)/fuzz_virtio_rng_console
	@mkdir -p $(FUZZ_OUT)/corpus/virtio-rng-console $(FUZZ_OUT)/artifacts
	cd $(FUZZ_OUT) && ./fuzz_virtio_rng_console -max_total_time=$(FUZZ_TIME) -timeout=10 \
	   -malloc_limit_mb=256 -max_len=65536 -print_final_stats=1 -artifact_prefix=artifacts/ \
	   $(FUZZ_ARGS) corpus/virtio-rng-console $(abspath tests/fuzz/corpus/virtio-rng-console)

fuzz-virtio-rng-console-regress: $(FUZZ_OUT)/fuzz_virtio_rng_console
	$(call fuzz_replay,virtio-rng-console)

.PHONY: fuzz-virtio-rng-console fuzz-virtio-rng-console-regress

# The virtio-net device model (hostile-guest.md cases 14, 17, 18, and 1-11
# through the queue) over a socketpair "tap", with the fake transport. Seeds:
# tests/fuzz/mkseeds-virtio-net.py.
#   make fuzz-virtio-net [FUZZ_TIME=60]   corpus in $(B)/fuzz/corpus/virtio-net
#   make fuzz-virtio-net-regress          replay tests/fuzz/{corpus,crashes}/virtio-net
FUZZ_NET_SRCS := src/virtio/net.c src/virtio/queue.c src/iommu/dma.c src/mem.c src/util.c tests/unit/fake_virtio.c
FUZZ_NET_OBJS := $(FUZZ_NET_SRCS:%.c=$(FUZZ_OUT)/%.o) $(FUZZ_OUT)/tests/fuzz/fuzz_virtio_net.o

$(FUZZ_OUT)/fuzz_virtio_net: $(FUZZ_NET_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -lpthread

fuzz-virtio-net: $(FUZZ_OUT)/fuzz_virtio_net
	@mkdir -p $(FUZZ_OUT)/corpus/virtio-net $(FUZZ_OUT)/artifacts
	cd $(FUZZ_OUT) && ./fuzz_virtio_net -max_total_time=$(FUZZ_TIME) -timeout=10 -malloc_limit_mb=256 \
	   -max_len=4096 -print_final_stats=1 -artifact_prefix=artifacts/ $(FUZZ_ARGS) \
	   corpus/virtio-net $(wildcard $(abspath tests/fuzz/corpus/virtio-net))

fuzz-virtio-net-regress: $(FUZZ_OUT)/fuzz_virtio_net
	$(call fuzz_replay,virtio-net)

.PHONY: fuzz-virtio-net fuzz-virtio-net-regress

# The virtio-blk device model (hostile-guest.md cases 5, 6, 8, 14, 16) over a
# memfd image, with the fake transport; io_uring and the synchronous path.
# Seeds: tests/fuzz/mkseeds-virtio-blk.py.
#   make fuzz-virtio-blk [FUZZ_TIME=60]   corpus in $(B)/fuzz/corpus/virtio-blk
#   make fuzz-virtio-blk-regress          replay tests/fuzz/{corpus,crashes}/virtio-blk
FUZZ_BLK_SRCS := src/virtio/blk.c src/virtio/queue.c src/iommu/dma.c src/mem.c src/util.c tests/unit/fake_virtio.c
FUZZ_BLK_OBJS := $(FUZZ_BLK_SRCS:%.c=$(FUZZ_OUT)/%.o) $(FUZZ_OUT)/tests/fuzz/fuzz_virtio_blk.o

$(FUZZ_OUT)/fuzz_virtio_blk: $(FUZZ_BLK_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -luring -lpthread

fuzz-virtio-blk: $(FUZZ_OUT)/fuzz_virtio_blk
	@mkdir -p $(FUZZ_OUT)/corpus/virtio-blk $(FUZZ_OUT)/artifacts
	cd $(FUZZ_OUT) && ./fuzz_virtio_blk -max_total_time=$(FUZZ_TIME) -timeout=10 -malloc_limit_mb=256 \
	   -max_len=4096 -print_final_stats=1 -artifact_prefix=artifacts/ $(FUZZ_ARGS) \
	   corpus/virtio-blk $(wildcard $(abspath tests/fuzz/corpus/virtio-blk))

fuzz-virtio-blk-regress: $(FUZZ_OUT)/fuzz_virtio_blk
	$(call fuzz_replay,virtio-blk)

.PHONY: fuzz-virtio-blk fuzz-virtio-blk-regress

# VFIO device assignment (hostile-guest.md cases 13 and 20) over a fake device
# file, config space from the input: the target's pread/pwrite wrappers check
# every access kvmio makes to the device. Seeds: tests/fuzz/mkseeds-vfio.py. Hot-plug
# (pcihp.c, with aml.c and pm.c) and the IOMMU's shadow (iommu.c and the VT-d) come with
# device.c; no input reaches them.
#   make fuzz-vfio [FUZZ_TIME=60]   corpus in $(B)/fuzz/corpus/vfio
#   make fuzz-vfio-regress          replay tests/fuzz/{corpus,crashes}/vfio
FUZZ_VFIO_SRCS := src/bus.c src/util.c src/mem.c src/dev.c src/loop.c src/pci/pci.c src/iommu/dma.c \
                  src/pci/cap.c src/pci/msi.c src/vfio/config.c src/vfio/device.c src/vfio/irq.c \
                  src/vfio/container.c src/vfio/sysfs.c src/vfio/sriov.c src/vfio/rom.c src/vfio/regions.c src/hw/pcihp.c src/boot/aml.c src/hw/pm.c \
                  src/iommu/iommu.c src/iommu/shadow.c src/iommu/vtd.c src/iommu/vtd_walk.c \
                  src/iommu/vtd_qi.c tests/unit/fake_vm.c
FUZZ_VFIO_OBJS := $(FUZZ_VFIO_SRCS:%.c=$(FUZZ_OUT)/%.o) $(FUZZ_OUT)/tests/fuzz/fuzz_vfio.o

$(FUZZ_OUT)/fuzz_vfio: $(FUZZ_VFIO_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Wl,--wrap=pread,--wrap=pwrite -o $@ $^ -lpthread

fuzz-vfio: $(FUZZ_OUT)/fuzz_vfio
	@mkdir -p $(FUZZ_OUT)/corpus/vfio $(FUZZ_OUT)/artifacts
	cd $(FUZZ_OUT) && ./fuzz_vfio -max_total_time=$(FUZZ_TIME) -timeout=10 -malloc_limit_mb=512 \
	   -max_len=8192 -print_final_stats=1 -artifact_prefix=artifacts/ $(FUZZ_ARGS) \
	   corpus/vfio $(wildcard $(abspath tests/fuzz/corpus/vfio))

fuzz-vfio-regress: $(FUZZ_OUT)/fuzz_vfio
	$(call fuzz_replay,vfio)

.PHONY: fuzz-vfio fuzz-vfio-regress

# The emulated VT-d (src/iommu/vtd*.c): its register file, the invalidation queue and the
# translation tables, all in guest RAM the input gives (hostile-guest.md, issue 13's cases).
#   make fuzz-vtd [FUZZ_TIME=60]   corpus in $(B)/fuzz/corpus/vtd, seeds in tests/fuzz/corpus/vtd
#   make fuzz-vtd-regress          replay the seeds and tests/fuzz/crashes/vtd
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

fuzz-vtd-regress: $(FUZZ_OUT)/fuzz_vtd
	$(call fuzz_replay,vtd)

.PHONY: fuzz-vtd fuzz-vtd-regress

# The control API's requests (src/api/endpoints.c) from a hostile client, through
# api_dispatch against a fake VMM: method, URL and body from the input, checked
# against the API's contract (status, JSON replies, what the VMM is handed).
#   make fuzz-api [FUZZ_TIME=60]   corpus in $(B)/fuzz/corpus/api, seeds in tests/fuzz/corpus/api
#   make fuzz-api-regress          replay the seeds and tests/fuzz/crashes/api
FUZZ_API_SRCS := src/api/endpoints.c src/dev.c src/loop.c src/util.c src/vfio/sysfs.c src/vfio/sriov.c src/pci/cap.c
FUZZ_API_OBJS := $(FUZZ_API_SRCS:%.c=$(FUZZ_OUT)/%.o) $(FUZZ_OUT)/tests/fuzz/fuzz_api.o

$(FUZZ_OUT)/fuzz_api: $(FUZZ_API_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -ljansson -lpthread

fuzz-api: $(FUZZ_OUT)/fuzz_api
	@mkdir -p $(FUZZ_OUT)/corpus/api $(FUZZ_OUT)/artifacts
	cd $(FUZZ_OUT) && ./fuzz_api -max_total_time=$(FUZZ_TIME) -timeout=10 -malloc_limit_mb=256 \
	   -max_len=4096 -print_final_stats=1 -artifact_prefix=artifacts/ $(FUZZ_ARGS) \
	   corpus/api $(abspath tests/fuzz/corpus/api)

fuzz-api-regress: $(FUZZ_OUT)/fuzz_api
	$(call fuzz_replay,api)

.PHONY: fuzz-api fuzz-api-regress

# A VFIO_DEVICE_GET_REGION_INFO answer's capability chain (src/vfio/regions.c) from a hostile
# or broken kernel: vfio_region_caps_parse against an independent walk of the chain, and
# vfio_region_info's argsz protocol with the input as the answer. regions.c brings the bus,
# RAM and the PCI core for its VGA and OpRegion code, which no input reaches; fake_vm.c stands
# in for vm.c.
#   make fuzz-region-caps [FUZZ_TIME=60]   corpus in $(B)/fuzz/corpus/region_caps, seeds in
#                                          tests/fuzz/corpus/region_caps
#   make fuzz-region-caps-regress          replay the seeds and tests/fuzz/crashes/region_caps
FUZZ_RCAPS_SRCS := src/vfio/regions.c src/util.c src/bus.c src/mem.c src/dev.c src/loop.c \
                   src/pci/pci.c src/iommu/dma.c tests/unit/fake_vm.c
FUZZ_RCAPS_OBJS := $(FUZZ_RCAPS_SRCS:%.c=$(FUZZ_OUT)/%.o) $(FUZZ_OUT)/tests/fuzz/fuzz_region_caps.o

$(FUZZ_OUT)/fuzz_region_caps: $(FUZZ_RCAPS_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -lpthread

fuzz-region-caps: $(FUZZ_OUT)/fuzz_region_caps
	@mkdir -p $(FUZZ_OUT)/corpus/region_caps $(FUZZ_OUT)/artifacts
	cd $(FUZZ_OUT) && ./fuzz_region_caps -max_total_time=$(FUZZ_TIME) -timeout=10 -malloc_limit_mb=256 \
	   -max_len=4096 -print_final_stats=1 -artifact_prefix=artifacts/ $(FUZZ_ARGS) \
	   corpus/region_caps $(abspath tests/fuzz/corpus/region_caps)

fuzz-region-caps-regress: $(FUZZ_OUT)/fuzz_region_caps
	$(call fuzz_replay,region_caps)

.PHONY: fuzz-region-caps fuzz-region-caps-regress

# The --kernel file's parsers (src/boot/elf.c, linux.c): a vmlinux (ELF) or a bzImage, each
# accepted image re-checked against the target's own walk, a placed vmlinux copied into a
# 16 MiB guest. Pure over the input and guest_mem: boot, mem and util only.
#   make fuzz-boot [FUZZ_TIME=60]   corpus in $(B)/fuzz/corpus/boot, seeds in tests/fuzz/corpus/boot
#   make fuzz-boot-regress          replay the seeds and tests/fuzz/crashes/boot
# tests/fuzz/mkseeds-boot.py writes the seeds.
FUZZ_BOOT_SRCS := src/boot/elf.c src/boot/linux.c src/mem.c src/util.c
FUZZ_BOOT_OBJS := $(FUZZ_BOOT_SRCS:%.c=$(FUZZ_OUT)/%.o) $(FUZZ_OUT)/tests/fuzz/fuzz_boot.o

$(FUZZ_OUT)/fuzz_boot: $(FUZZ_BOOT_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -lpthread

fuzz-boot: $(FUZZ_OUT)/fuzz_boot
	@mkdir -p $(FUZZ_OUT)/corpus/boot $(FUZZ_OUT)/artifacts
	cd $(FUZZ_OUT) && ./fuzz_boot -max_total_time=$(FUZZ_TIME) -timeout=10 -malloc_limit_mb=256 \
	   -max_len=16384 -print_final_stats=1 -artifact_prefix=artifacts/ $(FUZZ_ARGS) \
	   corpus/boot $(abspath tests/fuzz/corpus/boot)

fuzz-boot-regress: $(FUZZ_OUT)/fuzz_boot
	$(call fuzz_replay,boot)

.PHONY: fuzz-boot fuzz-boot-regress

# Every target's replay, under ASan and UBSan: the corpora and saved crashes in the
# repository, once each. A failing input fails the target (and CI).
FUZZ_TARGETS := pio virtq pci virtio-rng-console virtio-net virtio-blk vfio vtd api region-caps boot
fuzz-regress: $(FUZZ_TARGETS:%=fuzz-%-regress)

.PHONY: fuzz-regress
