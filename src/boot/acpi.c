// SPDX-License-Identifier: Apache-2.0
/*
 * ACPI tables: RSDP, RSDT, XSDT, FADT, FACS, MADT, MCFG, DMAR and a DSDT built with
 * the AML emitter. Section numbers are ACPI 6.4's unless another spec is
 * named ("PCI FW": PCI Firmware Specification 3.3). Layouts are packed
 * structs written straight into the caller's buffer; x86 is little-endian,
 * as ACPI is.
 */
#include <errno.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/aml.h"
#include "hw/pcihp.h"
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

/* KVM's in-kernel IOAPIC has 24 pins (KVM_IOAPIC_NUM_PINS): the GSIs PCI INTx can use. */
#define ACPI_IOAPIC_PINS	24

/* PCI geometry: 32 devices x 8 functions x 4 KiB of ECAM config space per bus. */
#define PCI_SLOTS		32
#define PCI_INTX_PINS		4
#define PCI_ECAM_PER_BUS	0x100000ULL
/* Configuration mechanism #1 (CONFIG_ADDRESS, CONFIG_DATA): the host bridge consumes these. */
#define PCI_CF8_PORT		0xCF8
#define PCI_CF8_LEN		8

/* _OSC (6.2.11): the PCI host bridge UUID (PCI FW 4.5.1) and CDW1 status bits. */
#define PCI_HOST_OSC_UUID	"33DB4D5B-1FF7-401C-9657-7441C03DD766"
#define OSC_UNRECOGNIZED_UUID	(1u << 2)
#define OSC_UNRECOGNIZED_REV	(1u << 3)
#define OSC_CAPS_MASKED		(1u << 4)

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

struct acpi_mcfg {			/* PCI FW 4.1.2 */
	struct acpi_header header;
	uint8_t reserved[8];
} PACKED;

struct mcfg_alloc {			/* PCI FW table 4-3: one ECAM area */
	uint64_t base;			/* of bus 0, even if start_bus is not 0 */
	uint16_t segment;
	uint8_t start_bus;
	uint8_t end_bus;
	uint32_t reserved;
} PACKED;

struct acpi_dmar {			/* VT-d 8.1 */
	struct acpi_header header;
	uint8_t host_addr_width;	/* HAW - 1 */
	uint8_t flags;			/* bit 0 INTR_REMAP: not offered */
	uint8_t reserved[10];
} PACKED;

struct dmar_drhd {			/* VT-d 8.3: one remapping unit */
	uint16_t type;			/* 0 */
	uint16_t length;		/* with its device scopes */
	uint8_t flags;			/* bit 0 INCLUDE_PCI_ALL */
	uint8_t size;			/* register set: 2^size pages */
	uint16_t segment;
	uint64_t address;		/* of the register page */
} PACKED;

struct dmar_scope {			/* VT-d 8.3.1, with one path entry */
	uint8_t type;			/* 3: IOAPIC */
	uint8_t length;
	uint16_t reserved;
	uint8_t enumeration_id;		/* the IOAPIC's id */
	uint8_t start_bus;
	uint8_t path_device;
	uint8_t path_function;
} PACKED;

#define DMAR_DRHD_INCLUDE_PCI_ALL	1
#define DMAR_SCOPE_IOAPIC		3
/*
 * The IOAPIC's requester id in the scope: a pseudo bus:device.function no
 * PCI device uses, as QEMU's q35 does (bus 0xFF). It matters only for
 * interrupt remapping, which kvmio does not offer; Linux wants it listed.
 */
#define DMAR_IOAPIC_BUS			0xFF

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
_Static_assert(sizeof(struct acpi_mcfg) == 44, "MCFG");
_Static_assert(sizeof(struct mcfg_alloc) == 16, "MCFG allocation");
_Static_assert(sizeof(struct acpi_dmar) == 48, "DMAR");
_Static_assert(sizeof(struct dmar_drhd) == 16, "DRHD");
_Static_assert(sizeof(struct dmar_scope) == 8, "DMAR device scope");

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

