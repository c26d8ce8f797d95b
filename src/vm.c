// SPDX-License-Identifier: Apache-2.0
/*
 * A VM: KVM setup, guest RAM, the built-in devices, firmware tables, the
 * kernel, the vCPUs, and the main loop that feeds the console and waits for
 * a reason to stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/epoll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "api/api.h"
#include "boot/acpi.h"
#include "boot/layout.h"
#include "boot/linux.h"
#include "hw/uart8250.h"
#include "pci/msi.h"
#include "pci/pci.h"
#include "virtio/blk.h"
#include "virtio/console.h"
#include "virtio/net.h"
#include "virtio/rng.h"
#include "vfio/vfio.h"
#include "iommu/iommu.h"
#include "iommu/vtd.h"
#include "virtio/virtio.h"
#include "loop.h"
#include "sandbox.h"
#include "term.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"

/* Built-in devices, set up in this order and torn down in reverse. */
static const struct vm_device_ops *const vm_devices[] = {
	&uart8250_dev_ops,
	&rtc_dev_ops,
	&i8042_dev_ops,
	&pm_dev_ops,
	&ports_dev_ops,
	&pcihp_dev_ops,
};

int vm_irq_line(struct vm *vm, unsigned int gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level ? 1 : 0 };

	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}

void vm_console_write(struct vm *vm, const uint8_t *p, size_t n)
{
	outbuf_put(&vm->console_out, p, n);
}

void vm_serial_write(struct vm *vm, const uint8_t *p, size_t n)
{
	if (vm->cfg->serial == SERIAL_STDIO)
		outbuf_put(&vm->console_out, p, n);
	else if (vm->cfg->serial == SERIAL_FILE)
		outbuf_put(&vm->serial_file_out, p, n);
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason reason)
{
	int expected = VM_RUNNING;

	if (atomic_compare_exchange_strong(&vm->stop_reason, &expected, (int)reason) &&
	    eventfd_write(vm->stop_fd, 1) < 0)
		pr_debug("stop eventfd: %s", strerror(errno));
}

static int check_kvm(struct vm *vm)
{
	static const struct { int cap; const char *name; } need[] = {
		{ KVM_CAP_IRQCHIP, "IRQCHIP" },
		{ KVM_CAP_PIT2, "PIT2" },
		{ KVM_CAP_USER_MEMORY, "USER_MEMORY" },
		{ KVM_CAP_SET_TSS_ADDR, "SET_TSS_ADDR" },
		{ KVM_CAP_EXT_CPUID, "EXT_CPUID" },
		{ KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT" },
	};
	int v;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int err = errno;

		pr_err("cannot open /dev/kvm: %s%s", strerror(err),
		       err == ENOENT ? " (load kvm_intel or kvm_amd, or enable virtualization)" :
		       err == EACCES ? " (add yourself to the kvm group)" : "");
		return -err;
	}
	v = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		pr_err("/dev/kvm speaks API version %d, kvmio needs %d", v, KVM_API_VERSION);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(need); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, need[i].cap) <= 0) {
			pr_err("KVM lacks the %s capability", need[i].name);
			return -ENOTSUP;
		}
	}
	/* The PVM module emulates guest kernel code: say so once, change nothing. */
	if (access("/sys/module/kvm_pvm", F_OK) == 0) {
		vm->pvm = true;
		pr_warn("/dev/kvm is the kvm_pvm module: guest kernel code is emulated and "
			"slow (a Linux guest takes minutes); see tests/rig for real guests");
	}
	return 0;
}

/*
 * The in-kernel LAPIC emulates the TSC-deadline timer, but
 * KVM_GET_SUPPORTED_CPUID leaves the bit (leaf 1 ECX[24]) to userspace, as
 * QEMU sets it. Without it Linux runs the LAPIC timer in one-shot mode and
 * first calibrates it against the PIT for 100 ms of every boot.
 */
