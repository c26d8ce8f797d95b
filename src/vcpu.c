// SPDX-License-Identifier: Apache-2.0
/*
 * vCPU threads: setup (CPUID, MSRs, LAPIC), the KVM_RUN loop, and a table of
 * exit handlers indexed by exit reason, each returning continue or stop.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot/layout.h"
#include "util.h"
#include "pci/pci.h"
#include "sandbox.h"
#include "vcpu.h"
#include "vm.h"

enum { EXIT_CONTINUE = 0, EXIT_STOP = 1 };

#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_MISC_ENABLE	0x1A0
#define MSR_MTRR_DEF_TYPE	0x2FF
#define MSR_STAR		0xC0000081
#define MSR_LSTAR		0xC0000082
#define MSR_CSTAR		0xC0000083
#define MSR_SYSCALL_MASK	0xC0000084
#define MSR_KERNEL_GS_BASE	0xC0000102
#define MSR_IA32_TSC		0x10

#define APIC_LVT0		0x350
#define APIC_LVT1		0x360
#define APIC_MODE_EXTINT	0x700
#define APIC_MODE_NMI		0x400

static unsigned int order_base_2(unsigned int n)
{
	unsigned int b = 0;

	while ((1U << b) < n)
		b++;
	return b;
}

/* The entry for (@fn, @idx), appended (with a significant index) if missing. */
static struct kvm_cpuid_entry2 *cpuid_entry(struct kvm_cpuid2 *c, unsigned int max_nent,
					    uint32_t fn, uint32_t idx)
{
	struct kvm_cpuid_entry2 *e;

	for (unsigned int i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	if (c->nent >= max_nent)
		return NULL;
	e = &c->entries[c->nent++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	return e;
}

static bool cpuid_has(const struct kvm_cpuid2 *c, uint32_t fn)
{
	for (unsigned int i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn)
			return true;
	return false;
}

/*
 * Leaves 0xB/0x1F (SDM vol. 2A, CPUID "V2 Extended Topology"): level 0 is
 * SMT with one thread, level 1 the cores of the package, then a terminator.
 * KVM only returns a zeroed subleaf 0 (api.rst, "CPU topology"), so the
 * levels are written here, not just patched.
 */
static int cpuid_set_topology(struct kvm_cpuid2 *c, unsigned int max_nent, uint32_t fn,
			      unsigned int apic_id, unsigned int ncpus)
{
	static const uint32_t type[] = { 1 /* SMT */, 2 /* core */, 0 /* invalid */ };
	unsigned int core_bits = order_base_2(ncpus);

	for (uint32_t idx = 0; idx < ARRAY_SIZE(type); idx++) {
		struct kvm_cpuid_entry2 *e = cpuid_entry(c, max_nent, fn, idx);

		if (!e)
			return -ENOSPC;
		e->flags |= KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		e->eax = idx == 1 ? core_bits : 0;		/* shift to the next level's ID */
		e->ebx = idx == 0 ? 1 : idx == 1 ? ncpus : 0;	/* logical CPUs at this level */
		e->ecx = (type[idx] << 8) | idx;
		e->edx = apic_id;
	}
	return 0;
}

/* Cache sharing for leaves 4 and 0x8000001D: L1/L2 per core, L3 per package. */
static uint32_t cache_sharing(uint32_t eax, unsigned int core_bits)
{
	unsigned int level = (eax >> 5) & 7;

	return level >= 3 ? MIN((1U << core_bits) - 1, 0xFFFU) : 0;
}

int vcpu_cpuid_fixup(struct kvm_cpuid2 *cpuid, unsigned int max_nent, unsigned int apic_id,
		     unsigned int ncpus)
{
	unsigned int core_bits = order_base_2(ncpus);
	/* Leaf 1 EBX[23:16] and leaf 4 EAX[31:26] count addressable IDs: powers of two. */
	unsigned int pkg_ids = MIN(1U << core_bits, 255U);
	bool has_1f = cpuid_has(cpuid, 0x1F);
	int ret;

	ret = cpuid_set_topology(cpuid, max_nent, 0xB, apic_id, ncpus);
	if (!ret && has_1f)
		ret = cpuid_set_topology(cpuid, max_nent, 0x1F, apic_id, ncpus);
	if (ret)
		return ret;

	for (unsigned int i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000FFFF) | (apic_id << 24) | (pkg_ids << 16);
			if (ncpus > 1)
				e->edx |= 1U << 28;	/* HTT: the package has several logical CPUs */
			else
				e->edx &= ~(1U << 28);
			e->ecx |= 1U << 31;		/* running under a hypervisor */
			break;
		case 4:		/* Intel deterministic cache parameters */
			if (!(e->eax & 0x1F))
				break;			/* null subleaf: no more caches */
			e->eax = (e->eax & 0x3FFF) | (cache_sharing(e->eax, core_bits) << 14) |
				 (MIN((1U << core_bits) - 1, 63U) << 26);
			break;
		case 0x8000001D:	/* AMD cache topology: same sharing rule */
			if (!(e->eax & 0x1F))
				break;
			e->eax = (e->eax & ~(0xFFFU << 14)) | (cache_sharing(e->eax, core_bits) << 14);
			break;
		case 0x80000008:	/* AMD: NC = cores - 1, ApicIdSize */
			e->ecx = (e->ecx & ~0xF0FFU) | (core_bits << 12) | ((ncpus - 1) & 0xFF);
			break;
		case 0x8000001E:	/* AMD: extended APIC ID, core ID, one thread per core */
			e->eax = apic_id;
			e->ebx = apic_id & 0xFF;
			e->ecx = 0;
			break;
		}
	}
	return 0;
}

