// SPDX-License-Identifier: Apache-2.0
/*
 * ACPI fixed hardware: PM1a event/control, PM timer, GPE0, reset register.
 *
 * The FADT that describes these has SMI_CMD = 0 (no legacy mode to leave),
 * so SCI_EN is hardware-owned and always reads 1 (ACPI 6.5, 4.8.2.1). SCI is
 * ISA IRQ 9 driven as a level: high while any enabled status bit is set, so
 * the MADT must describe IRQ 9 as level-triggered, active high.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hw/pm.h"
#include "util.h"
#include "vm.h"

uint32_t pm_timer_value(const struct pm_state *s, uint64_t now_ns)
{
	uint64_t ns = now_ns - s->tmr_base_ns;

	return (uint32_t)((unsigned __int128)ns * PM_TMR_HZ / 1000000000ULL);
}

static uint8_t pm_read_byte(struct pm_state *s, unsigned int port, uint64_t now_ns)
{
	if (port >= ACPI_PM1A_EVT && port < ACPI_PM1A_EVT + 2)
		return (uint8_t)(s->pm1_sts >> (8 * (port - ACPI_PM1A_EVT)));
	if (port >= ACPI_PM1A_EVT + 2 && port < ACPI_PM1A_EVT + 4)
		return (uint8_t)(s->pm1_en >> (8 * (port - ACPI_PM1A_EVT - 2)));
	if (port >= ACPI_PM1A_CNT && port < ACPI_PM1A_CNT + 2) {
		uint16_t cnt = s->pm1_cnt | PM1_CNT_SCI_EN;

		return (uint8_t)(cnt >> (8 * (port - ACPI_PM1A_CNT)));
	}
	if (port >= ACPI_PM_TMR && port < ACPI_PM_TMR + 4)
		return (uint8_t)(pm_timer_value(s, now_ns) >> (8 * (port - ACPI_PM_TMR)));
	if (port >= ACPI_GPE0_BLK && port < ACPI_GPE0_BLK + PM_GPE0_HALF)
		return s->gpe_sts[port - ACPI_GPE0_BLK];
	if (port >= ACPI_GPE0_BLK + PM_GPE0_HALF && port < ACPI_GPE0_BLK + ACPI_GPE0_LEN)
		return s->gpe_en[port - ACPI_GPE0_BLK - PM_GPE0_HALF];
	if (port == ACPI_RESET_PORT)
		return 0;
	return 0xFF;
}

/* The PM1_CNT high byte carries SLP_TYP and SLP_EN (bits 12:10 and 13). */
static enum pm_action write_cnt_high(struct pm_state *s, uint8_t v)
{
	uint16_t cnt = (uint16_t)((s->pm1_cnt & 0x00FF) | (v << 8));
	unsigned int typ = (cnt & PM1_CNT_SLP_TYP) >> PM1_CNT_SLP_TYP_SHIFT;

	/* SLP_EN is write-only and reads 0 (ACPI 6.5, table 4.16). */
	s->pm1_cnt = cnt & ~PM1_CNT_SLP_EN;
	if (!(cnt & PM1_CNT_SLP_EN))
		return PM_ACT_NONE;
	if (typ == ACPI_S5_TYP)
		return PM_ACT_POWEROFF;
	if (!s->sleep_warned) {
		s->sleep_warned = true;
		pr_warn("pm: guest asked for sleep type %u, only S5 (%u) is supported; ignored",
			typ, ACPI_S5_TYP);
	}
	return PM_ACT_NONE;
}

static enum pm_action pm_write_byte(struct pm_state *s, unsigned int port, uint8_t v)
{
	unsigned int shift;