static void offer_tsc_deadline(struct vm *vm)
{
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) <= 0)
		return;
	for (unsigned int i = 0; i < vm->cpuid->nent; i++)
		if (vm->cpuid->entries[i].function == 1)
			vm->cpuid->entries[i].ecx |= 1U << 24;
}

static int get_supported_cpuid(struct vm *vm)
{
	for (unsigned int nent = 128; nent <= 4096; nent *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

		if (!c)
			return -ENOMEM;
		c->nent = nent;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			vm->cpuid = c;
			offer_tsc_deadline(vm);
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			return -errno;
	}
	return -E2BIG;
}

/* The legacy VGA memory, forwarded to a vga=on device instead of RAM. */
#define VGA_HOLE_START	0xA0000ULL
#define VGA_HOLE_END	0xC0000ULL

/* KVM memory slot @slot: @size bytes at @hva as guest @gpa (size 0: remove it). 0 or -errno. */
static int set_slot(struct vm *vm, unsigned int slot, uint64_t gpa, uint64_t size, void *hva,
		    uint32_t flags)
{
	struct kvm_userspace_memory_region kr = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0 ? -errno : 0;
}

static int set_ram_slot(struct vm *vm, unsigned int slot, uint64_t gpa, uint64_t size, void *hva)
{
	int ret = set_slot(vm, slot, gpa, size, hva, 0);

	if (ret)
		pr_err("KVM_SET_USER_MEMORY_REGION at 0x%llx: %s", (unsigned long long)gpa,
		       strerror(-ret));
	return ret;
}

static int setup_memory(struct vm *vm)
{
	int ret = mem_alloc(&vm->mem, vm->cfg->mem_size);

	if (ret) {
		pr_err("cannot reserve %llu MiB of guest memory: %s",
		       (unsigned long long)(vm->cfg->mem_size / MiB), strerror(-ret));
		return ret;
	}
	for (unsigned int i = 0; i < vm->cfg->nvfio; i++)
		vm->vga_hole |= vm->cfg->vfio[i].vga;
	/* The hole's upper part takes the last RAM slot number, which mem.c leaves free then. */
	if (vm->vga_hole && (vm->mem.nr >= MEM_MAX_REGIONS || vm->mem.region[0].gpa ||
			     vm->mem.region[0].size <= VGA_HOLE_END)) {
		pr_err("vga=on: guest RAM does not leave room for the VGA hole");
		return -EINVAL;
	}
	for (unsigned int i = 0; i < vm->mem.nr; i++) {
		struct mem_region *r = &vm->mem.region[i];

		/*
		 * With a vga=on device, 0xA0000-0xBFFFF is not RAM's but the
		 * device's: RAM's first region goes in as two slots around it.
		 */
		if (i == 0 && vm->vga_hole) {
			ret = set_ram_slot(vm, r->slot, 0, VGA_HOLE_START, r->hva);
			if (!ret)
				ret = set_ram_slot(vm, MEM_MAX_REGIONS - 1, VGA_HOLE_END,
						   r->size - VGA_HOLE_END, r->hva + VGA_HOLE_END);
		} else {
			ret = set_ram_slot(vm, r->slot, r->gpa, r->size, r->hva);
		}
		if (ret)
			return ret;
	}
	return 0;
}

/* MMIO slots come after RAM's (mem.c numbers those from 0). */
#define MMIO_SLOT_BASE	MEM_MAX_REGIONS

/*
 * vm->mmio_slots, for vCPUs moving BARs and the main thread (hot-add,
 * removal) at once: every read and write of the bitmap holds it.
 */
static pthread_mutex_t mmio_slots_lock = PTHREAD_MUTEX_INITIALIZER;