static int get_msr(struct vcpu *v, uint32_t index, uint64_t *val)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index };

	if (ioctl(v->fd, KVM_GET_MSRS, &m) != 1)
		return -EINVAL;
	*val = m.e.data;
	return 0;
}

static int setup_msrs(struct vcpu *v)
{
	static const struct { uint32_t index; uint64_t data; } init[] = {
		{ MSR_IA32_SYSENTER_CS, 0 }, { MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 }, { MSR_STAR, 0 }, { MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 }, { MSR_SYSCALL_MASK, 0 }, { MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 },
		{ MSR_MTRR_DEF_TYPE, (1 << 11) | 6 },	/* MTRRs on, default write-back */
		{ MSR_IA32_MISC_ENABLE, 0 },		/* read-modify-write below */
	};
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[ARRAY_SIZE(init)];
	} msrs;
	uint64_t misc = 0;
	unsigned int n = ARRAY_SIZE(init);
	int set;

	memset(&msrs, 0, sizeof(msrs));
	for (unsigned int i = 0; i < n; i++) {
		msrs.e[i].index = init[i].index;
		msrs.e[i].data = init[i].data;
	}
	/*
	 * Fast strings on, as firmware leaves it, keeping KVM's other bits
	 * (BTS/PEBS unavailable); where KVM has no MISC_ENABLE, skip it.
	 */
	if (get_msr(v, MSR_IA32_MISC_ENABLE, &misc) == 0)
		msrs.e[n - 1].data = misc | 1;
	else
		n--;
	msrs.hdr.nmsrs = n;
	set = ioctl(v->fd, KVM_SET_MSRS, &msrs);
	if (set < 0)
		return -errno;
	if (set != (int)n)
		pr_warn("vcpu%u: KVM refused MSR 0x%x (set %d of %u)", v->id,
			msrs.e[set].index, set, n);
	return 0;
}

/*
 * As a PC BIOS leaves them (and QEMU's APIC reset): on the BSP LINT0 is
 * ExtINT, so the 8259 can interrupt it, and LINT1 is NMI; on the APs both
 * stay masked, so a PIC interrupt never lands on a CPU that is still
 * being brought up.
 */
