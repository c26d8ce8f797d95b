// SPDX-License-Identifier: Apache-2.0
/*
 * ACPI tables: RSDP, RSDT, XSDT, FADT, FACS, MADT and a DSDT built with the
 * AML emitter. Section numbers are ACPI 6.4's. Layouts are packed structs
 * written straight into the caller's buffer; x86 is little-endian, as ACPI is.
 */
#include <errno.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/aml.h"
#include "util.h"
#include "vm.h"

#define ACPI_OEM_ID		"KVMIO "	/* 6 bytes */
#define ACPI_OEM_TABLE_ID	"KVMIO   "	/* 8 bytes */
#define ACPI_OEM_REVISION	1
#define ACPI_CREATOR_ID		"KVMI"
#define ACPI_CREATOR_REVISION	1

/* The OS scans this range on 16-byte boundaries for the RSDP (5.2.5.1). */
#define RSDP_SCAN_START		0xE0000ULL
#define RSDP_SCAN_END		0x100000ULL

/* xAPIC IDs are 8 bits and 0xFF is the broadcast ID; more CPUs would need x2APIC entries. */
#define ACPI_MAX_CPUS		255

/* The PS/2 mouse (auxiliary port) interrupt of the i8042; kvmio has no constant for it yet. */

#define PACKED __attribute__((packed))

struct acpi_header {			/* 5.2.6 */
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} PACKED;

struct acpi_rsdp {			/* 5.2.5.3 */
	char signature[8];
	uint8_t checksum;		/* over the first 20 bytes (ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum;	/* over all 36 bytes */
	uint8_t reserved[3];
} PACKED;

struct acpi_gas {			/* 5.2.3.2 */
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} PACKED;

#define GAS_SYSTEM_IO		1
#define GAS_ACCESS_BYTE		1

struct acpi_facs {			/* 5.2.10 */
	char signature[4];
	uint32_t length;
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;
	uint8_t reserved[3];
	uint32_t ospm_flags;
	uint8_t reserved2[24];
} PACKED;

struct acpi_fadt {			/* 5.2.9, revision 6 */
	struct acpi_header header;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} PACKED;

/* FADT fixed feature flags (table 5.10) and IA-PC boot architecture flags (table 5.11). */
#define FADT_WBINVD		(1u << 0)
#define FADT_PROC_C1		(1u << 2)
#define FADT_PWR_BUTTON		(1u << 4)	/* set: no fixed-feature power button */
#define FADT_SLP_BUTTON		(1u << 5)	/* set: no fixed-feature sleep button */
#define FADT_TMR_VAL_EXT	(1u << 8)	/* PM timer is 32 bits, not 24 */
#define FADT_RESET_REG_SUP	(1u << 10)
#define IAPC_LEGACY_DEVICES	(1u << 0)
#define IAPC_8042		(1u << 1)
#define IAPC_VGA_NOT_PRESENT	(1u << 2)
/* P_LVLx_LAT above 100 (C2) or 1000 (C3) microseconds says the state is unsupported. */
#define FADT_NO_C2_LAT		0x0FFF
#define FADT_NO_C3_LAT		0x0FFF
#define CMOS_CENTURY		0x32

struct acpi_madt {			/* 5.2.12 */
	struct acpi_header header;
	uint32_t lapic_address;
	uint32_t flags;
} PACKED;

#define MADT_PCAT_COMPAT	(1u << 0)	/* dual 8259s present too: Linux masks them */

struct madt_lapic {			/* 5.2.12.2 */
	uint8_t type, length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;
} PACKED;

struct madt_ioapic {			/* 5.2.12.3 */
	uint8_t type, length;
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} PACKED;

struct madt_iso {			/* 5.2.12.5 Interrupt Source Override */
	uint8_t type, length;
	uint8_t bus;
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;
} PACKED;

struct madt_lapic_nmi {			/* 5.2.12.7 */
	uint8_t type, length;
	uint8_t processor_uid;
	uint16_t flags;
	uint8_t lint;
} PACKED;