/* A window the host bridge forwards: ResourceProducer, PosDecode, MinFixed, MaxFixed. */
static struct aml_addr_space pci_window(enum aml_space_type type, uint8_t type_flags,
					uint64_t base, uint64_t size)
{
	return (struct aml_addr_space){
		.type = type,
		.flags = AML_SPACE_MIN_FIXED | AML_SPACE_MAX_FIXED,
		.type_flags = type_flags,
		.min = base,
		.max = base + size - 1,
		.length = size,
	};
}

/*
 * The host bridge's _CRS, shaped like QEMU's q35: bus numbers, the config
 * ports it consumes itself, then the windows it forwards. Ports below 0xCF8
 * are a window too, as in QEMU, so the legacy devices' ports lie inside the
 * root bus's resources. Above the config ports, only the window kvmio
 * assigns I/O BARs from (pci_io_*), not QEMU's whole 0xD00-0xFFFF: Linux
 * would otherwise be free to move BARs where pci.c does not expect them.
 * Memory windows: non-cacheable below 4 GiB, cacheable above, as QEMU's;
 * neither prefetchable, since Linux puts only prefetchable BARs in those.
 */
static void pci0_crs(struct aml *a, const struct acpi_config *cfg)
{
	struct aml_addr_space w;
	size_t crs;

	aml_name(a, "_CRS");
	crs = aml_resource_template(a);
	w = pci_window(AML_SPACE_BUS, 0, 0, cfg->pci_bus_end + 1u);
	aml_word_space(a, &w);
	aml_io(a, PCI_CF8_PORT, PCI_CF8_PORT, 1, PCI_CF8_LEN);
	w = pci_window(AML_SPACE_IO, AML_IO_ENTIRE_RANGE, 0, PCI_CF8_PORT);
	aml_word_space(a, &w);
	w = pci_window(AML_SPACE_IO, AML_IO_ENTIRE_RANGE, cfg->pci_io_base, cfg->pci_io_size);
	aml_word_space(a, &w);
	w = pci_window(AML_SPACE_MEM, AML_MEM_RW | AML_MEM_NON_CACHEABLE,
		       cfg->pci_mem32_base, cfg->pci_mem32_size);
	aml_dword_space(a, &w);
	if (cfg->pci_mem64_size) {
		w = pci_window(AML_SPACE_MEM, AML_MEM_RW | AML_MEM_CACHEABLE,
			       cfg->pci_mem64_base, cfg->pci_mem64_size);
		aml_qword_space(a, &w);
	}
	aml_resource_template_end(a, crs);
}

/* _PRT (6.2.13): one Package{_ADR 0xSSSSFFFF (any function), pin, Source 0, GSI} per slot and pin. */
static void pci0_prt(struct aml *a, const struct acpi_config *cfg)
{
	size_t prt, e;

	aml_name(a, "_PRT");
	/* Slot 0 too: it is the host bridge, which uses no pin, but any device there would. */
	prt = aml_package(a, PCI_SLOTS * PCI_INTX_PINS);
	for (unsigned int slot = 0; slot < PCI_SLOTS; slot++) {
		for (unsigned int pin = 0; pin < PCI_INTX_PINS; pin++) {
			e = aml_package(a, 4);
			aml_integer(a, (uint64_t)slot << 16 | 0xFFFF);
			aml_integer(a, pin);
			aml_integer(a, 0);
			aml_integer(a, cfg->pci_intx_gsi_base + (slot + pin) % PCI_INTX_PINS);
			aml_end(a, e);
		}
	}
	aml_end(a, prt);
}

/* CDW1 |= @bit */
static void osc_status(struct aml *a, uint32_t bit)
{
	aml_or(a);
	aml_namestring(a, "CDW1");
	aml_integer(a, bit);
	aml_namestring(a, "CDW1");
}