static int setup_lapic(struct vcpu *v)
{
	struct kvm_lapic_state lapic;
	uint8_t *lvt0 = (uint8_t *)&lapic.regs[APIC_LVT0];
	uint8_t *lvt1 = (uint8_t *)&lapic.regs[APIC_LVT1];
	const uint32_t mode_mask = 0x700 | 0x10000;	/* delivery mode, masked */

	if (v->id != 0)
		return 0;
	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	le_write(lvt0, 4, (le_read(lvt0, 4) & ~mode_mask) | APIC_MODE_EXTINT);
	le_write(lvt1, 4, (le_read(lvt1, 4) & ~mode_mask) | APIC_MODE_NMI);
	if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

static int setup_fpu(struct vcpu *v)
{
	struct kvm_fpu fpu;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37F;
	fpu.mxcsr = 0x1F80;
	return ioctl(v->fd, KVM_SET_FPU, &fpu) < 0 ? -errno : 0;
}

int vcpu_create(struct vm *vm, unsigned int id, struct vcpu **out)
{
	struct kvm_cpuid2 *cpuid = NULL;
	unsigned int max_nent;
	struct vcpu *v;
	int ret;

	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		ret = -errno;
		goto err_free;
	}
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		ret = -errno;
		goto err_close;
	}

	/* Room for the topology subleaves KVM leaves out (0xB and 0x1F, 3 each). */
	max_nent = vm->cpuid->nent + 6;
	cpuid = calloc(1, sizeof(*cpuid) + max_nent * sizeof(cpuid->entries[0]));
	if (!cpuid) {
		ret = -ENOMEM;
		goto err_unmap;
	}
	memcpy(cpuid, vm->cpuid, sizeof(*cpuid) + vm->cpuid->nent * sizeof(cpuid->entries[0]));
	ret = vcpu_cpuid_fixup(cpuid, max_nent, id, vm->ncpus);
	if (ret || ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0) {
		ret = ret ? ret : -errno;
		pr_err("vcpu%u: KVM_SET_CPUID2: %s", id, strerror(-ret));
		goto err_cpuid;
	}
	free(cpuid);
	cpuid = NULL;

	ret = setup_msrs(v);
	if (!ret)
		ret = setup_fpu(v);
	if (!ret)
		ret = setup_lapic(v);
	if (ret) {
		pr_err("vcpu%u: setting initial state: %s", id, strerror(-ret));
		goto err_unmap;
	}
	*out = v;
	return 0;

err_cpuid:
	free(cpuid);
err_unmap:
	munmap(v->run, vm->run_size);
err_close:
	close(v->fd);
err_free:
	free(v);
	return ret;
}

int vcpu_set_boot_regs(struct vcpu *v, uint64_t entry, uint64_t rsi)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xFFFFFFFF, .selector = BOOT_CS, .type = 11,
		.present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xFFFFFFFF, .selector = BOOT_DS, .type = 3,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_segment tss = {
		.base = 0, .limit = 0xFFF, .selector = 0x20, .type = 11,
		.present = 1, .s = 0,
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.tr = tss;
	sregs.gdt.base = BOOT_GDT_ADDR;
	sregs.gdt.limit = 5 * 8 - 1;
	/*
	 * No IDT yet, but not the all-zero one: a triple fault with base 0 and
	 * limit 0 is how Linux reboots on purpose (reboot.c, no_idt), and a
	 * crash before the kernel's first lidt must not look like that.
	 */
	sregs.idt.base = BOOT_IDT_SENTINEL;
	sregs.idt.limit = 0;
	sregs.cr0 = 0x80050033;		/* PG AM WP NE ET MP PE: Linux's CR0_STATE */
	sregs.cr3 = BOOT_PML4_ADDR;
	sregs.cr4 = 0x20;		/* PAE */
	sregs.efer = 0x500;		/* LMA LME */
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = entry;
	regs.rsi = rsi;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

void vcpu_dump(struct vcpu *v)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	char buf[2048];
	int n = 0;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		pr_err("vcpu%u: cannot read registers: %s", v->id, strerror(errno));
		return;
	}