#define MADT_TYPE_LAPIC		0
#define MADT_TYPE_IOAPIC	1
#define MADT_TYPE_ISO		2
#define MADT_TYPE_LAPIC_NMI	4
#define MADT_LAPIC_ENABLED	(1u << 0)
#define MADT_ALL_PROCESSORS	0xFF
/* MPS INTI flags (table 5.26): polarity bits 0-1, trigger mode bits 2-3; 0 = bus default. */
#define MPS_INTI_ACTIVE_HIGH	0x1
#define MPS_INTI_LEVEL		(0x3 << 2)

_Static_assert(sizeof(struct acpi_header) == 36, "ACPI header");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS");
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6");
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT");
_Static_assert(sizeof(struct madt_lapic) == 8, "MADT LAPIC");
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT IOAPIC");
_Static_assert(sizeof(struct madt_iso) == 10, "MADT ISO");
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "MADT LAPIC NMI");

/* The caller's buffer and the guest-physical address it stands for; tables go in in order. */
struct acpi_buf {
	uint8_t *base;
	size_t size;
	uint64_t gpa;
	size_t used;
};

/* Reserve @len bytes whose guest-physical address is @align-aligned; NULL when full. */
static void *acpi_alloc(struct acpi_buf *b, size_t len, size_t align)
{
	size_t off = (size_t)(ALIGN_UP(b->gpa + b->used, align) - b->gpa);

	if (off > b->size || len > b->size - off)
		return NULL;
	b->used = off + len;
	return b->base + off;
}

static uint64_t acpi_gpa(const struct acpi_buf *b, const void *p)
{
	return b->gpa + (uint64_t)((const uint8_t *)p - b->base);
}

/* The byte that makes @len bytes at @p sum to zero, given that it is currently 0. */
static uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *q = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += q[i];
	return (uint8_t)-sum;
}

static void acpi_header_init(struct acpi_header *h, const char *sig, uint8_t revision)
{
	memcpy(h->signature, sig, 4);
	h->revision = revision;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = ACPI_CREATOR_REVISION;
}

/* Set the length and checksum once the table's contents are final. */
static void acpi_header_finish(struct acpi_header *h, size_t len)
{
	h->length = (uint32_t)len;
	h->checksum = 0;
	h->checksum = acpi_checksum(h, len);
}

static struct acpi_gas gas_io(uint16_t port, unsigned int bytes, uint8_t access_size)
{
	return (struct acpi_gas){
		.space_id = GAS_SYSTEM_IO,
		.bit_width = (uint8_t)(bytes * 8),
		.access_size = access_size,
		.address = port,
	};
}

static struct acpi_facs *facs_build(struct acpi_buf *b)
{
	/* 5.2.10: the FACS must be 64-byte aligned. It has no checksum. */
	struct acpi_facs *facs = acpi_alloc(b, sizeof(*facs), 64);

	if (!facs)
		return NULL;
	memcpy(facs->signature, "FACS", 4);
	facs->length = sizeof(*facs);
	facs->version = 2;
	return facs;
}

/* The legacy ISA devices Linux's PNP layer looks for; QEMU describes the same ones. */
static const struct dsdt_isa_dev {
	const char *name;
	const char *hid;
	int uid;			/* -1: no _UID */
	struct { uint16_t port; uint8_t len; } io[2];	/* len 0: unused */
	unsigned int irq;
} dsdt_isa_devs[] = {
	{ "COM1", "PNP0501", 1, { { UART_COM1_PORT, 8 } }, UART_COM1_IRQ },
	{ "RTC", "PNP0B00", -1, { { RTC_PORT, 2 } }, RTC_IRQ },
	{ "KBD", "PNP0303", -1, { { I8042_DATA_PORT, 1 }, { I8042_CMD_PORT, 1 } }, I8042_KBD_IRQ },
	{ "MOU", "PNP0F13", -1, { { 0 } }, I8042_AUX_IRQ },
};

