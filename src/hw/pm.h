/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_HW_PM_H
#define KVMIO_HW_PM_H

/*
 * ACPI fixed hardware (ACPI 6.5, chapter 4.8): PM1a event and control
 * blocks, the PM timer, GPE0 and the FADT reset register, at the ports vm.h
 * fixes. The register model is pure; pm.c adds the lock, the ports and SCI.
 */

#include <stdbool.h>
#include <stdint.h>

#include "vm.h"

#define PM1_STS_TMR		0x0001
#define PM1_STS_BM		0x0010
#define PM1_STS_GBL		0x0020
#define PM1_STS_PWRBTN		0x0100
#define PM1_STS_SLPBTN		0x0200
#define PM1_STS_RTC		0x0400
#define PM1_STS_WAK		0x8000

#define PM1_EN_PWRBTN		0x0100
#define PM1_CNT_SCI_EN		0x0001
#define PM1_CNT_BM_RLD		0x0002
#define PM1_CNT_GBL_RLS		0x0004
#define PM1_CNT_SLP_TYP_SHIFT	10
#define PM1_CNT_SLP_TYP		(7u << PM1_CNT_SLP_TYP_SHIFT)
#define PM1_CNT_SLP_EN		0x2000

#define PM_TMR_HZ		3579545ULL

#define PM_GPE0_HALF		(ACPI_GPE0_LEN / 2)	/* status bytes, then enable bytes */
#define PM_GPE0_NR		(PM_GPE0_HALF * 8)

/* What a register write asks of the VM; the glue acts on it. */
enum pm_action {
	PM_ACT_NONE,
	PM_ACT_POWEROFF,	/* SLP_EN with SLP_TYP = ACPI_S5_TYP */
	PM_ACT_REBOOT,		/* ACPI_RESET_VALUE written to the reset register */
};

struct pm_state {
	uint16_t pm1_sts;
	uint16_t pm1_en;
	uint16_t pm1_cnt;	/* SLP_TYP and BM_RLD as written; SCI_EN reads 1 */
	uint8_t gpe_sts[PM_GPE0_HALF];
	uint8_t gpe_en[PM_GPE0_HALF];
	uint64_t tmr_base_ns;	/* CLOCK_MONOTONIC at which the PM timer read 0 */
	bool sleep_warned;
};

/* pm_state_init - power-on state; the PM timer counts from @now_ns. */
void pm_state_init(struct pm_state *s, uint64_t now_ns);

/*
 * pm_read/pm_write - an access of @len bytes (1..8) at I/O port @port, taken
 * byte by byte so any width and alignment works; ports that hold no register
 * read 0xFF. @now_ns is CLOCK_MONOTONIC, sampled once per access so the bytes
 * of one PM timer read agree. pm_write returns the first action any byte
 * asked for.
 */
uint64_t pm_read(struct pm_state *s, unsigned int port, unsigned int len, uint64_t now_ns);
enum pm_action pm_write(struct pm_state *s, unsigned int port, unsigned int len, uint64_t val);

/* pm_timer_value - PM_TMR at @now_ns: 3.579545 MHz, 32 bits (TMR_VAL_EXT). */
uint32_t pm_timer_value(const struct pm_state *s, uint64_t now_ns);

/* pm_sci_level - SCI: some PM1 or GPE0 status bit has its enable bit set. */
bool pm_sci_level(const struct pm_state *s);

/* pm_state_gpe_set - set GPE0 status bit @bit; 0 or -EINVAL. */
int pm_state_gpe_set(struct pm_state *s, unsigned int bit);

/*
 * pm_gpe_raise - set GPE0 status bit @bit of @vm's PM device and update SCI,
 * for devices that signal through GPEs (hotplug). Safe from any thread while
 * the device exists. Returns 0, -EINVAL for a bit past the block, -ENODEV
 * before pm_dev_ops.init or after exit.
 */
int pm_gpe_raise(struct vm *vm, unsigned int bit);

/*
 * pm_power_button - press the fixed-feature power button: PWRBTN_STS, and
 * SCI when the guest enabled it. Returns 0, -EAGAIN when the guest has not
 * enabled the event (no ACPI, or too early in boot), -ENODEV without the
 * device. Any thread.
 */
int pm_power_button(struct vm *vm);

#endif