int vm_map_mmio(struct vm *vm, uint64_t gpa, uint64_t size, void *hva, bool readonly)
{
	unsigned int i, nbits = 64 * ARRAY_SIZE(vm->mmio_slots);
	int ret;

	pthread_mutex_lock(&mmio_slots_lock);
	for (i = 0; i < nbits && (vm->mmio_slots[i / 64] >> (i % 64) & 1); i++)
		;
	if (i == nbits) {
		pthread_mutex_unlock(&mmio_slots_lock);
		return -ENOSPC;
	}
	vm->mmio_slots[i / 64] |= 1ULL << (i % 64);
	pthread_mutex_unlock(&mmio_slots_lock);
	ret = set_slot(vm, MMIO_SLOT_BASE + i, gpa, size, hva, readonly ? KVM_MEM_READONLY : 0);
	if (!ret)
		return (int)(MMIO_SLOT_BASE + i);
	pthread_mutex_lock(&mmio_slots_lock);
	vm->mmio_slots[i / 64] &= ~(1ULL << (i % 64));
	pthread_mutex_unlock(&mmio_slots_lock);
	return ret;
}

void vm_unmap_mmio(struct vm *vm, int slot)
{
	unsigned int i = (unsigned int)slot - MMIO_SLOT_BASE;
	int ret;

	if (slot < MMIO_SLOT_BASE || i >= 64 * ARRAY_SIZE(vm->mmio_slots))
		return;
	ret = set_slot(vm, (unsigned int)slot, 0, 0, NULL, 0);
	if (ret)
		pr_warn("removing memory slot %d: %s", slot, strerror(-ret));
	/* Free only once KVM has dropped it: a new map must not reuse a live slot. */
	pthread_mutex_lock(&mmio_slots_lock);
	vm->mmio_slots[i / 64] &= ~(1ULL << (i % 64));
	pthread_mutex_unlock(&mmio_slots_lock);
}