/*
 * _OSC (6.2.11, PCI FW 4.5): the OS offers to take over PCIe features (CDW3:
 * native hotplug, SHPC, PME, AER, PCIe capability control, LTR, DPC...).
 * kvmio's bus 0 has no root ports, hotplug controller or error reporting, so
 * the platform grants none of them, reporting "capabilities masked" when
 * asked for any; Linux then leaves those features alone, as it should.
 * Serialized: CreateDWordField makes named objects, which two concurrent
 * evaluations would both try to create.
 *
 *   Method (_OSC, 4, Serialized) {
 *       CreateDWordField (Arg3, 0, CDW1)
 *       If (Arg0 == ToUUID (PCI_HOST_OSC_UUID)) {
 *           CreateDWordField (Arg3, 8, CDW3)
 *           If (Arg1 != 1) { CDW1 |= OSC_UNRECOGNIZED_REV }
 *           If (CDW3) { CDW1 |= OSC_CAPS_MASKED; CDW3 = 0 }
 *       } Else { CDW1 |= OSC_UNRECOGNIZED_UUID }
 *       Return (Arg3)
 *   }
 */
static void pci0_osc(struct aml *a)
{
	size_t m, uuid_ok, rev, ctl, other;

	m = aml_method(a, "_OSC", 4, true);
	aml_create_dword_field(a, 3, 0, "CDW1");
	uuid_ok = aml_if(a);
	aml_lequal(a);
	aml_arg(a, 0);
	aml_uuid(a, PCI_HOST_OSC_UUID);
	aml_create_dword_field(a, 3, 8, "CDW3");

	rev = aml_if(a);
	aml_lnot(a);
	aml_lequal(a);
	aml_arg(a, 1);
	aml_integer(a, 1);
	osc_status(a, OSC_UNRECOGNIZED_REV);
	aml_end(a, rev);

	ctl = aml_if(a);
	aml_namestring(a, "CDW3");
	osc_status(a, OSC_CAPS_MASKED);
	aml_store(a);
	aml_integer(a, 0);
	aml_namestring(a, "CDW3");
	aml_end(a, ctl);
	aml_end(a, uuid_ok);

	other = aml_else(a);
	osc_status(a, OSC_UNRECOGNIZED_UUID);
	aml_end(a, other);
	aml_return(a);
	aml_arg(a, 3);
	aml_end(a, m);
}

/*
 * \_SB.PCI0: a PCI Express host bridge (PNP0A08), compatible with plain PCI
 * (PNP0A03). No _ADR: a device has a _HID or an _ADR, not both (6.1), and
 * iasl warns about QEMU's having both.
 */
static void dsdt_pci0(struct aml *a, const struct acpi_config *cfg)
{
	size_t dev = aml_device(a, "PCI0");

	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A08");
	aml_name(a, "_CID");
	aml_eisaid(a, "PNP0A03");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_name(a, "_SEG");		/* the MCFG's segment */
	aml_integer(a, 0);
	aml_name(a, "_BBN");		/* the MCFG's start bus */
	aml_integer(a, 0);
	pci0_crs(a, cfg);
	pci0_prt(a, cfg);
	pci0_osc(a);
	if (cfg->pcihp)
		pcihp_aml_pci0(a);
	aml_end(a, dev);
}

/*
 * Linux uses an MCFG area only if it is reserved, in the e820 map or by a
 * motherboard resource device (PNP0C02) in the namespace (pci_mmcfg_reserved()),
 * and checks the latter once ACPI is up: reserve it here as well as in e820.
 */