	if (port >= ACPI_PM1A_EVT && port < ACPI_PM1A_EVT + 2) {
		shift = 8 * (port - ACPI_PM1A_EVT);
		s->pm1_sts &= (uint16_t)~(v << shift);		/* write 1 to clear */
	} else if (port >= ACPI_PM1A_EVT + 2 && port < ACPI_PM1A_EVT + 4) {
		shift = 8 * (port - ACPI_PM1A_EVT - 2);
		s->pm1_en = (uint16_t)((s->pm1_en & ~(0xFF << shift)) | (v << shift));
	} else if (port == ACPI_PM1A_CNT) {
		/* SCI_EN is hardware-owned; GBL_RLS is write-only with no BIOS to tell. */
		s->pm1_cnt = (uint16_t)((s->pm1_cnt & 0xFF00) | (v & PM1_CNT_BM_RLD));
	} else if (port == ACPI_PM1A_CNT + 1) {
		return write_cnt_high(s, v);
	} else if (port >= ACPI_GPE0_BLK && port < ACPI_GPE0_BLK + PM_GPE0_HALF) {
		s->gpe_sts[port - ACPI_GPE0_BLK] &= (uint8_t)~v;	/* write 1 to clear */
	} else if (port >= ACPI_GPE0_BLK + PM_GPE0_HALF && port < ACPI_GPE0_BLK + ACPI_GPE0_LEN) {
		s->gpe_en[port - ACPI_GPE0_BLK - PM_GPE0_HALF] = v;
	} else if (port == ACPI_RESET_PORT && v == ACPI_RESET_VALUE) {
		return PM_ACT_REBOOT;
	}
	/* The PM timer is read-only; other ports hold nothing. */
	return PM_ACT_NONE;
}

void pm_state_init(struct pm_state *s, uint64_t now_ns)
{
	memset(s, 0, sizeof(*s));
	s->tmr_base_ns = now_ns;
}

uint64_t pm_read(struct pm_state *s, unsigned int port, unsigned int len, uint64_t now_ns)
{
	uint8_t buf[8];

	len = MIN(len, 8u);
	for (unsigned int i = 0; i < len; i++)
		buf[i] = pm_read_byte(s, port + i, now_ns);
	return le_read(buf, len);
}

enum pm_action pm_write(struct pm_state *s, unsigned int port, unsigned int len, uint64_t val)
{
	enum pm_action act = PM_ACT_NONE, a;

	len = MIN(len, 8u);
	for (unsigned int i = 0; i < len; i++) {
		a = pm_write_byte(s, port + i, (uint8_t)(val >> (8 * i)));
		if (act == PM_ACT_NONE)
			act = a;
	}
	return act;
}

bool pm_sci_level(const struct pm_state *s)
{
	if (s->pm1_sts & s->pm1_en)
		return true;
	for (unsigned int i = 0; i < PM_GPE0_HALF; i++)
		if (s->gpe_sts[i] & s->gpe_en[i])
			return true;
	return false;
}

int pm_state_gpe_set(struct pm_state *s, unsigned int bit)
{
	if (bit >= PM_GPE0_NR)
		return -EINVAL;
	s->gpe_sts[bit / 8] |= (uint8_t)(1u << (bit % 8));
	return 0;
}

/* ---- VM glue ------------------------------------------------------------ */

static const struct {
	uint16_t base, len;
	const char *name;
} pm_ranges[] = {
	{ ACPI_PM1A_EVT, 4, "acpi pm1a_evt" },
	{ ACPI_PM1A_CNT, 2, "acpi pm1a_cnt" },
	{ ACPI_PM_TMR, 4, "acpi pm_tmr" },
	{ ACPI_RESET_PORT, 1, "acpi reset" },
	{ ACPI_GPE0_BLK, ACPI_GPE0_LEN, "acpi gpe0" },
};

struct pm;

/* One registered range: the bus hands its handler offsets relative to base. */
struct pm_window {
	struct pm *pm;
	unsigned int base, len;
};

struct pm {
	pthread_mutex_t lock;
	struct vm *vm;
	struct pm_state st;
	int sci_level;
	struct pm_window win[ARRAY_SIZE(pm_ranges)];
};

