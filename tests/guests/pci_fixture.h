/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_GUEST_PCI_FIXTURE_H
#define KVMIO_GUEST_PCI_FIXTURE_H

/*
 * What the pci guest's tests share (pci_fixture.c): the virtio-rng
 * function, one queue on it, buffers, interrupt counters, and the steps
 * every test takes. The bus tests are in pci.c, the virtio ones in
 * pci_virtio.c. Spec references: PCI Local Bus 3.0 (PCI), virtio 1.2
 * (section numbers alone).
 */

#include "virtio_lib.h"

#define VEC_MSI_Q	0x40	/* MSI-X table entry 0: queue 0 */
#define VEC_MSI_CFG	0x41	/* entry 1: config changes */
#define VEC_INTX	0x42
#define VEC_MSI_ALT	0x43	/* entry 0 retargeted */

#define HOSTBRIDGE_IDS	0x00081B36u	/* Red Hat 0x1b36, device 0x0008 */
#define ONE_S		1000000
#define QUIET_US	20000	/* how long "no further interrupt" is watched */
#define FAR_GPA		0x1000000000ull	/* 64 GiB: past any RAM these tests give */

extern struct vp_dev vd;
extern unsigned int rng;	/* the virtio-rng function's bdf */
extern uint8_t bsp;
extern unsigned int intx_gsi;	/* its INTx pin on the IOAPIC */
extern struct virtq vq;
extern struct vq_mem qmem[2];
extern uint8_t bufs[4][128];

/* Interrupts seen, by kind; intx_isr/intx_status as each INTx handler read them. */
extern volatile unsigned int msi_count, msi_cfg_count, msi_alt_count, intx_count;
extern volatile unsigned int intx_spurious, intx_spurious_high;
extern volatile uint8_t intx_isr[8];
extern volatile uint16_t intx_status[8];

/* fresh - every test starts here: rng found and reset, MSI-X off, INTx routed, counters 0. */
void fresh(void);
/* check_alive - kvmio still answers: config space and the common structure read sanely. */
void check_alive(const char *after);
/* msix_on - MSI-X on, entry 0 -> VEC_MSI_Q (@masked), entry 1 -> VEC_MSI_CFG. */
void msix_on(bool masked);
/* rng_start - 3.1.1 in full: features, queue 0 on @mem (vector 0 with @msix), DRIVER_OK. */
void rng_start(bool msix, bool masked, struct vq_mem *mem);
/* rng_add - bufs[@b] made available as one 64-byte writable buffer; returns the head. */
uint16_t rng_add(unsigned int b);
/* rng_post - rng_add, then notify. */
uint16_t rng_post(unsigned int b);
/* check_used - the @n-th used entry is @head with 1..@len random bytes in bufs[@b]. */
void check_used(unsigned int n, uint16_t head, unsigned int b, uint32_t len);
/* quiet - QUIET_US with interrupts on: whatever is still coming arrives. */
void quiet(void);
/* wait_for conditions: used idx >= (uintptr_t)@arg; device_status has bit @arg. */
bool used_reached(void *arg);
bool status_bit(void *arg);

/* pci_virtio.c */
void test_msix(void);
void test_intx(void);
void test_intx_dis(void);
void test_intx_back(void);
void test_features(void);
void test_qsel(void);
void test_early_kick(void);
void test_msix_mask(void);
void test_bad_ring(void);

#endif