static void dsdt_ecam_reservation(struct aml *a, const struct acpi_config *cfg)
{
	uint64_t size = (cfg->pci_bus_end + 1u) * PCI_ECAM_PER_BUS;
	size_t dev, crs;

	dev = aml_device(a, "MRES");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0C02");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_name(a, "_CRS");
	crs = aml_resource_template(a);
	if (cfg->pci_ecam_base + size <= 1ULL << 32) {
		aml_memory32_fixed(a, true, (uint32_t)cfg->pci_ecam_base, (uint32_t)size);
	} else {
		struct aml_addr_space r = pci_window(AML_SPACE_MEM, AML_MEM_RW | AML_MEM_NON_CACHEABLE,
						     cfg->pci_ecam_base, size);

		r.flags |= AML_SPACE_CONSUMER;
		aml_qword_space(a, &r);
	}
	/* The VT-d register page: firmware reserves it, so no BAR goes there. */
	if (cfg->dmar_base)
		aml_memory32_fixed(a, false, (uint32_t)cfg->dmar_base, 0x1000);
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
	if (cfg->pci) {
		dsdt_pci0(a, cfg);
		dsdt_ecam_reservation(a, cfg);
	}
	aml_end(a, sb);
	if (cfg->pci && cfg->pcihp) {
		size_t gpe = aml_scope(a, "_GPE");

		pcihp_aml_gpe(a);
		aml_end(a, gpe);
	}
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
	/* A fixed-feature power button (PM1 PWRBTN_STS): vm.power-button presses it. */
	f->flags = FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON |
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

static struct acpi_mcfg *mcfg_build(struct acpi_buf *b, const struct acpi_config *cfg)
{
	struct acpi_mcfg *m = acpi_alloc(b, sizeof(*m) + sizeof(struct mcfg_alloc), 8);
	struct mcfg_alloc *e;

	if (!m)
		return NULL;
	acpi_header_init(&m->header, "MCFG", 1);
	/* Segment 0, starting at bus 0: the same as \_SB.PCI0's _SEG and _BBN. */
	e = (struct mcfg_alloc *)(m + 1);
	e->base = cfg->pci_ecam_base;
	e->segment = 0;
	e->start_bus = 0;
	e->end_bus = cfg->pci_bus_end;
	acpi_header_finish(&m->header, sizeof(*m) + sizeof(*e));
	return m;
}

static struct acpi_dmar *dmar_build(struct acpi_buf *b, const struct acpi_config *cfg)
{
	size_t len = sizeof(struct acpi_dmar) + sizeof(struct dmar_drhd) + sizeof(struct dmar_scope);
	struct acpi_dmar *d = acpi_alloc(b, len, 8);
	struct dmar_drhd *u;
	struct dmar_scope *sc;

	if (!d)
		return NULL;
	acpi_header_init(&d->header, "DMAR", 1);
	d->host_addr_width = (uint8_t)(cfg->dmar_haw - 1);
	u = (struct dmar_drhd *)(d + 1);
	u->type = 0;
	u->length = sizeof(*u) + sizeof(*sc);
	u->flags = DMAR_DRHD_INCLUDE_PCI_ALL;
	u->segment = 0;
	u->address = cfg->dmar_base;
	sc = (struct dmar_scope *)(u + 1);
	sc->type = DMAR_SCOPE_IOAPIC;
	sc->length = sizeof(*sc);
	sc->enumeration_id = cfg->ioapic_id;
	sc->start_bus = DMAR_IOAPIC_BUS;
	acpi_header_finish(&d->header, len);
	return d;
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
		.pci = true,
		.pcihp = true,
		.pci_ecam_base = PCI_ECAM_BASE,
		.pci_bus_end = PCI_ECAM_BUS_END,
		.pci_io_base = PCI_IOPORT_BASE,
		.pci_io_size = PCI_IOPORT_SIZE,
		.pci_mem32_base = PCI_MMIO32_BASE,
		.pci_mem32_size = PCI_MMIO32_SIZE,
		.pci_intx_gsi_base = PCI_INTX_GSI_BASE,
	};
}