static int open_serial(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;

	vm->serial_out_fd = -1;
	switch (cfg->serial) {
	case SERIAL_STDIO:
		vm->serial_out_fd = STDOUT_FILENO;
		break;
	case SERIAL_FILE:
		vm->serial_out_fd = open(cfg->serial_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (vm->serial_out_fd < 0) {
			int err = errno;

			pr_err("cannot open serial output '%s': %s", cfg->serial_path, strerror(err));
			return -err;
		}
		break;
	case SERIAL_NONE:
		break;
	}
	return 0;
}

/*
 * The 64-bit PCI window: from the first 1 GiB boundary above RAM (and above
 * 4 GiB) to the end of what the CPU can address, so that large BARs (GPUs)
 * fit. The guest's physical address width comes from CPUID 0x80000008.
 */
static void pci_mmio64_window(struct vm *vm)
{
	const struct mem_region *top = &vm->mem.region[vm->mem.nr - 1];
	unsigned int bits = 36;
	uint64_t base = ALIGN_UP(MAX(MEM_4G, top->gpa + top->size), GiB);

	for (unsigned int i = 0; i < vm->cpuid->nent; i++)
		if (vm->cpuid->entries[i].function == 0x80000008)
			bits = vm->cpuid->entries[i].eax & 0xff;
	/* Beyond 46 bits, 4-level paging guests cannot map it all. */
	bits = MIN(MAX(bits, 36u), 46u);
	vm->pci_mmio64_base = base;
	vm->pci_mmio64_size = (1ULL << bits) > base ? (1ULL << bits) - base : 0;
}

/* PCI host bridge, MSI routing, and the virtio devices the command line asks for. */
static int setup_pci(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	int ret;

	ret = irq_routes_init(vm);
	if (ret)
		return ret;
	vm->pci = calloc(1, sizeof(*vm->pci));
	if (!vm->pci)
		return -ENOMEM;
	pci_mmio64_window(vm);
	ret = pci_host_init(vm->pci, vm, vm->pci_mmio64_base, vm->pci_mmio64_size);
	if (ret) {
		pr_err("PCI host bridge: %s", strerror(-ret));
		return ret;
	}
	/* Before any device: each one added gets a DMA space translated by it. */
	if (cfg->iommu) {
		ret = iommu_init(vm);
		if (ret) {
			pr_err("VT-d: %s", strerror(-ret));
			return ret;
		}
	}
	for (unsigned int i = 0; i < cfg->ndisks; i++) {
		ret = virtio_blk_create(vm, &cfg->disks[i], i);
		if (ret)
			return ret;
	}
	for (unsigned int i = 0; i < cfg->nnets; i++) {
		ret = virtio_net_create(vm, &cfg->nets[i], i);
		if (ret)
			return ret;
	}
	if (cfg->rng) {
		ret = virtio_rng_create(vm);
		if (ret)
			return ret;
	}
	if (cfg->console != VCON_NONE) {
		struct virtio_dev *vcon;

		ret = virtio_console_create(vm, cfg->console, cfg->console_path, &vcon);
		if (ret)
			return ret;
		if (cfg->console == VCON_STDIO)
			vm->vcon = vcon;
	}
	return vfio_devices_init(vm);
}

static int load_firmware_and_kernel(struct vm *vm, uint64_t *entry)
{
	struct acpi_config acfg;
	struct linux_boot lb = {
		.kernel = vm->cfg->kernel,
		.initrd = vm->cfg->initrd,
		.cmdline = vm->cfg->cmdline,
		.rsdp_addr = BOOT_ACPI_START,
	};
	int ret;

	acpi_config_init(&acfg, vm->ncpus);
	acfg.pci_mem64_base = vm->pci_mmio64_base;
	acfg.pci_mem64_size = vm->pci_mmio64_size;
	if (vm->iommu) {
		acfg.dmar_base = VTD_MMIO_BASE;
		acfg.dmar_haw = VTD_HAW_BITS;
		lb.rsv_base = VTD_MMIO_BASE;
		lb.rsv_size = VTD_MMIO_SIZE;
	}
	ret = acpi_build(guest_ptr(&vm->mem, BOOT_ACPI_START, BOOT_ACPI_END - BOOT_ACPI_START),
			 BOOT_ACPI_END - BOOT_ACPI_START, BOOT_ACPI_START, &acfg);
	if (ret < 0) {
		pr_err("building ACPI tables: %s", strerror(-ret));
		return ret;
	}
	return linux_load(&vm->mem, &lb, entry);
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	unsigned int max_vcpus;
	uint64_t entry;
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->ncpus = cfg->ncpus;
	vm->kvm_fd = vm->vm_fd = vm->stop_fd = vm->serial_rx_fd = vm->serial_out_fd = -1;
	atomic_init(&vm->stop_reason, VM_RUNNING);
	dev_registry_init(&vm->devs);
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);

	ret = check_kvm(vm);
	if (ret)
		goto err;
	ret = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	max_vcpus = ret > 0 ? (unsigned int)ret : 1;
	if (vm->ncpus > max_vcpus) {
		pr_err("--cpus %u: this KVM supports at most %u vCPUs", vm->ncpus, max_vcpus);
		ret = -EINVAL;
		goto err;
	}
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0 || vm->run_size <= 0) {
		ret = -errno;
		pr_err("KVM_CREATE_VM: %s", strerror(errno));
		goto err;
	}
	/* Both must be set before the first vCPU exists (Intel needs them for real mode). */
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){ KVM_IDENTITY_MAP_ADDR }) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		ret = -errno;
		pr_err("setting up the in-kernel irqchip and PIT: %s", strerror(errno));
		goto err;
	}

	ret = loop_init(&vm->loop);
	if (ret)
		goto err;
	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->serial_rx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_fd < 0 || vm->serial_rx_fd < 0) {
		ret = -errno;
		goto err;
	}
	ret = open_serial(vm);
	if (ret)
		goto err;
	/*
	 * 1 MiB: minutes of boot log, so only a reader stalled for long loses
	 * output. stdout has one ring, for COM1 or the virtio console; a serial
	 * file has its own.
	 */
	ret = outbuf_init(&vm->console_out,
			  cfg->serial == SERIAL_STDIO || cfg->console == VCON_STDIO ? STDOUT_FILENO : -1,
			  1 * MiB);
	if (ret)
		goto err;
	ret = outbuf_init(&vm->serial_file_out, cfg->serial == SERIAL_FILE ? vm->serial_out_fd : -1,
			  cfg->serial == SERIAL_FILE ? 1 * MiB : 4096);
	if (ret)
		goto err;
	ret = bus_init(&vm->bus);
	if (ret)
		goto err;
	vm->bus_up = true;
	ret = setup_memory(vm);
	if (ret)
		goto err;
	ret = get_supported_cpuid(vm);
	if (ret) {
		pr_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(-ret));
		goto err;
	}

	for (; vm->ndevices < ARRAY_SIZE(vm_devices); vm->ndevices++) {
		const struct vm_device_ops *dev = vm_devices[vm->ndevices];

		ret = dev->init(vm);
		if (ret) {
			pr_err("device %s: %s", dev->name, strerror(-ret));
			goto err;
		}
	}

	ret = setup_pci(vm);
	if (ret)
		goto err;
	ret = load_firmware_and_kernel(vm, &entry);
	if (ret)
		goto err;

	vm->vcpus = calloc(vm->ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		ret = -ENOMEM;
		goto err;
	}
	for (unsigned int i = 0; i < vm->ncpus; i++) {
		ret = vcpu_create(vm, i, &vm->vcpus[i]);
		if (ret) {
			pr_err("creating vCPU %u: %s", i, strerror(-ret));
			goto err;
		}
	}
	ret = vcpu_set_boot_regs(vm->vcpus[0], entry, BOOT_PARAMS_ADDR);
	if (ret) {
		pr_err("setting boot registers: %s", strerror(-ret));
		goto err;
	}
	return 0;

