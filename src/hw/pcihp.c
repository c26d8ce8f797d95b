// SPDX-License-Identifier: Apache-2.0
/*
 * ACPI PCI hotplug on bus 0: the register block, its AML, and the ejection
 * of devices when the guest writes B0EJ (pcihp.h has the protocol).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/aml.h"
#include "dev.h"
#include "hw/pcihp.h"
#include "hw/pm.h"
#include "pci/pci.h"
#include "util.h"
#include "vm.h"

uint32_t pcihp_state_read(struct pcihp_state *s, unsigned int off)
{
	uint32_t v;

	switch (off) {
	case PCIHP_PCIU:
		v = s->up;
		s->up = 0;
		return v;
	case PCIHP_PCID:
		return s->down;
	default:
		return 0;
	}
}

uint32_t pcihp_state_write(struct pcihp_state *s, unsigned int off, uint32_t v)
{
	if (off != PCIHP_B0EJ)
		return 0;
	v &= PCIHP_SLOTS;
	s->down &= ~v;
	return v;
}

/* ---- AML ----------------------------------------------------------------- */

/*
 * In \_SB.PCI0:
 *   OperationRegion (PCST, SystemIO, PCIHP_BASE, PCIHP_LEN)
 *   Field (PCST, DWordAcc, NoLock, WriteAsZeros) { PCIU, 32, PCID, 32, B0EJ, 32 }
 *   Device (Sxx) { Name (_ADR, xx << 16)  Name (_SUN, xx)
 *                  Method (_EJ0, 1) { B0EJ = 1 << xx } }      for xx = 1..31
 *   Method (PCNT, 0, Serialized) {
 *       Local0 = PCIU  Local1 = PCID
 *       If (Local0 & (1 << xx)) { Notify (Sxx, 1) }
 *       If (Local1 & (1 << xx)) { Notify (Sxx, 3) }              for each xx
 *   }
 * Serialized: PCIU clears on read, so two evaluations must not interleave.
 */
static void slot_name(char out[5], unsigned int slot)
{
	snprintf(out, 5, "S%02X", slot);
}

static void notify_if(struct aml *a, unsigned int local, unsigned int slot, unsigned int code)
{
	char name[5];
	size_t m = aml_if(a);

	aml_and(a);
	aml_local(a, local);
	aml_integer(a, 1ULL << slot);
	aml_byte(a, 0);		/* no target */
	slot_name(name, slot);
	aml_notify(a);
	aml_namestring(a, name);
	aml_integer(a, code);
	aml_end(a, m);
}

void pcihp_aml_pci0(struct aml *a)
{
	size_t f, m;

	aml_operation_region(a, "PCST", AML_REGION_IO, PCIHP_BASE, PCIHP_LEN);
	f = aml_field(a, "PCST", AML_FIELD_DWORD_WRITE_ZEROS);
	aml_field_unit(a, "PCIU", 32);
	aml_field_unit(a, "PCID", 32);
	aml_field_unit(a, "B0EJ", 32);
	aml_end(a, f);

	for (unsigned int slot = 1; slot < 32; slot++) {
		char name[5];
		size_t d, ej;

		if (!(PCIHP_SLOTS & (1u << slot)))
			continue;
		slot_name(name, slot);
		d = aml_device(a, name);
		aml_name(a, "_ADR");
		aml_integer(a, (uint64_t)slot << 16);
		aml_name(a, "_SUN");
		aml_integer(a, slot);
		ej = aml_method(a, "_EJ0", 1, false);
		aml_store(a);
		aml_integer(a, 1ULL << slot);
		aml_namestring(a, "B0EJ");
		aml_end(a, ej);
		aml_end(a, d);
	}

	m = aml_method(a, "PCNT", 0, true);
	aml_store(a);
	aml_namestring(a, "PCIU");
	aml_local(a, 0);
	aml_store(a);
	aml_namestring(a, "PCID");
	aml_local(a, 1);
	for (unsigned int slot = 1; slot < 32; slot++) {
		if (!(PCIHP_SLOTS & (1u << slot)))
			continue;
		notify_if(a, 0, slot, 1);	/* device check: scan the slot */
		notify_if(a, 1, slot, 3);	/* eject request */
	}
	aml_end(a, m);
}

void pcihp_aml_gpe(struct aml *a)
{
	char name[5];
	size_t m;

	snprintf(name, sizeof(name), "_E%02X", PCIHP_GPE_BIT);
	m = aml_method(a, name, 0, false);
	aml_namestring(a, "\\_SB.PCI0.PCNT");
	aml_end(a, m);
}