static bool acpi_pci_valid(const struct acpi_config *cfg)
{
	uint64_t ecam_size = (cfg->pci_bus_end + 1u) * PCI_ECAM_PER_BUS;

	/*
	 * The I/O window must stay clear of the config ports and the legacy
	 * range forwarded below them; the 32-bit window is described by a
	 * DWord descriptor; ECAM must not lie in a window Linux would put BARs in.
	 */
	return cfg->pci_ecam_base % PCI_ECAM_PER_BUS == 0 &&
	       cfg->pci_ecam_base <= UINT64_MAX - ecam_size &&
	       cfg->pci_io_base >= PCI_CF8_PORT + PCI_CF8_LEN && cfg->pci_io_size &&
	       cfg->pci_io_size <= 0x10000u - cfg->pci_io_base &&
	       cfg->pci_mem32_size && cfg->pci_mem32_base < 1ULL << 32 &&
	       cfg->pci_mem32_size <= (1ULL << 32) - cfg->pci_mem32_base &&
	       cfg->pci_mem64_base <= UINT64_MAX - cfg->pci_mem64_size &&
	       !ranges_overlap(cfg->pci_mem32_base, cfg->pci_mem32_size,
			       cfg->pci_mem64_base, cfg->pci_mem64_size) &&
	       !ranges_overlap(cfg->pci_ecam_base, ecam_size,
			       cfg->pci_mem32_base, cfg->pci_mem32_size) &&
	       !ranges_overlap(cfg->pci_ecam_base, ecam_size,
			       cfg->pci_mem64_base, cfg->pci_mem64_size) &&
	       cfg->pci_intx_gsi_base <= ACPI_IOAPIC_PINS - PCI_INTX_PINS;
}

static bool acpi_config_valid(const struct acpi_config *cfg)
{
	/* A GAS bit width is 8 bits; GPE blocks split into equal status and enable halves. */
	return cfg->ncpus >= 1 && cfg->ncpus <= ACPI_MAX_CPUS &&
	       (!cfg->dmar_base || (cfg->pci && cfg->dmar_base % 0x1000 == 0 &&
				    cfg->dmar_base < 1ULL << 32 && cfg->dmar_haw >= 32 &&
				    cfg->dmar_haw <= 64)) &&
	       cfg->lapic_addr <= UINT32_MAX && cfg->ioapic_addr <= UINT32_MAX &&
	       cfg->gpe0_len % 2 == 0 && cfg->gpe0_len <= 30 && cfg->sci_irq < 16 &&
	       (!cfg->pci || acpi_pci_valid(cfg));
}

int acpi_build(void *buf, size_t size, uint64_t gpa, const struct acpi_config *cfg)
{
	struct acpi_buf b = { .base = buf, .size = size, .gpa = gpa };
	struct acpi_rsdp *rsdp;
	struct acpi_facs *facs;
	struct acpi_fadt *fadt;
	struct acpi_madt *madt;
	struct acpi_mcfg *mcfg;
	struct acpi_header *rsdt, *xsdt;
	uint64_t dsdt, tables[4];
	unsigned int ntables = 0;
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
	tables[ntables++] = acpi_gpa(&b, fadt);
	tables[ntables++] = acpi_gpa(&b, madt);
	if (cfg->pci) {
		mcfg = mcfg_build(&b, cfg);
		if (!mcfg)
			return -ENOSPC;
		tables[ntables++] = acpi_gpa(&b, mcfg);
	}
	if (cfg->dmar_base) {
		struct acpi_dmar *dmar = dmar_build(&b, cfg);

		if (!dmar)
			return -ENOSPC;
		tables[ntables++] = acpi_gpa(&b, dmar);
	}
	xsdt = sdt_build(&b, "XSDT", 8, tables, ntables);
	/* An RSDT too, for acpi=rsdt and ACPI 1.0 readers; same tables. */
	rsdt = xsdt ? sdt_build(&b, "RSDT", 4, tables, ntables) : NULL;
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