err:
	vm_destroy(vm);
	return ret;
}

void vm_destroy(struct vm *vm)
{
	if (vm->vcpus) {
		for (unsigned int i = 0; i < vm->ncpus; i++)
			vcpu_destroy(vm->vcpus[i]);
		free(vm->vcpus);
		vm->vcpus = NULL;
	}
	/* Unplugged now, released by the loop's last turn. */
	dev_remove_all(&vm->devs);
	loop_destroy(&vm->loop);
	vfio_containers_close(vm);
	iommu_exit(vm);
	if (vm->pci) {
		pci_host_exit(vm->pci);
		free(vm->pci);
		vm->pci = NULL;
	}
	irq_routes_exit(vm);
	while (vm->ndevices > 0) {
		const struct vm_device_ops *dev = vm_devices[--vm->ndevices];

		if (dev->exit)
			dev->exit(vm);
	}
	if (vm->bus_up)
		bus_destroy(&vm->bus);
	vm->bus_up = false;
	mem_free(&vm->mem);
	free(vm->cpuid);
	vm->cpuid = NULL;
	outbuf_destroy(&vm->console_out);
	outbuf_destroy(&vm->serial_file_out);
	if (vm->serial_out_fd > STDERR_FILENO)
		close(vm->serial_out_fd);
	if (vm->serial_rx_fd >= 0)
		close(vm->serial_rx_fd);
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->serial_out_fd = vm->serial_rx_fd = vm->stop_fd = vm->vm_fd = vm->kvm_fd = -1;
}

/*
 * Console input. Bytes read from stdin that the UART's RX FIFO cannot take
 * yet stay pending, and stdin is not read again until they are delivered:
 * kvmio itself drops nothing typed or piped and buffers at most one read.
 * (A guest that resets its FIFO discards what was in it, as on a 16550.)
 * When the FIFO refuses bytes the UART owes us an rx_ready on serial_rx_fd.
 */
struct console_in {
	bool active;		/* stdin feeds the UART */
	bool is_tty;		/* escape handling only for an interactive terminal */
	struct term_escape esc;
	uint8_t pending[4096];
	size_t pend_off, pend_len;
};