/* One VM per process: struct vm has no slot for the PM device. */
/* Caller holds p->lock. */
static void pm_sync_sci(struct pm *p)
{
	int level = pm_sci_level(&p->st);

	if (level != p->sci_level) {
		p->sci_level = level;
		vm_irq_line(p->vm, ACPI_SCI_IRQ, level);
	}
}

static void pm_io(void *opaque, uint64_t off, uint8_t *data, unsigned int len,
		  bool is_write)
{
	struct pm_window *w = opaque;
	struct pm *p = w->pm;
	enum pm_action act = PM_ACT_NONE;
	uint64_t now = time_ns();

	pthread_mutex_lock(&p->lock);
	for (unsigned int i = 0; i < len; i++) {
		unsigned int port = w->base + (unsigned int)off + i;

		/* Bytes past this range belong to nobody: all-ones, dropped. */
		if (off >= w->len || i >= w->len - off) {
			if (!is_write)
				data[i] = 0xFF;
			continue;
		}
		if (is_write) {
			enum pm_action a = pm_write(&p->st, port, 1, data[i]);

			if (act == PM_ACT_NONE)
				act = a;
		} else {
			data[i] = (uint8_t)pm_read(&p->st, port, 1, now);
		}
	}
	pm_sync_sci(p);
	pthread_mutex_unlock(&p->lock);

	if (act == PM_ACT_POWEROFF)
		vm_request_stop(p->vm, VM_STOP_POWEROFF);
	else if (act == PM_ACT_REBOOT)
		vm_request_stop(p->vm, VM_STOP_REBOOT);
}

int pm_gpe_raise(struct vm *vm, unsigned int bit)
{
	struct pm *p = vm->pm;
	int ret;

	if (!p || p->vm != vm)
		return -ENODEV;
	pthread_mutex_lock(&p->lock);
	ret = pm_state_gpe_set(&p->st, bit);
	pm_sync_sci(p);
	pthread_mutex_unlock(&p->lock);
	return ret;
}

int pm_power_button(struct vm *vm)
{
	struct pm *p = vm->pm;
	bool enabled;

	if (!p || p->vm != vm)
		return -ENODEV;
	pthread_mutex_lock(&p->lock);
	p->st.pm1_sts |= PM1_STS_PWRBTN;
	enabled = p->st.pm1_en & PM1_EN_PWRBTN;
	pm_sync_sci(p);
	pthread_mutex_unlock(&p->lock);
	/* Pressed either way; a guest that has not enabled it sees the status bit later. */
	return enabled ? 0 : -EAGAIN;
}

static int pm_dev_init(struct vm *vm)
{
	struct pm *p = calloc(1, sizeof(*p));
	unsigned int i;
	int ret = 0;

	if (!p)
		return -ENOMEM;
	p->vm = vm;
	pthread_mutex_init(&p->lock, NULL);
	pm_state_init(&p->st, time_ns());

	for (i = 0; i < ARRAY_SIZE(pm_ranges); i++) {
		p->win[i] = (struct pm_window){ p, pm_ranges[i].base, pm_ranges[i].len };
		ret = bus_register(&vm->bus, BUS_PIO, pm_ranges[i].base, pm_ranges[i].len,
				   pm_io, &p->win[i], pm_ranges[i].name);
		if (ret)
			goto err_unregister;
	}
	vm->pm = p;
	return 0;

err_unregister:
	while (i--)
		bus_unregister(&vm->bus, BUS_PIO, pm_ranges[i].base);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return ret;
}

/* Called after the vCPUs and any pm_gpe_raise callers have stopped. */
static void pm_dev_exit(struct vm *vm)
{
	struct pm *p = vm->pm;

	if (!p)
		return;
	vm->pm = NULL;
	for (unsigned int i = ARRAY_SIZE(pm_ranges); i--;)
		bus_unregister(&vm->bus, BUS_PIO, pm_ranges[i].base);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

const struct vm_device_ops pm_dev_ops = {
	.name = "acpi-pm",
	.init = pm_dev_init,
	.exit = pm_dev_exit,
};