static void dsdt_isa_device(struct aml *a, const struct dsdt_isa_dev *d)
{
	size_t dev, crs;

	/* No _STA: a device without one is present and enabled (6.3.7). */
	dev = aml_device(a, d->name);
	aml_name(a, "_HID");
	aml_eisaid(a, d->hid);
	if (d->uid >= 0) {
		aml_name(a, "_UID");
		aml_integer(a, (uint64_t)d->uid);
	}
	aml_name(a, "_CRS");
	crs = aml_resource_template(a);
	for (size_t i = 0; i < ARRAY_SIZE(d->io); i++)
		if (d->io[i].len)
			aml_io(a, d->io[i].port, d->io[i].port, 1, d->io[i].len);
	aml_irq_noflags(a, d->irq);
	aml_resource_template_end(a, crs);
	aml_end(a, dev);
}

/* The DSDT's AML, after its header. */
static void dsdt_body(struct aml *a, const struct acpi_config *cfg)
{
	size_t pkg, sb;

	/*
	 * \_S5 (7.4.2): SLP_TYPa, SLP_TYPb, two reserved. Emitted in the root
	 * scope as "_S5_", which is how iasl itself optimizes "\_S5".
	 */
	aml_name(a, "_S5");
	pkg = aml_package(a, 4);
	aml_integer(a, cfg->s5_typ);
	aml_integer(a, cfg->s5_typ);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a, pkg);

	/* "_SB" rather than "\\_SB": the same at the root, and what iasl emits. */
	sb = aml_scope(a, "_SB");
	for (size_t i = 0; i < ARRAY_SIZE(dsdt_isa_devs); i++)
		dsdt_isa_device(a, &dsdt_isa_devs[i]);
	aml_end(a, sb);
}

static int dsdt_build(struct acpi_buf *b, const struct acpi_config *cfg, uint64_t *gpa)
{
	struct acpi_header *h = acpi_alloc(b, sizeof(*h), 8);
	struct aml a;
	int ret;

	if (!h)
		return -ENOSPC;
	/* Revision 2: integers are 64 bits (19.6.29), so OnesOp is all ones. */
	acpi_header_init(h, "DSDT", 2);
	aml_init(&a, b->base + b->used, b->size - b->used);
	dsdt_body(&a, cfg);
	ret = aml_error(&a);
	if (ret)
		return ret;
	b->used += a.len;
	acpi_header_finish(h, sizeof(*h) + a.len);
	*gpa = acpi_gpa(b, h);
	return 0;
}

static struct acpi_fadt *fadt_build(struct acpi_buf *b, const struct acpi_config *cfg,
				    uint64_t facs, uint64_t dsdt)
{
	struct acpi_fadt *f = acpi_alloc(b, sizeof(*f), 8);

	if (!f)
		return NULL;
	acpi_header_init(&f->header, "FACP", 6);
	f->minor_version = 4;	/* ACPI 6.4; layout unchanged since 6.0 */

	/*
	 * Table 5.9: FIRMWARE_CTRL must be zero when X_FIRMWARE_CTRL is not
	 * (and the other way round); like QEMU, use the 32-bit one, which ACPI
	 * 1.0 readers understand too. For the DSDT and the register blocks
	 * below, both fields, equal: ACPICA warns about any 32/64-bit address
	 * or length mismatch (tbfadt.c).
	 */
	f->firmware_ctrl = (uint32_t)facs;
	f->x_firmware_ctrl = 0;
	f->dsdt = (uint32_t)dsdt;
	f->x_dsdt = dsdt;

	f->sci_int = cfg->sci_irq;
	/* SMI_CMD 0: no SMM handshake, the hardware is always in ACPI mode (SCI_EN reads 1). */
	f->smi_cmd = 0;

	f->pm1a_evt_blk = cfg->pm1a_evt;
	f->pm1_evt_len = 4;
	f->x_pm1a_evt_blk = gas_io(cfg->pm1a_evt, 4, 0);
	f->pm1a_cnt_blk = cfg->pm1a_cnt;
	f->pm1_cnt_len = 2;
	f->x_pm1a_cnt_blk = gas_io(cfg->pm1a_cnt, 2, 0);
	f->pm_tmr_blk = cfg->pm_tmr;
	f->pm_tmr_len = 4;
	f->x_pm_tmr_blk = gas_io(cfg->pm_tmr, 4, 0);
	if (cfg->gpe0_len) {
		f->gpe0_blk = cfg->gpe0_blk;
		f->gpe0_blk_len = cfg->gpe0_len;
		f->x_gpe0_blk = gas_io(cfg->gpe0_blk, cfg->gpe0_len, 0);
	}

	f->p_lvl2_lat = FADT_NO_C2_LAT;
	f->p_lvl3_lat = FADT_NO_C3_LAT;
	f->century = CMOS_CENTURY;
	f->iapc_boot_arch = IAPC_LEGACY_DEVICES | IAPC_8042 | IAPC_VGA_NOT_PRESENT;
	f->flags = FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON | FADT_SLP_BUTTON |
		   FADT_TMR_VAL_EXT | FADT_RESET_REG_SUP;

	/* 4.8.4.6: the reset register is 8 bits wide; Linux writes it with a byte access. */
	f->reset_reg = gas_io(cfg->reset_port, 1, GAS_ACCESS_BYTE);
	f->reset_value = cfg->reset_value;

	acpi_header_finish(&f->header, sizeof(*f));
	return f;
}