/*
 * Read stdin now? A pipe or file only when everything read before has been
 * delivered, so kvmio holds at most one read. A terminal also while bytes
 * wait, into the rest of the buffer: Ctrl-A x must work even when the guest
 * takes no input (a virtio console before its driver loads), and typing
 * fills 4 KiB slowly.
 */
static bool console_want_read(const struct console_in *ci)
{
	if (!ci->active)
		return false;
	return ci->pend_len == 0 || (ci->is_tty && ci->pend_len < sizeof(ci->pending));
}

/* stdin goes to the virtio console when it is on stdio, else to COM1. */
static void console_feed(struct vm *vm, struct console_in *ci)
{
	const uint8_t *p = ci->pending + ci->pend_off;
	size_t n = ci->pend_len - ci->pend_off;

	ci->pend_off += vm->vcon ? virtio_console_input(vm->vcon, p, n) : uart8250_rx(vm->com1, p, n);
	if (ci->pend_off == ci->pend_len)
		ci->pend_off = ci->pend_len = 0;
}

static void console_read(struct vm *vm, struct console_in *ci)
{
	bool quit = false;
	ssize_t r;

	/* Keep what is pending at the front, so new bytes go after it. */
	if (ci->pend_off) {
		memmove(ci->pending, ci->pending + ci->pend_off, ci->pend_len - ci->pend_off);
		ci->pend_len -= ci->pend_off;
		ci->pend_off = 0;
	}
	r = read(STDIN_FILENO, ci->pending + ci->pend_len, sizeof(ci->pending) - ci->pend_len);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0) {
		/* EOF or error: the guest keeps running without input. */
		ci->active = false;
		return;
	}
	ci->pend_len += ci->is_tty ? term_filter(&ci->esc, ci->pending + ci->pend_len, (size_t)r, &quit) :
				     (size_t)r;
	console_feed(vm, ci);
	if (quit)
		vm_request_stop(vm, VM_STOP_QUIT);
}

static int exit_status(struct vm *vm)
{
	switch (atomic_load(&vm->stop_reason)) {
	case VM_STOP_POWEROFF:
		pr_info("guest powered off");
		return 0;
	case VM_STOP_REBOOT:
		/* kvmio does not restart the guest: like Firecracker and kvmtool, it exits. */
		fprintf(stderr, "kvmio: guest requested a reboot; exiting\n");
		return 0;
	case VM_STOP_QUIT:
		fprintf(stderr, "kvmio: quit from the console\n");
		return 0;
	case VM_STOP_API:
		fprintf(stderr, "kvmio: shut down through the control socket\n");
		return 0;
	case VM_STOP_SIGNAL:
		fprintf(stderr, "kvmio: terminating on signal %d (%s)\n", vm->stop_signal,
			strsignal(vm->stop_signal));
		return 128 + vm->stop_signal;
	default:
		return 1;
	}
}

int vm_pause(struct vm *vm)
{
	unsigned int started = 0;
	int ret = 0;

	if (atomic_exchange(&vm->pause_req, true))
		return -EALREADY;
	for (unsigned int i = 0; i < vm->ncpus; i++) {
		if (vm->vcpus[i]->started)
			started++;
		vcpu_kick(vm->vcpus[i]);
	}
	/* Short waits: a vCPU that stops the VM instead of parking must not hold us. */
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->nparked < started) {
		struct timespec ts;

		if (atomic_load(&vm->stop_reason) != VM_RUNNING) {
			ret = -ESHUTDOWN;
			break;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&vm->pause_cond, &vm->pause_lock, &ts);
	}
	pthread_mutex_unlock(&vm->pause_lock);
	return ret;
}

int vm_resume(struct vm *vm)
{
	if (!atomic_exchange(&vm->pause_req, false))
		return -EALREADY;
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	return 0;
}

