/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_VCPU_H
#define KVMIO_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdint.h>

#include "bus.h"

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int id;	/* also the APIC ID */
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	struct bus_cache cache;
};

/*
 * vcpu_create - KVM_CREATE_VCPU, map its kvm_run, set CPUID (APIC ID and
 * topology fixed up for @id of vm->ncpus), MSRs, FPU and LAPIC LINT pins.
 * Application processors are left in wait-for-SIPI by KVM's in-kernel LAPIC.
 * Returns 0 or negative errno.
 */
int vcpu_create(struct vm *vm, unsigned int id, struct vcpu **out);

/* vcpu_set_boot_regs - put the BSP in 64-bit mode at @entry with %rsi = @rsi. */
int vcpu_set_boot_regs(struct vcpu *v, uint64_t entry, uint64_t rsi);

/* vcpu_start / vcpu_kick / vcpu_join: run the exit loop on its own thread,
 * make a running KVM_RUN return (used only when stopping), wait for the end. */
int vcpu_start(struct vcpu *v);
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);
/* vcpu_destroy - unmap and close a vCPU that is not running; NULL is fine. */
void vcpu_destroy(struct vcpu *v);

/* vcpu_dump - registers and segment state on stderr, for fatal exits. */
void vcpu_dump(struct vcpu *v);

/*
 * vcpu_cpuid_fixup - adjust a KVM_GET_SUPPORTED_CPUID copy for vCPU @apic_id
 * of @ncpus (one socket, @ncpus cores, one thread each): leaves 1, 4, 0xB,
 * 0x1F (when present), 0x8000001D, 0x80000008, 0x8000001E. Missing topology
 * subleaves are appended, so @cpuid must have room for @max_nent entries.
 * Pure; exported for unit tests. Returns 0 or -ENOSPC.
 */
int vcpu_cpuid_fixup(struct kvm_cpuid2 *cpuid, unsigned int max_nent, unsigned int apic_id,
		     unsigned int ncpus);

#endif
