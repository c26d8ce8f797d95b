/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_HW_PCIHP_H
#define KVMIO_HW_PCIHP_H

/*
 * ACPI PCI hotplug on bus 0, the scheme of QEMU's acpi-pcihp (which
 * cloud-hypervisor follows): a register block in I/O space, a GPE, and slot
 * objects in the DSDT. Linux's acpiphp is the guest's side.
 *
 *   PCIHP_BASE + 0  PCIU  read: slots with a device added since the last
 *                         read (the read clears it)
 *   PCIHP_BASE + 4  PCID  read: slots whose device the host asks back
 *   PCIHP_BASE + 8  B0EJ  write: 1 bits eject those slots' devices
 *
 * The host sets a bit and raises GPE0 bit PCIHP_GPE_BIT; \_GPE._E01 calls
 * \_SB.PCI0.PCNT, which reads PCIU and PCID and sends Notify(Sxx, 1) (check
 * the bus) or Notify(Sxx, 3) (eject request) to each slot. The guest's
 * acpiphp then scans the slot, or removes its driver and calls the slot's
 * _EJ0, which writes the slot's bit to B0EJ.
 *
 * The register model is pure (pcihp_state_*); pcihp.c adds the port, the
 * GPE and the devices.
 */
#include <stdbool.h>
#include <stdint.h>

#define PCIHP_BASE	0xAE00
#define PCIHP_LEN	0x0C
#define PCIHP_PCIU	0x0
#define PCIHP_PCID	0x4
#define PCIHP_B0EJ	0x8
#define PCIHP_GPE_BIT	1
/* Slots with hotplug objects: 1-31 (slot 0 is the host bridge). */
#define PCIHP_SLOTS	0xFFFFFFFEu

struct pcihp_state {
	uint32_t up;		/* added, not yet read by the guest */
	uint32_t down;		/* removal asked, not yet ejected */
};

/*
 * pcihp_state_read - the 32-bit register at @off (PCIHP_PCIU/PCID; else 0);
 * reading PCIU clears it.
 * pcihp_state_write - a write of @v at @off; returns the slots to eject
 * (B0EJ bits of hotplug slots), clearing their removal requests.
 */
uint32_t pcihp_state_read(struct pcihp_state *s, unsigned int off);
uint32_t pcihp_state_write(struct pcihp_state *s, unsigned int off, uint32_t v);

struct aml;
/*
 * pcihp_aml_pci0 - inside \_SB.PCI0: the register block's OperationRegion
 * and Field, Sxx devices for slots 1-31 (_ADR, _SUN, _EJ0) and PCNT.
 * pcihp_aml_gpe - inside \_GPE: _E01, which calls \_SB.PCI0.PCNT.
 */
void pcihp_aml_pci0(struct aml *a);
void pcihp_aml_gpe(struct aml *a);

struct vm;
struct device;
/*
 * pcihp_plugged - tell the guest slot @slot has a new device (PCIU, GPE).
 * pcihp_request_eject - ask the guest to give @slot's device back (PCID,
 * GPE); the device is removed when the guest writes B0EJ.
 * Any thread. Return 0 or -ENODEV when the VM has no hotplug block.
 */
int pcihp_plugged(struct vm *vm, unsigned int slot);
int pcihp_request_eject(struct vm *vm, unsigned int slot);

/* pcihp_eject_pending - whether @slot's removal was asked and not done. */
bool pcihp_eject_pending(struct vm *vm, unsigned int slot);

#endif