bool vm_paused(struct vm *vm)
{
	return atomic_load(&vm->pause_req);
}

/* Signals whose default action ends the process; each stops the VM cleanly. */
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR2, SIGALRM };

/* The console on the event loop: stdin in, the output rings out. */
struct console {
	struct vm *vm;
	struct console_in ci;
	struct outbuf *outs[2];		/* stdout's ring, the serial file's */
	bool out_blocked[2];		/* waits for the fd to take more */
	bool out_fd_added[2];
};

static void on_stop(void *opaque, int fd, uint32_t events)
{
	eventfd_t v;

	if (eventfd_read(fd, &v) < 0 && errno != EAGAIN)
		pr_debug("stop eventfd: %s", strerror(errno));
}

static void on_signal(void *opaque, int fd, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGWINCH) {
			if (vm->vcon)
				virtio_console_resize(vm->vcon);
		} else {
			vm->stop_signal = (int)si.ssi_signo;
			vm_request_stop(vm, VM_STOP_SIGNAL);
		}
	}
}

static void on_serial_rx(void *opaque, int fd, uint32_t events)
{
	struct console *c = opaque;
	eventfd_t v;

	if (eventfd_read(fd, &v) < 0 && errno != EAGAIN)
		pr_debug("serial eventfd: %s", strerror(errno));
	console_feed(c->vm, &c->ci);
}

static void on_stdin(void *opaque, int fd, uint32_t events)
{
	struct console *c = opaque;

	console_read(c->vm, &c->ci);
}

static void on_output(void *opaque, int fd, uint32_t events)
{
	struct console *c = opaque;

	for (unsigned int i = 0; i < 2; i++)
		c->out_blocked[i] = outbuf_flush(c->outs[i]);
}

/* What the console waits for next, from its state after the last turn. */
static void console_arm(struct console *c)
{
	struct loop *l = &c->vm->loop;

	loop_mod(l, c->vm->serial_rx_fd, c->ci.pend_len ? EPOLLIN : 0);
	loop_mod(l, STDIN_FILENO, console_want_read(&c->ci) ? EPOLLIN : 0);
	for (unsigned int i = 0; i < 2; i++) {
		int fd = c->outs[i]->fd;

		if (fd < 0)
			continue;
		if (!c->out_fd_added[i] && c->out_blocked[i])
			c->out_fd_added[i] = loop_add(l, fd, EPOLLOUT, on_output, c) == 0;
		else if (c->out_fd_added[i])
			loop_mod(l, fd, c->out_blocked[i] ? EPOLLOUT : 0);
	}
}

static int console_start(struct console *c)
{
	struct vm *vm = c->vm;
	int ret;

	c->outs[0] = &vm->console_out;
	c->outs[1] = &vm->serial_file_out;
	if ((vm->cfg->serial == SERIAL_STDIO && vm->com1) || vm->vcon) {
		c->ci.active = true;
		c->ci.is_tty = isatty(STDIN_FILENO);
		if (c->ci.is_tty && term_raw(STDIN_FILENO) < 0)
			pr_warn("cannot put the terminal in raw mode: %s", strerror(errno));
		/* A closed stdin is no input, as EOF is. */
		c->ci.active = loop_add(&vm->loop, STDIN_FILENO, 0, on_stdin, c) == 0;
	}
	ret = loop_add(&vm->loop, vm->serial_rx_fd, 0, on_serial_rx, c);
	for (unsigned int i = 0; i < 2 && !ret; i++)
		ret = loop_add(&vm->loop, c->outs[i]->wake_fd, EPOLLIN, on_output, c);
	return ret;
}

static void console_stop(struct console *c)
{
	struct loop *l = &c->vm->loop;

	loop_del(l, STDIN_FILENO);
	loop_del(l, c->vm->serial_rx_fd);
	for (unsigned int i = 0; i < 2; i++) {
		loop_del(l, c->outs[i]->wake_fd);
		if (c->out_fd_added[i])
			loop_del(l, c->outs[i]->fd);
	}
}