static void *madt_entry(struct acpi_buf *b, uint8_t type, size_t len)
{
	uint8_t *e = acpi_alloc(b, len, 1);

	if (e) {
		e[0] = type;
		e[1] = (uint8_t)len;
	}
	return e;
}

static int madt_iso(struct acpi_buf *b, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	struct madt_iso *iso = madt_entry(b, MADT_TYPE_ISO, sizeof(*iso));

	if (!iso)
		return -ENOSPC;
	iso->bus = 0;		/* ISA */
	iso->source = irq;
	iso->gsi = gsi;
	iso->flags = flags;
	return 0;
}

static struct acpi_madt *madt_build(struct acpi_buf *b, const struct acpi_config *cfg)
{
	struct acpi_madt *m = acpi_alloc(b, sizeof(*m), 8);
	struct madt_ioapic *io;
	struct madt_lapic_nmi *nmi;

	if (!m)
		return NULL;
	acpi_header_init(&m->header, "APIC", 5);	/* ACPI 6.3+ */
	m->lapic_address = (uint32_t)cfg->lapic_addr;
	m->flags = MADT_PCAT_COMPAT;

	/* Processor UID = APIC ID = vCPU index: the LAPIC IDs kvmio gives its vCPUs. */
	for (unsigned int i = 0; i < cfg->ncpus; i++) {
		struct madt_lapic *l = madt_entry(b, MADT_TYPE_LAPIC, sizeof(*l));

		if (!l)
			return NULL;
		l->processor_uid = (uint8_t)i;
		l->apic_id = (uint8_t)i;
		l->flags = MADT_LAPIC_ENABLED;
	}

	io = madt_entry(b, MADT_TYPE_IOAPIC, sizeof(*io));
	if (!io)
		return NULL;
	io->ioapic_id = cfg->ioapic_id;
	io->address = (uint32_t)cfg->ioapic_addr;
	io->gsi_base = 0;

	/*
	 * As on PCs and QEMU: the PIT's IRQ0 arrives on IOAPIC pin 2, and the
	 * SCI is level-triggered, active high (5.2.12.5 requires the SCI's
	 * override when it is not an ISA-default edge interrupt).
	 */
	if (madt_iso(b, 0, 2, 0) ||
	    madt_iso(b, cfg->sci_irq, cfg->sci_irq, MPS_INTI_ACTIVE_HIGH | MPS_INTI_LEVEL))
		return NULL;

	/* Every local APIC's LINT1 is the NMI input, as in the MP spec's virtual wire mode. */
	nmi = madt_entry(b, MADT_TYPE_LAPIC_NMI, sizeof(*nmi));
	if (!nmi)
		return NULL;
	nmi->processor_uid = MADT_ALL_PROCESSORS;
	nmi->flags = 0;
	nmi->lint = 1;

	acpi_header_finish(&m->header, b->used - (size_t)((uint8_t *)m - b->base));
	return m;
}