#define P(...) (n += snprintf(buf + n, sizeof(buf) - (size_t)n, __VA_ARGS__))
	P("vcpu%u registers:\n", v->id);
	P(" RIP=%016llx RSP=%016llx RFLAGS=%016llx\n", r.rip, r.rsp, r.rflags);
	P(" RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n", r.rax, r.rbx, r.rcx, r.rdx);
	P(" RSI=%016llx RDI=%016llx RBP=%016llx R8 =%016llx\n", r.rsi, r.rdi, r.rbp, r.r8);
	P(" R9 =%016llx R10=%016llx R11=%016llx R12=%016llx\n", r.r9, r.r10, r.r11, r.r12);
	P(" R13=%016llx R14=%016llx R15=%016llx\n", r.r13, r.r14, r.r15);
	P(" CR0=%016llx CR2=%016llx CR3=%016llx CR4=%016llx EFER=%016llx\n",
	  s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
	P(" CS=%04x/%016llx/l%u DS=%04x SS=%04x TR=%04x\n", s.cs.selector, s.cs.base,
	  s.cs.l, s.ds.selector, s.ss.selector, s.tr.selector);
	P(" GDT=%016llx/%04x IDT=%016llx/%04x\n", s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
#undef P
	fputs(buf, stderr);
}

/* ---- exit handlers ---------------------------------------------------- */

static int exit_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *p = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	/*
	 * PCI config cycles are most of a boot's port exits: straight to the
	 * host bridge, without the bus lookup (the ports stay registered on
	 * the bus, so nothing else can claim them).
	 */
	if (run->io.port >= 0xCF8 && run->io.port + run->io.size <= 0xD00 && run->io.count == 1 &&
	    v->vm->pci) {
		pci_cf8_io(v->vm->pci, run->io.port - 0xCF8, p, run->io.size, is_write);
		return EXIT_CONTINUE;
	}
	/* String I/O (rep ins/outs) arrives as count elements back to back. */
	for (uint32_t i = 0; i < run->io.count; i++, p += run->io.size)
		bus_dispatch(&v->vm->bus, &v->cache, BUS_PIO, run->io.port, p,
			     run->io.size, is_write);
	return EXIT_CONTINUE;
}

static int exit_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	unsigned int len = run->mmio.len;

	if (len == 0 || len > sizeof(run->mmio.data))
		return EXIT_CONTINUE;
	/* ECAM: as for 0xCF8 above. */
	if (run->mmio.phys_addr - PCI_ECAM_BASE < PCI_ECAM_SIZE && v->vm->pci) {
		pci_ecam_io(v->vm->pci, run->mmio.phys_addr - PCI_ECAM_BASE, run->mmio.data, len,
			    run->mmio.is_write);
		return EXIT_CONTINUE;
	}
	bus_dispatch(&v->vm->bus, &v->cache, BUS_MMIO, run->mmio.phys_addr,
		     run->mmio.data, len, run->mmio.is_write);
	return EXIT_CONTINUE;
}

static int exit_continue(struct vcpu *v)
{
	return EXIT_CONTINUE;
}

/*
 * A triple fault. Linux's reboot=t (and other OSes' last-resort reset) loads
 * the all-zero IDT and raises an exception on purpose; any other triple fault
 * is a crash worth a register dump. On AMD, KVM reinitialises the VMCB on a
 * SHUTDOWN intercept (svm.c, shutdown_interception), so the registers read
 * back are the reset state and intent cannot be told: that counts as a crash.
 * Linux reaches a triple fault only after the ACPI reset register and the
 * i8042 have failed, and kvmio implements both.
 */
static int exit_shutdown(struct vcpu *v)
{
	struct kvm_sregs s;
	bool have = ioctl(v->fd, KVM_GET_SREGS, &s) == 0;

	if (have && s.idt.limit == 0 && s.idt.base == 0) {
		vm_request_stop(v->vm, VM_STOP_REBOOT);
		return EXIT_STOP;
	}
	if (have && s.cs.selector == 0xF000 && s.cr0 == 0x10)
		pr_err("vcpu%u: unexpected triple fault (shutdown); KVM reset the vCPU, so the "
		       "registers below are not the guest's", v->id);
	else
		pr_err("vcpu%u: unexpected triple fault (shutdown)", v->id);
	vcpu_dump(v);
	vm_request_stop(v->vm, VM_STOP_ERROR);
	return EXIT_STOP;
}

static int exit_fail_entry(struct vcpu *v)
{
	pr_err("vcpu%u: KVM_RUN failed to enter the guest (hardware reason 0x%llx)", v->id,
	       (unsigned long long)v->run->fail_entry.hardware_entry_failure_reason);
	vcpu_dump(v);
	vm_request_stop(v->vm, VM_STOP_ERROR);
	return EXIT_STOP;
}