int vm_run(struct vm *vm)
{
	struct console con = { .vm = vm };
	struct api_server *api = NULL;
	sigset_t sigs;
	int sfd, ret = 0;

	/*
	 * Block the signals that would end kvmio in every thread (the vCPU
	 * threads inherit this mask) and take them through a signalfd, so the
	 * stop path, which restores the terminal, is the same ordinary code
	 * whatever ends the VM.
	 */
	sigemptyset(&sigs);
	for (unsigned int i = 0; i < ARRAY_SIZE(stop_signals); i++)
		sigaddset(&sigs, stop_signals[i]);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGWINCH);	/* terminal resized: tell the virtio console */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sigdelset(&sigs, SIGUSR1);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		pr_err("signalfd: %s", strerror(errno));
		return 1;
	}

	ret = loop_add(&vm->loop, vm->stop_fd, EPOLLIN, on_stop, vm);
	if (!ret)
		ret = loop_add(&vm->loop, sfd, EPOLLIN, on_signal, vm);
	if (!ret)
		ret = console_start(&con);
	if (ret) {
		pr_err("event loop: %s", strerror(-ret));
		vm_request_stop(vm, VM_STOP_ERROR);
	}
	if (!ret && vm->cfg->api_socket) {
		api = api_start(&vm->loop, vm->cfg->api_socket, &vm_api_ops, vm);
		if (!api) {
			ret = -EINVAL;
			vm_request_stop(vm, VM_STOP_ERROR);
		}
	}
	/* Everything that needs root is open: leave it before the guest runs a cycle. */
	if (!ret && vm->cfg->drop_user) {
		ret = sandbox_drop_user(vm->cfg->uid, vm->cfg->gid, vm->cfg->api_socket);
		if (ret)
			vm_request_stop(vm, VM_STOP_ERROR);
	}
	for (unsigned int i = 0; i < vm->ncpus && !ret; i++) {
		ret = vcpu_start(vm->vcpus[i]);
		if (ret) {
			pr_err("starting vCPU %u: %s", i, strerror(-ret));
			vm_request_stop(vm, VM_STOP_ERROR);
		}
	}
	/* Set up: from here the main thread does only what its filter lists. */
	if (!ret && vm->cfg->landlock && landlock_apply(vm->cfg))
		ret = -EPERM;
	if (!ret && sandbox_enter(SANDBOX_MAIN, "main"))
		ret = -EPERM;
	if (ret)
		vm_request_stop(vm, VM_STOP_ERROR);

	while (atomic_load(&vm->stop_reason) == VM_RUNNING) {
		console_arm(&con);
		ret = loop_run_once(&vm->loop, -1);
		if (ret < 0) {
			pr_err("event loop: %s", strerror(-ret));
			vm_request_stop(vm, VM_STOP_ERROR);
			break;
		}
	}
	api_stop(api);
	console_stop(&con);
	loop_del(&vm->loop, sfd);
	loop_del(&vm->loop, vm->stop_fd);

	for (unsigned int i = 0; i < vm->ncpus; i++)
		vcpu_kick(vm->vcpus[i]);
	/* Parked vCPUs see the stop once woken. */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	for (unsigned int i = 0; i < vm->ncpus; i++)
		vcpu_join(vm->vcpus[i]);
	/* The guest's last words (the panic, the power-off line) before ours. */
	outbuf_drain(&vm->console_out, 2000);
	outbuf_drain(&vm->serial_file_out, 1000);
	term_restore();
	/* SIGQUIT asks where a hung guest is: every vCPU, now out of KVM_RUN. */
	if (atomic_load(&vm->stop_reason) == VM_STOP_SIGNAL && vm->stop_signal == SIGQUIT)
		for (unsigned int i = 0; i < vm->ncpus; i++)
			vcpu_dump(vm->vcpus[i]);
	close(sfd);
	return exit_status(vm);
}