/* RSDT (32-bit entries) or XSDT (64-bit entries) listing @n tables. */
static struct acpi_header *sdt_build(struct acpi_buf *b, const char *sig, unsigned int entry_size,
				     const uint64_t *tables, unsigned int n)
{
	struct acpi_header *h = acpi_alloc(b, sizeof(*h) + (size_t)n * entry_size, 8);

	if (!h)
		return NULL;
	acpi_header_init(h, sig, 1);
	for (unsigned int i = 0; i < n; i++)
		le_write((uint8_t *)(h + 1) + i * entry_size, entry_size, tables[i]);
	acpi_header_finish(h, sizeof(*h) + (size_t)n * entry_size);
	return h;
}

void acpi_config_init(struct acpi_config *cfg, unsigned int ncpus)
{
	*cfg = (struct acpi_config){
		.ncpus = ncpus,
		.ioapic_addr = IOAPIC_ADDR,
		.ioapic_id = 0,
		.lapic_addr = LAPIC_ADDR,
		.pm1a_evt = ACPI_PM1A_EVT,
		.pm1a_cnt = ACPI_PM1A_CNT,
		.pm_tmr = ACPI_PM_TMR,
		.gpe0_blk = ACPI_GPE0_BLK,
		.gpe0_len = ACPI_GPE0_LEN,
		.reset_port = ACPI_RESET_PORT,
		.reset_value = ACPI_RESET_VALUE,
		.sci_irq = ACPI_SCI_IRQ,
		.s5_typ = ACPI_S5_TYP,
	};
}

static bool acpi_config_valid(const struct acpi_config *cfg)
{
	/* A GAS bit width is 8 bits; GPE blocks split into equal status and enable halves. */
	return cfg->ncpus >= 1 && cfg->ncpus <= ACPI_MAX_CPUS &&
	       cfg->lapic_addr <= UINT32_MAX && cfg->ioapic_addr <= UINT32_MAX &&
	       cfg->gpe0_len % 2 == 0 && cfg->gpe0_len <= 30 && cfg->sci_irq < 16;
}

int acpi_build(void *buf, size_t size, uint64_t gpa, const struct acpi_config *cfg)
{
	struct acpi_buf b = { .base = buf, .size = size, .gpa = gpa };
	struct acpi_rsdp *rsdp;
	struct acpi_facs *facs;
	struct acpi_fadt *fadt;
	struct acpi_madt *madt;
	struct acpi_header *rsdt, *xsdt;
	uint64_t dsdt, tables[2];
	int ret;

	if (!acpi_config_valid(cfg) || gpa % 16 || gpa < RSDP_SCAN_START ||
	    gpa > RSDP_SCAN_END - sizeof(*rsdp) || size > (1ULL << 32) - gpa || size > INT32_MAX)
		return -EINVAL;
	memset(buf, 0, size);

	rsdp = acpi_alloc(&b, sizeof(*rsdp), 16);
	facs = facs_build(&b);
	if (!rsdp || !facs)
		return -ENOSPC;
	ret = dsdt_build(&b, cfg, &dsdt);
	if (ret)
		return ret;
	fadt = fadt_build(&b, cfg, acpi_gpa(&b, facs), dsdt);
	madt = fadt ? madt_build(&b, cfg) : NULL;
	if (!madt)
		return -ENOSPC;

	/* The FADT first: it is what an OS looks for first. */
	tables[0] = acpi_gpa(&b, fadt);
	tables[1] = acpi_gpa(&b, madt);
	xsdt = sdt_build(&b, "XSDT", 8, tables, ARRAY_SIZE(tables));
	/* An RSDT too, for acpi=rsdt and ACPI 1.0 readers; same tables. */
	rsdt = xsdt ? sdt_build(&b, "RSDT", 4, tables, ARRAY_SIZE(tables)) : NULL;
	if (!rsdt)
		return -ENOSPC;

	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, ACPI_OEM_ID, 6);
	rsdp->revision = 2;
	rsdp->rsdt_address = (uint32_t)acpi_gpa(&b, rsdt);
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_address = acpi_gpa(&b, xsdt);
	rsdp->checksum = acpi_checksum(rsdp, 20);
	rsdp->extended_checksum = acpi_checksum(rsdp, sizeof(*rsdp));

	return (int)b.used;
}