static int exit_internal_error(struct vcpu *v)
{
	static const char *const sub[] = {
		[1] = "emulation failure", [2] = "simultaneous exception",
		[3] = "delivery event", [4] = "unexpected exit reason",
	};
	uint32_t s = v->run->internal.suberror;

	pr_err("vcpu%u: KVM internal error: %s (suberror %u)", v->id,
	       s < ARRAY_SIZE(sub) && sub[s] ? sub[s] : "unknown", s);
	vcpu_dump(v);
	vm_request_stop(v->vm, VM_STOP_ERROR);
	return EXIT_STOP;
}

static int exit_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_stop(v->vm, VM_STOP_POWEROFF);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_stop(v->vm, VM_STOP_REBOOT);
		break;
	default:
		pr_err("vcpu%u: system event %u (guest crash)", v->id, v->run->system_event.type);
		vcpu_dump(v);
		vm_request_stop(v->vm, VM_STOP_ERROR);
	}
	return EXIT_STOP;
}

static int (*const exit_handlers[])(struct vcpu *) = {
	[KVM_EXIT_IO]			= exit_io,
	[KVM_EXIT_MMIO]			= exit_mmio,
	[KVM_EXIT_HLT]			= exit_continue,	/* in-kernel LAPIC: rare */
	[KVM_EXIT_IRQ_WINDOW_OPEN]	= exit_continue,
	[KVM_EXIT_INTR]			= exit_continue,
	[KVM_EXIT_DEBUG]		= exit_continue,
	[KVM_EXIT_SHUTDOWN]		= exit_shutdown,
	[KVM_EXIT_FAIL_ENTRY]		= exit_fail_entry,
	[KVM_EXIT_INTERNAL_ERROR]	= exit_internal_error,
	[KVM_EXIT_SYSTEM_EVENT]		= exit_system_event,
};

/*
 * Paused (vm_pause): wait outside KVM_RUN until resumed or stopped. The kick
 * that brought us here left immediate_exit set; clear it to run again.
 */
static void vcpu_park(struct vcpu *v)
{
	struct vm *vm = v->vm;

	pthread_mutex_lock(&vm->pause_lock);
	vm->nparked++;
	pthread_cond_broadcast(&vm->pause_cond);
	while (atomic_load(&vm->pause_req) && atomic_load(&vm->stop_reason) == VM_RUNNING)
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	vm->nparked--;
	v->run->immediate_exit = 0;
	pthread_mutex_unlock(&vm->pause_lock);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	char name[16];
	sigset_t set;

	snprintf(name, sizeof(name), "vcpu%u", v->id);
	pthread_setname_np(pthread_self(), name);
	if (sandbox_enter(SANDBOX_VCPU, name)) {
		vm_request_stop(vm, VM_STOP_ERROR);
		return NULL;
	}
	/* SIGUSR1 is how vcpu_kick interrupts KVM_RUN; every thread else blocks it. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (atomic_load(&vm->stop_reason) == VM_RUNNING) {
		uint32_t reason;

		if (atomic_load(&vm->pause_req))
			vcpu_park(v);
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			pr_err("vcpu%u: KVM_RUN: %s", v->id, strerror(errno));
			vm_request_stop(vm, VM_STOP_ERROR);
			break;
		}
		reason = v->run->exit_reason;
		if (reason >= ARRAY_SIZE(exit_handlers) || !exit_handlers[reason]) {
			pr_err("vcpu%u: unhandled KVM exit reason %u", v->id, reason);
			vcpu_dump(v);
			vm_request_stop(vm, VM_STOP_ERROR);
			break;
		}
		if (exit_handlers[reason](v) == EXIT_STOP)
			break;
	}
	return NULL;
}

static void sigusr1_noop(int sig)
{
}

static void install_kick_handler(void)
{
	struct sigaction sa = { .sa_handler = sigusr1_noop };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

int vcpu_start(struct vcpu *v)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int ret;

	pthread_once(&once, install_kick_handler);
	ret = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (ret)
		return -ret;
	v->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (!v->started)
		return;
	/* immediate_exit covers the window where the thread is not yet in KVM_RUN. */
	v->run->immediate_exit = 1;
	pthread_kill(v->thread, SIGUSR1);
}

void vcpu_join(struct vcpu *v)
{
	if (v->started)
		pthread_join(v->thread, NULL);
	v->started = false;
}

void vcpu_destroy(struct vcpu *v)
{
	if (!v)
		return;
	munmap(v->run, v->vm->run_size);
	close(v->fd);
	free(v);
}