/* ---- VM glue ------------------------------------------------------------- */

struct pcihp {
	struct vm *vm;
	pthread_mutex_t lock;
	struct pcihp_state st;
};

struct eject_work {
	struct vm *vm;
	uint32_t slots;
};

static bool in_slot(const struct device *d, const void *slot)
{
	return d->pci && (d->pci->devfn >> 3) == *(const unsigned int *)slot;
}

/* Main thread: the guest ejected these slots; their devices go. */
static void eject(void *opaque)
{
	struct eject_work *w = opaque;

	for (unsigned int slot = 1; slot < 32; slot++) {
		struct device *d;

		if (!(w->slots & (1u << slot)))
			continue;
		d = dev_find_if(&w->vm->devs, in_slot, &slot);
		if (!d) {
			pr_debug("pcihp: guest ejected empty slot %u", slot);
			continue;
		}
		if (d->pinned) {
			pr_warn("pcihp: guest ejected %s (%s) from slot %u; it stays (kvmio needs it)",
				d->id, d->kind, slot);
			dev_put(d);
			continue;
		}
		pr_info("pcihp: guest ejected %s (%s) from slot %u", d->id, d->kind, slot);
		dev_remove(&w->vm->devs, d);
		dev_put(d);
	}
	free(w);
}

static void pcihp_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len, bool is_write)
{
	struct pcihp *p = opaque;
	unsigned int reg = (unsigned int)off & ~3u;
	uint32_t v, ej = 0;

	/* Registers are dwords; a narrower access sees its bytes of one. */
	if ((off & 3) + len > 4) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&p->lock);
	if (is_write) {
		v = (uint32_t)le_read(data, len) << (8 * (off & 3));
		ej = pcihp_state_write(&p->st, reg, v);
	} else {
		v = pcihp_state_read(&p->st, reg);
		le_write(data, len, v >> (8 * (off & 3)));
	}
	pthread_mutex_unlock(&p->lock);
	if (ej) {
		/* Removal joins threads and waits for handlers: not on a vCPU. */
		struct eject_work *w = malloc(sizeof(*w));

		if (w) {
			*w = (struct eject_work){ p->vm, ej };
			if (loop_defer(&p->vm->loop, eject, w))
				free(w);
		}
	}
}

static int signal_slot(struct vm *vm, unsigned int slot, bool up)
{
	struct pcihp *p = vm->pcihp;

	if (!p || slot == 0 || slot >= 32 || !(PCIHP_SLOTS & (1u << slot)))
		return -ENODEV;
	pthread_mutex_lock(&p->lock);
	if (up) {
		p->st.up |= 1u << slot;
		p->st.down &= ~(1u << slot);
	} else {
		p->st.down |= 1u << slot;
	}
	pthread_mutex_unlock(&p->lock);
	return pm_gpe_raise(vm, PCIHP_GPE_BIT);
}

int pcihp_plugged(struct vm *vm, unsigned int slot)
{
	return signal_slot(vm, slot, true);
}

int pcihp_request_eject(struct vm *vm, unsigned int slot)
{
	return signal_slot(vm, slot, false);
}

bool pcihp_eject_pending(struct vm *vm, unsigned int slot)
{
	struct pcihp *p = vm->pcihp;
	bool ret;

	if (!p || slot >= 32)
		return false;
	pthread_mutex_lock(&p->lock);
	ret = p->st.down & (1u << slot);
	pthread_mutex_unlock(&p->lock);
	return ret;
}

static int pcihp_dev_init(struct vm *vm)
{
	struct pcihp *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return -ENOMEM;
	p->vm = vm;
	pthread_mutex_init(&p->lock, NULL);
	ret = bus_register(&vm->bus, BUS_PIO, PCIHP_BASE, PCIHP_LEN, pcihp_io, p, "acpi-pcihp");
	if (ret) {
		pthread_mutex_destroy(&p->lock);
		free(p);
		return ret;
	}
	vm->pcihp = p;
	return 0;
}

static void pcihp_dev_exit(struct vm *vm)
{
	struct pcihp *p = vm->pcihp;

	if (!p)
		return;
	vm->pcihp = NULL;
	bus_unregister(&vm->bus, BUS_PIO, PCIHP_BASE);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

const struct vm_device_ops pcihp_dev_ops = {
	.name = "acpi-pcihp",
	.init = pcihp_dev_init,
	.exit = pcihp_dev_exit,
};
