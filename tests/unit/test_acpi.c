// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the ACPI tables (src/boot/acpi.c). They read the tables the
 * way an OS does, by spec offsets (ACPI 6.4 chapter 5), not through acpi.c's
 * structs, so a layout mistake there shows up here.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "boot/acpi.h"
#include "boot/layout.h"
#include "util.h"
#include "vm.h"

#define GPA	BOOT_ACPI_START
#define SIZE	(BOOT_ACPI_END - BOOT_ACPI_START)

static uint8_t mem[SIZE];
static size_t used;

static int build(const struct acpi_config *cfg)
{
	int ret = acpi_build(mem, sizeof(mem), GPA, cfg);

	used = ret > 0 ? (size_t)ret : 0;
	return ret;
}

static uint64_t rd(const uint8_t *p, unsigned int off, unsigned int len)
{
	return le_read(p + off, len);
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s += p[i];
	return s;
}

/* The table at @gpa: inside what acpi_build() used, with signature @sig, a valid length and checksum. */
static const uint8_t *table(uint64_t gpa, const char *sig)
{
	const uint8_t *t;
	uint64_t len;

	assert_true(gpa >= GPA && gpa + 36 <= GPA + used);
	t = mem + (gpa - GPA);
	assert_memory_equal(t, sig, 4);
	len = rd(t, 4, 4);
	assert_true(len >= 36 && gpa + len <= GPA + used);
	assert_int_equal(sum(t, len), 0);
	assert_memory_equal(t + 10, "KVMIO ", 6);
	return t;
}

static const uint8_t *rsdp(void)
{
	assert_memory_equal(mem, "RSD PTR ", 8);
	return mem;
}

/* The table listed in the XSDT with signature @sig; checks the RSDT lists it too. */
static const uint8_t *find(const char *sig)
{
	const uint8_t *xsdt = table(rd(rsdp(), 24, 8), "XSDT");
	const uint8_t *rsdt = table(rd(rsdp(), 16, 4), "RSDT");
	unsigned int n = (unsigned int)(rd(xsdt, 4, 4) - 36) / 8;
	const uint8_t *found = NULL;

	assert_int_equal(rd(rsdt, 4, 4), 36 + 4 * n);
	for (unsigned int i = 0; i < n; i++) {
		uint64_t gpa = rd(xsdt, 36 + 8 * i, 8);

		assert_int_equal(rd(rsdt, 36 + 4 * i, 4), gpa);
		assert_true(gpa >= GPA && gpa + 4 <= GPA + used);
		if (!memcmp(mem + (gpa - GPA), sig, 4)) {
			assert_null(found);	/* listed once */
			found = table(gpa, sig);
		}
	}
	assert_non_null(found);
	return found;
}

static void test_rsdp(void **state)
{
	struct acpi_config cfg;
	const uint8_t *r;

	acpi_config_init(&cfg, 1);
	assert_true(build(&cfg) > 0);
	r = rsdp();
	assert_int_equal(r[15], 2);			/* revision */
	assert_memory_equal(r + 9, "KVMIO ", 6);
	assert_int_equal(sum(r, 20), 0);		/* ACPI 1.0 checksum */
	assert_int_equal(rd(r, 20, 4), 36);		/* length */
	assert_int_equal(sum(r, 36), 0);		/* extended checksum */
	assert_int_equal(GPA % 16, 0);
}

static void test_root_tables(void **state)
{
	struct acpi_config cfg;
	const uint8_t *xsdt;

	acpi_config_init(&cfg, 2);
	assert_true(build(&cfg) > 0);
	xsdt = table(rd(rsdp(), 24, 8), "XSDT");
	assert_int_equal(rd(xsdt, 4, 4), 36 + 3 * 8);
	/* find() checks every entry's checksum and that RSDT and XSDT agree. */
	find("FACP");
	find("APIC");
	find("MCFG");
}

static void check_fadt(const struct acpi_config *cfg)
{
	const uint8_t *f = find("FACP");
	uint64_t facs = rd(f, 36, 4), dsdt = rd(f, 140, 8);
	uint32_t flags = (uint32_t)rd(f, 112, 4);
	const uint8_t *fc;

	assert_int_equal(rd(f, 4, 4), 276);
	assert_int_equal(f[8], 6);

	/* FACS: FIRMWARE_CTRL and X_FIRMWARE_CTRL, one of them zero (table 5.9); 64-byte aligned. */
	assert_int_equal(rd(f, 132, 8), 0);
	assert_int_equal(facs % 64, 0);
	assert_true(facs >= GPA && facs + 64 <= GPA + used);
	fc = mem + (facs - GPA);
	assert_memory_equal(fc, "FACS", 4);
	assert_int_equal(rd(fc, 4, 4), 64);

	assert_int_equal(rd(f, 40, 4), dsdt);
	table(dsdt, "DSDT");

	assert_int_equal(rd(f, 46, 2), cfg->sci_irq);
	assert_int_equal(rd(f, 48, 4), 0);		/* SMI_CMD: always in ACPI mode */

	/* Legacy blocks: address, length; X_ blocks: SystemIO GAS, same address, 8x bits. */
	static const struct { unsigned int a32, len, x; } blk[] = {
		{ 56, 88, 148 },	/* PM1a_EVT */
		{ 64, 89, 172 },	/* PM1a_CNT */
		{ 76, 91, 208 },	/* PM_TMR */
		{ 80, 92, 220 },	/* GPE0 */
	};
	const uint16_t addr[] = { cfg->pm1a_evt, cfg->pm1a_cnt, cfg->pm_tmr, cfg->gpe0_blk };
	const uint8_t len[] = { 4, 2, 4, cfg->gpe0_len };

	for (size_t i = 0; i < ARRAY_SIZE(blk); i++) {
		assert_int_equal(rd(f, blk[i].a32, 4), addr[i]);
		assert_int_equal(f[blk[i].len], len[i]);
		assert_int_equal(f[blk[i].x], 1);
		assert_int_equal(f[blk[i].x + 1], 8 * len[i]);
		assert_int_equal(f[blk[i].x + 2], 0);
		assert_int_equal(rd(f, blk[i].x + 4, 8), addr[i]);
	}
	/* No PM1b, PM2, GPE1 blocks. */
	assert_int_equal(rd(f, 60, 4) | rd(f, 68, 4) | rd(f, 72, 4) | rd(f, 84, 4), 0);
	assert_int_equal(rd(f, 160, 8) | rd(f, 184, 8) | rd(f, 196, 8) | rd(f, 232, 8), 0);

	/* RESET_REG: 8-bit SystemIO at reset_port. */
	assert_int_equal(f[116], 1);
	assert_int_equal(f[117], 8);
	assert_int_equal(f[118], 0);
	assert_int_equal(rd(f, 120, 8), cfg->reset_port);
	assert_int_equal(f[128], cfg->reset_value);

	assert_int_equal(flags & (1u << 0), 1u << 0);		/* WBINVD */
	assert_int_equal(flags & (1u << 2), 1u << 2);		/* PROC_C1 */
	assert_int_equal(flags & (3u << 4), 1u << 5);		/* a fixed power button, no sleep button */
	assert_int_equal(flags & (1u << 8), 1u << 8);		/* TMR_VAL_EXT */
	assert_int_equal(flags & (1u << 10), 1u << 10);		/* RESET_REG_SUP */
	assert_int_equal(flags & (1u << 20), 0);		/* not HW_REDUCED_ACPI */
	assert_int_equal(rd(f, 109, 2), 0x0007);		/* legacy devices, 8042, no VGA */
	assert_int_equal(f[108], 0x32);				/* CMOS century */
}

static void test_fadt(void **state)
{
	struct acpi_config cfg;

	acpi_config_init(&cfg, 1);
	assert_true(build(&cfg) > 0);
	assert_int_equal(cfg.pm1a_evt, ACPI_PM1A_EVT);
	assert_int_equal(cfg.sci_irq, ACPI_SCI_IRQ);
	check_fadt(&cfg);

	/* Everything comes from the config, not from vm.h. */
	cfg.pm1a_evt = 0xB000;
	cfg.pm1a_cnt = 0xB004;
	cfg.pm_tmr = 0xB008;
	cfg.gpe0_blk = 0xAFE0;
	cfg.gpe0_len = 8;
	cfg.reset_port = 0xCF9;
	cfg.reset_value = 0x06;
	cfg.sci_irq = 11;
	assert_true(build(&cfg) > 0);
	check_fadt(&cfg);
}

static void check_madt(unsigned int ncpus)
{
	struct acpi_config cfg;
	const uint8_t *m, *e, *end;
	unsigned int nlapic = 0, nioapic = 0, niso = 0, nnmi = 0;

	acpi_config_init(&cfg, ncpus);
	assert_true(build(&cfg) > 0);
	m = find("APIC");
	assert_int_equal(rd(m, 36, 4), LAPIC_ADDR);
	assert_int_equal(rd(m, 40, 4), 1);		/* PCAT_COMPAT */

	end = m + rd(m, 4, 4);
	for (e = m + 44; e < end; e += e[1]) {
		assert_true(e[1] >= 2 && e + e[1] <= end);
		switch (e[0]) {
		case 0:					/* Processor Local APIC */
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], nlapic);	/* UID */
			assert_int_equal(e[3], nlapic);	/* APIC ID */
			assert_int_equal(rd(e, 4, 4), 1);	/* enabled */
			nlapic++;
			break;
		case 1:					/* I/O APIC */
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], 0);
			assert_int_equal(rd(e, 4, 4), IOAPIC_ADDR);
			assert_int_equal(rd(e, 8, 4), 0);	/* GSI base */
			nioapic++;
			break;
		case 2:					/* Interrupt Source Override */
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0);	/* ISA */
			if (e[3] == 0) {
				assert_int_equal(rd(e, 4, 4), 2);
				assert_int_equal(rd(e, 8, 2), 0);
			} else {
				assert_int_equal(e[3], ACPI_SCI_IRQ);
				assert_int_equal(rd(e, 4, 4), ACPI_SCI_IRQ);
				assert_int_equal(rd(e, 8, 2), 0x000D);	/* level, active high */
			}
			niso++;
			break;
		case 4:					/* Local APIC NMI */
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xFF);	/* all processors */
			assert_int_equal(e[5], 1);	/* LINT1 */
			nnmi++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
	}
	assert_ptr_equal(e, end);
	assert_int_equal(nlapic, ncpus);
	assert_int_equal(nioapic, 1);
	assert_int_equal(niso, 2);
	assert_int_equal(nnmi, 1);
}

static void test_madt(void **state)
{
	check_madt(1);
	check_madt(3);
	check_madt(64);
	check_madt(255);
}

/* memmem() of the bytes given, within table @t. */
#define CONTAINS(t, ...) \
	memmem(t, rd(t, 4, 4), (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

static void test_dsdt(void **state)
{
	struct acpi_config cfg;
	const uint8_t *d;

	acpi_config_init(&cfg, 1);
	assert_true(build(&cfg) > 0);
	d = table(rd(find("FACP"), 140, 8), "DSDT");
	assert_int_equal(d[8], 2);	/* revision 2: 64-bit integers */

	/* Name(_S5, Package(4){5, 5, 0, 0}) */
	assert_non_null(CONTAINS(d, 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
				 0x0A, ACPI_S5_TYP, 0x0A, ACPI_S5_TYP, 0x00, 0x00));
	/* The legacy devices' _HIDs (EisaId), and their I/O and IRQ resources. */
	assert_non_null(CONTAINS(d, 0x0C, 0x41, 0xD0, 0x05, 0x01));	/* PNP0501 */
	assert_non_null(CONTAINS(d, 0x0C, 0x41, 0xD0, 0x0B, 0x00));	/* PNP0B00 */
	assert_non_null(CONTAINS(d, 0x0C, 0x41, 0xD0, 0x03, 0x03));	/* PNP0303 */
	assert_non_null(CONTAINS(d, 0x0C, 0x41, 0xD0, 0x0F, 0x13));	/* PNP0F13 */
	assert_non_null(CONTAINS(d, 0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00));
	assert_non_null(CONTAINS(d, 0x47, 0x01, 0x70, 0x00, 0x70, 0x00, 0x01, 0x02, 0x22, 0x00, 0x01));
	assert_non_null(CONTAINS(d, 0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01, 0x01,
				 0x47, 0x01, 0x64, 0x00, 0x64, 0x00, 0x01, 0x01, 0x22, 0x02, 0x00));
	assert_non_null(CONTAINS(d, 0x22, 0x00, 0x10, 0x79, 0x00));
	/* Nothing kvmio lacks: HPET (PNP0103), floppy (PNP0700), LPT (PNP0400). */
	assert_null(CONTAINS(d, 0x0C, 0x41, 0xD0, 0x01, 0x03));
	assert_null(CONTAINS(d, 0x0C, 0x41, 0xD0, 0x07, 0x00));
	assert_null(CONTAINS(d, 0x0C, 0x41, 0xD0, 0x04, 0x00));

	cfg.s5_typ = 7;
	assert_true(build(&cfg) > 0);
	d = table(rd(find("FACP"), 140, 8), "DSDT");
	assert_non_null(CONTAINS(d, 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
				 0x0A, 0x07, 0x0A, 0x07, 0x00, 0x00));
}

/* The DSDT the FADT points to. */
static const uint8_t *dsdt(void)
{
	return table(rd(find("FACP"), 140, 8), "DSDT");
}

/* PCI Firmware spec 3.3 4.1.2: header, 8 reserved bytes, one 16-byte allocation per segment. */
static void check_mcfg(const struct acpi_config *cfg)
{
	const uint8_t *m = find("MCFG");

	assert_int_equal(rd(m, 4, 4), 36 + 8 + 16);
	assert_int_equal(m[8], 1);				/* revision */
	assert_int_equal(rd(m, 36, 8), 0);			/* reserved */
	assert_int_equal(rd(m, 44, 8), cfg->pci_ecam_base);
	assert_int_equal(rd(m, 52, 2), 0);			/* segment, = _SEG */
	assert_int_equal(m[54], 0);				/* start bus, = _BBN */
	assert_int_equal(m[55], cfg->pci_bus_end);
	assert_int_equal(rd(m, 56, 4), 0);			/* reserved */
}

static void test_mcfg(void **state)
{
	struct acpi_config cfg;

	acpi_config_init(&cfg, 1);
	assert_true(cfg.pci);
	assert_int_equal(cfg.pci_ecam_base, PCI_ECAM_BASE);
	assert_int_equal(cfg.pci_bus_end, PCI_ECAM_BUS_END);
	assert_int_equal(cfg.pci_mem64_size, 0);
	assert_true(build(&cfg) > 0);
	check_mcfg(&cfg);

	cfg.pci_ecam_base = 0x1000000000ULL;
	cfg.pci_bus_end = 255;
	assert_true(build(&cfg) > 0);
	check_mcfg(&cfg);
}

/* The AML integer at *@p (ZeroOp, OneOp, Byte/Word/DWordConst), advancing *@p past it. */
static uint64_t aml_int(const uint8_t **p)
{
	static const unsigned int size[] = { [0x0A] = 1, [0x0B] = 2, [0x0C] = 4 };
	uint8_t op = *(*p)++;
	uint64_t v;

	if (op == 0x00 || op == 0x01)
		return op;
	assert_true(op >= 0x0A && op <= 0x0C);
	v = le_read(*p, size[op]);
	*p += size[op];
	return v;
}

/* Step over a PkgLength (20.2.4), returning its value. */
static size_t aml_pkglen(const uint8_t **p)
{
	unsigned int follow = **p >> 6;
	size_t v = follow ? **p & 0x0F : **p & 0x3F;

	for (unsigned int i = 0; i < follow; i++)
		v |= (size_t)(*p)[1 + i] << (4 + 8 * i);
	*p += 1 + follow;
	return v;
}

/*
 * Name(_PRT, Package(128) { Package(4) { 0xSSSSFFFF, pin, Zero, GSI }, ... }):
 * four entries per slot, 32 slots, GSI = base + (slot + pin) % 4 (acpi.h).
 */
static void check_prt(const uint8_t *d, uint32_t gsi_base)
{
	const uint8_t *p = CONTAINS(d, 0x08, '_', 'P', 'R', 'T', 0x12), *end;

	assert_non_null(p);
	p += 6;
	end = p;
	end += aml_pkglen(&p);
	assert_int_equal(*p++, 128);
	for (unsigned int slot = 0; slot < 32; slot++) {
		for (unsigned int pin = 0; pin < 4; pin++) {
			const uint8_t *e;

			assert_int_equal(*p++, 0x12);		/* PackageOp */
			e = p;
			e += aml_pkglen(&p);
			assert_int_equal(*p++, 4);
			assert_int_equal(aml_int(&p), (uint64_t)slot << 16 | 0xFFFF);
			assert_int_equal(aml_int(&p), pin);
			assert_int_equal(aml_int(&p), 0);	/* Source: none, a GSI */
			assert_int_equal(aml_int(&p), gsi_base + (slot + pin) % 4);
			assert_ptr_equal(p, e);
		}
	}
	assert_ptr_equal(p, end);
}

static void test_dsdt_pci(void **state)
{
	struct acpi_config cfg;
	const uint8_t *d;

	acpi_config_init(&cfg, 1);
	cfg.pcihp = false;	/* its slots have _ADRs: test_dsdt_pcihp */
	assert_true(build(&cfg) > 0);
	d = dsdt();
	/* Device(PCI0) with _HID PNP0A08, _CID PNP0A03, _UID, _SEG and _BBN 0, and no _ADR. */
	assert_non_null(CONTAINS(d, 'P', 'C', 'I', '0', 0x08, '_', 'H', 'I', 'D', 0x0C, 0x41, 0xD0, 0x0A, 0x08,
				 0x08, '_', 'C', 'I', 'D', 0x0C, 0x41, 0xD0, 0x0A, 0x03,
				 0x08, '_', 'U', 'I', 'D', 0x00, 0x08, '_', 'S', 'E', 'G', 0x00,
				 0x08, '_', 'B', 'B', 'N', 0x00));
	assert_null(CONTAINS(d, '_', 'A', 'D', 'R'));
	/* _CRS: bus numbers 0-0, config ports, I/O 0-0xCF7 and 0xC000-0xFFFF, MMIO 0xC0000000-0xDFFFFFFF. */
	assert_non_null(CONTAINS(d, 0x88, 0x0D, 0x00, 0x02, 0x0C, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00,
				 0x47, 0x01, 0xF8, 0x0C, 0xF8, 0x0C, 0x01, 0x08,
				 0x88, 0x0D, 0x00, 0x01, 0x0C, 0x03, 0, 0, 0, 0, 0xF7, 0x0C, 0, 0, 0xF8, 0x0C,
				 0x88, 0x0D, 0x00, 0x01, 0x0C, 0x03, 0, 0, 0x00, 0xC0, 0xFF, 0xFF, 0, 0, 0x00, 0x40,
				 0x87, 0x17, 0x00, 0x00, 0x0C, 0x01, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0xC0,
				 0xFF, 0xFF, 0xFF, 0xDF, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x20, 0x79, 0x00));
	assert_null(CONTAINS(d, 0x8A, 0x2B, 0x00));		/* no 64-bit window yet */
	check_prt(d, PCI_INTX_GSI_BASE);
	/* Method(_OSC, 4, Serialized), checking the host bridge UUID. */
	assert_non_null(CONTAINS(d, '_', 'O', 'S', 'C', 0x0C));
	assert_non_null(CONTAINS(d, 0x93, 0x68, 0x11, 0x13, 0x0A, 0x10, 0x5B, 0x4D, 0xDB, 0x33, 0xF7, 0x1F,
				 0x1C, 0x40, 0x96, 0x57, 0x74, 0x41, 0xC0, 0x3D, 0xD7, 0x66));
	/* Device(MRES), a PNP0C02 reserving the ECAM. */
	assert_non_null(CONTAINS(d, 'M', 'R', 'E', 'S', 0x08, '_', 'H', 'I', 'D', 0x0C, 0x41, 0xD0, 0x0C, 0x02));
	assert_non_null(CONTAINS(d, 0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xE0, 0x00, 0x00, 0x10, 0x00));

	/* What vm.c changes: a 64-bit window; other values all come from the config. */
	cfg.pci_mem64_base = 0x8000000000ULL;
	cfg.pci_mem64_size = 0x8000000000ULL;
	cfg.pci_bus_end = 3;
	cfg.pci_io_base = 0x1000;
	cfg.pci_io_size = 0x1000;
	cfg.pci_mem32_base = 0x80000000;
	cfg.pci_mem32_size = 0x40000000;
	cfg.pci_ecam_base = 0x100000000ULL;
	cfg.pci_intx_gsi_base = 20;
	assert_true(build(&cfg) > 0);
	d = dsdt();
	assert_non_null(CONTAINS(d, 0x88, 0x0D, 0x00, 0x02, 0x0C, 0x00, 0, 0, 0, 0, 0x03, 0, 0, 0, 0x04, 0x00));
	assert_non_null(CONTAINS(d, 0x88, 0x0D, 0x00, 0x01, 0x0C, 0x03, 0, 0, 0x00, 0x10, 0xFF, 0x1F, 0, 0, 0x00, 0x10));
	assert_non_null(CONTAINS(d, 0x87, 0x17, 0x00, 0x00, 0x0C, 0x01, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x80,
				 0xFF, 0xFF, 0xFF, 0xBF, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x40));
	/* Cacheable, read/write (0x03): Linux puts any BAR in a non-prefetchable window. */
	assert_non_null(CONTAINS(d, 0x8A, 0x2B, 0x00, 0x00, 0x0C, 0x03, 0, 0, 0, 0, 0, 0, 0, 0,
				 0, 0, 0, 0, 0x80, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0,
				 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0x79, 0x00));
	check_prt(d, 20);
	/* ECAM above 4 GiB: a QWord consumer (0x0D) reservation, 4 buses x 1 MiB. */
	assert_non_null(CONTAINS(d, 0x8A, 0x2B, 0x00, 0x00, 0x0D, 0x01, 0, 0, 0, 0, 0, 0, 0, 0,
				 0, 0, 0, 0, 0x01, 0, 0, 0, 0xFF, 0xFF, 0x3F, 0x00, 0x01, 0, 0, 0,
				 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0x79, 0x00));
	check_mcfg(&cfg);
}

/* The NameSeg of hotplug slot @slot's Device: "S01_".."S1F_". */
static void slot_seg(char seg[5], unsigned int slot)
{
	snprintf(seg, 5, "S%02X_", slot);
}

/*
 * The PkgLength of the object that opcode @op (1 byte, or 0x5B and a second
 * byte when @op > 0xFF) opens with NameSeg @seg in table @t, or NULL.
 */
static const uint8_t *aml_find_open(const uint8_t *t, unsigned int op, const char *seg)
{
	size_t len = rd(t, 4, 4);

	for (const uint8_t *p = t + 36; (p = memmem(p, len - (size_t)(p - t), seg, 4)); p++) {
		for (unsigned int n = 1; n <= 4 && p - n - 2 >= t; n++) {
			const uint8_t *pl = p - n;

			if ((unsigned int)(pl[0] >> 6) + 1 != n)
				continue;
			if (op > 0xFF ? pl[-2] == op >> 8 && pl[-1] == (op & 0xFF) : pl[-1] == op)
				return pl;
		}
	}
	return NULL;
}

/* Step over NameSeg @seg at *@p. */
static void aml_seg(const uint8_t **p, const char *seg)
{
	if (memcmp(*p, seg, 4))
		fail_msg("expected NameSeg %.4s, found %.4s", seg, (const char *)*p);
	*p += 4;
}

/*
 * ACPI PCI hotplug (src/hw/pcihp.h), inside \_SB.PCI0:
 *   OperationRegion (PCST, SystemIO, 0xAE00, 0x0C)
 *   Field (PCST, DWordAcc, NoLock, ...) { PCIU, 32, PCID, 32, B0EJ, 32 }
 *   Device (Sxx) { Name (_ADR, xx << 16)  Name (_SUN, xx)  Method (_EJ0, 1) { B0EJ = 1 << xx } }
 *   Method (PCNT, 0, Serialized) { Local0 = PCIU  Local1 = PCID
 *       If (Local0 & (1 << xx)) { Notify (Sxx, 1) }  If (Local1 & (1 << xx)) { Notify (Sxx, 3) } }
 * and \_GPE._E01 calling \_SB.PCI0.PCNT; none of it without pcihp or PCI.
 */
static void test_dsdt_pcihp(void **state)
{
	static const char *const absent[] = { "PCST", "PCIU", "PCID", "B0EJ", "PCNT", "_E01", "_GPE",
					      "_EJ0", "_SUN", "_ADR", "S01_", "S1F_" };
	struct acpi_config cfg;
	const uint8_t *d, *p, *end, *f;
	char seg[5];

	acpi_config_init(&cfg, 1);
	assert_true(cfg.pcihp);
	assert_true(build(&cfg) > 0);
	d = dsdt();

	/* OperationRegion (PCST, SystemIO, 0xAE00, 0x0C) */
	assert_non_null(CONTAINS(d, 0x5B, 0x80, 'P', 'C', 'S', 'T', 0x01, 0x0B, 0x00, 0xAE, 0x0A, 0x0C));
	/* Field (PCST, flags) { PCIU, 32, PCID, 32, B0EJ, 32 }: PkgLength 0x15 covers it all. */
	f = CONTAINS(d, 0x5B, 0x81, 0x15, 'P', 'C', 'S', 'T');
	assert_non_null(f);
	assert_int_equal(f[7] & 0x0F, 3);	/* DWordAcc */
	assert_int_equal(f[7] & 0x10, 0);	/* NoLock */
	assert_int_equal(f[7] & 0x60, 0x40);	/* WriteAsZeros */
	assert_memory_equal(f + 8, ((const uint8_t[]){ 'P', 'C', 'I', 'U', 0x20, 'P', 'C', 'I', 'D', 0x20,
						       'B', '0', 'E', 'J', 0x20 }), 15);
	/* S01 in full, as iasl writes Name (_SUN, One) and B0EJ = 0x02. */
	assert_non_null(CONTAINS(d, 0x5B, 0x82, 0x23, 'S', '0', '1', '_',
				 0x08, '_', 'A', 'D', 'R', 0x0C, 0x00, 0x00, 0x01, 0x00,
				 0x08, '_', 'S', 'U', 'N', 0x01,
				 0x14, 0x0D, '_', 'E', 'J', '0', 0x01, 0x70, 0x0A, 0x02, 'B', '0', 'E', 'J'));

	/* Every slot 1-31: Device (Sxx) with _ADR, _SUN and _EJ0 and nothing else. */
	for (unsigned int slot = 1; slot < 32; slot++) {
		const uint8_t *dev_end, *m_end;

		slot_seg(seg, slot);
		p = aml_find_open(d, 0x5B82, seg);		/* DeviceOp */
		if (!p)
			fail_msg("no Device (%.3s)", seg);
		dev_end = p;
		dev_end += aml_pkglen(&p);
		aml_seg(&p, seg);
		assert_int_equal(*p++, 0x08);			/* NameOp */
		aml_seg(&p, "_ADR");
		assert_int_equal(aml_int(&p), (uint64_t)slot << 16);
		assert_int_equal(*p++, 0x08);
		aml_seg(&p, "_SUN");
		assert_int_equal(aml_int(&p), slot);
		assert_int_equal(*p++, 0x14);			/* MethodOp */
		m_end = p;
		m_end += aml_pkglen(&p);
		aml_seg(&p, "_EJ0");
		assert_int_equal(*p++, 0x01);			/* 1 argument, NotSerialized */
		assert_int_equal(*p++, 0x70);			/* StoreOp */
		assert_int_equal(aml_int(&p), 1ULL << slot);
		aml_seg(&p, "B0EJ");
		assert_ptr_equal(p, m_end);
		assert_ptr_equal(p, dev_end);
	}
	/* No slot 0 (the host bridge) and nothing past 31. */
	assert_null(CONTAINS(d, 'S', '0', '0', '_'));
	assert_null(CONTAINS(d, 'S', '2', '0', '_'));

	/* Method (PCNT, 0, Serialized) */
	p = aml_find_open(d, 0x14, "PCNT");			/* MethodOp */
	assert_non_null(p);
	end = p;
	end += aml_pkglen(&p);
	aml_seg(&p, "PCNT");
	assert_int_equal(*p++, 0x08);			/* 0 arguments, Serialized */
	assert_int_equal(*p++, 0x70);			/* Store (PCIU, Local0) */
	aml_seg(&p, "PCIU");
	assert_int_equal(*p++, 0x60);
	assert_int_equal(*p++, 0x70);			/* Store (PCID, Local1) */
	aml_seg(&p, "PCID");
	assert_int_equal(*p++, 0x61);
	for (unsigned int slot = 1; slot < 32; slot++) {
		slot_seg(seg, slot);
		for (unsigned int local = 0; local < 2; local++) {
			const uint8_t *if_end;

			assert_int_equal(*p++, 0xA0);	/* IfOp */
			if_end = p;
			if_end += aml_pkglen(&p);
			assert_int_equal(*p++, 0x7B);	/* And (LocalN, 1 << slot, no target) */
			assert_int_equal(*p++, 0x60 + local);
			assert_int_equal(aml_int(&p), 1ULL << slot);
			assert_int_equal(*p++, 0x00);
			assert_int_equal(*p++, 0x86);	/* Notify (Sxx, 1: check / 3: eject) */
			aml_seg(&p, seg);
			assert_int_equal(aml_int(&p), local ? 3 : 1);
			assert_ptr_equal(p, if_end);
		}
	}
	assert_ptr_equal(p, end);

	/* Scope (_GPE) { Method (_E01, 0) { \_SB.PCI0.PCNT } } */
	assert_non_null(CONTAINS(d, 0x10, 0x1B, '_', 'G', 'P', 'E', 0x14, 0x15, '_', 'E', '0', '1', 0x00,
				 0x5C, 0x2F, 0x03, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'P', 'C', 'N', 'T'));

	/* Without hotplug, or without PCI at all: none of it. */
	for (int variant = 0; variant < 2; variant++) {
		acpi_config_init(&cfg, 1);
		if (variant)
			cfg.pci = false;
		else
			cfg.pcihp = false;
		assert_true(build(&cfg) > 0);
		d = dsdt();
		for (size_t i = 0; i < ARRAY_SIZE(absent); i++)
			if (memmem(d, rd(d, 4, 4), absent[i], 4))
				fail_msg("%s: %s in the DSDT", variant ? "no PCI" : "no pcihp", absent[i]);
		assert_null(CONTAINS(d, 0x5B, 0x80, 'P', 'C', 'S', 'T'));
	}
}

/* cfg.pci = false: the tables kvmio had before PCI, nothing of it anywhere. */
static void test_no_pci(void **state)
{
	struct acpi_config cfg;
	const uint8_t *xsdt, *d;

	acpi_config_init(&cfg, 4);
	cfg.pci = false;
	cfg.pci_ecam_base = 1;		/* invalid, and ignored */
	assert_true(build(&cfg) > 0);
	xsdt = table(rd(rsdp(), 24, 8), "XSDT");
	assert_int_equal(rd(xsdt, 4, 4), 36 + 2 * 8);
	find("FACP");
	find("APIC");
	assert_null(memmem(mem, used, "MCFG", 4));
	d = dsdt();
	assert_null(CONTAINS(d, 'P', 'C', 'I', '0'));
	assert_null(CONTAINS(d, 'M', 'R', 'E', 'S'));
	assert_null(CONTAINS(d, '_', 'P', 'R', 'T'));
	assert_null(CONTAINS(d, '_', 'O', 'S', 'C'));
	assert_null(CONTAINS(d, 0x0C, 0x41, 0xD0, 0x0A, 0x08));	/* PNP0A08 */
	assert_null(CONTAINS(d, 0x0C, 0x41, 0xD0, 0x0C, 0x02));	/* PNP0C02 */
	check_fadt(&cfg);
}

/* Pure: the same input gives the same bytes, whatever the buffer held (test_enospc checks the bounds). */
static void test_deterministic(void **state)
{
	static uint8_t copy[SIZE];
	struct acpi_config cfg;

	acpi_config_init(&cfg, 8);
	memset(mem, 0xAA, sizeof(mem));
	assert_true(build(&cfg) > 0);
	memcpy(copy, mem, sizeof(mem));
	memset(mem, 0x55, sizeof(mem));
	assert_true(build(&cfg) > 0);
	assert_memory_equal(mem, copy, sizeof(mem));
}

static void test_enospc(void **state)
{
	struct acpi_config cfg;
	int need;

	/* The most kvmio builds: 255 vCPUs, PCI with a 64-bit window. It must fit BOOT_ACPI_*. */
	acpi_config_init(&cfg, 255);
	cfg.pci_mem64_base = 1ULL << 40;
	cfg.pci_mem64_size = 1ULL << 40;
	need = build(&cfg);
	assert_true(need > 0 && (size_t)need <= SIZE);

	acpi_config_init(&cfg, 64);
	need = build(&cfg);
	assert_true(need > 0 && need < 8192);
	for (int size = 0; size < need; size++) {
		memset(mem, 0xEE, sizeof(mem));
		assert_int_equal(acpi_build(mem, (size_t)size, GPA, &cfg), -ENOSPC);
		assert_int_equal(mem[size], 0xEE);
	}
	assert_int_equal(acpi_build(mem, (size_t)need, GPA, &cfg), need);
}

static void test_einval(void **state)
{
	struct acpi_config cfg;

	acpi_config_init(&cfg, 1);
	cfg.pcihp = false;	/* the tables fit 4 KiB */
	assert_int_equal(acpi_build(mem, 4096, GPA + 8, &cfg), -EINVAL);	/* RSDP not 16-aligned */
	assert_int_equal(acpi_build(mem, 4096, 0xD0000, &cfg), -EINVAL);	/* below the scan range */
	assert_int_equal(acpi_build(mem, 4096, 0xFFFF0, &cfg), -EINVAL);	/* RSDP crosses 1 MiB */
	assert_true(acpi_build(mem, 4096, 0xF0000, &cfg) > 0);
	cfg.ncpus = 0;
	assert_int_equal(acpi_build(mem, 4096, GPA, &cfg), -EINVAL);
	cfg.ncpus = 256;
	assert_int_equal(acpi_build(mem, 4096, GPA, &cfg), -EINVAL);
	acpi_config_init(&cfg, 1);
	cfg.gpe0_len = 3;
	assert_int_equal(acpi_build(mem, 4096, GPA, &cfg), -EINVAL);
}

/* Break acpi_config_init()'s valid PCI config in way @i; returns what was broken, NULL past the last. */
static const char *break_pci(struct acpi_config *c, unsigned int i)
{
	switch (i) {
	case 0:
		c->pci_ecam_base += 0x1000;
		return "ECAM not 1 MiB-aligned";
	case 1:
		c->pci_ecam_base = UINT64_MAX - 0xFFFFF;
		c->pci_bus_end = 1;
		return "ECAM wraps";
	case 2:
		c->pci_ecam_base = c->pci_mem32_base;
		return "ECAM in the 32-bit window";
	case 3:
		c->pci_mem64_base = 1ULL << 36;
		c->pci_mem64_size = 1ULL << 36;
		c->pci_ecam_base = (1ULL << 36) + (1ULL << 35);
		return "ECAM in the 64-bit window";
	case 4:
		c->pci_io_base = 0xCF8;
		return "I/O window over the config ports";
	case 5:
		c->pci_io_base = 0x800;
		c->pci_io_size = 0x100;
		return "I/O window in the legacy range";
	case 6:
		c->pci_io_size = 0x10000 - c->pci_io_base + 1;
		return "I/O window past 0xFFFF";
	case 7:
		c->pci_io_size = 0;
		return "empty I/O window";
	case 8:
		c->pci_mem32_size = (1ULL << 32) - c->pci_mem32_base + 1;
		return "32-bit window past 4 GiB";
	case 9:
		c->pci_mem32_base = 1ULL << 32;
		return "32-bit window above 4 GiB";
	case 10:
		c->pci_mem32_size = 0;
		return "empty 32-bit window";
	case 11:
		c->pci_mem64_base = 1ULL << 63;
		c->pci_mem64_size = 1ULL << 63;
		return "64-bit window wraps";
	case 12:
		c->pci_mem64_base = 0xD0000000;
		c->pci_mem64_size = 1ULL << 32;
		return "64-bit window over the 32-bit one";
	case 13:
		c->pci_intx_gsi_base = 21;
		return "INTx past the IOAPIC's 24 pins";
	}
	return NULL;
}

static void test_einval_pci(void **state)
{
	struct acpi_config cfg;
	const char *what;

	for (unsigned int i = 0; acpi_config_init(&cfg, 1), (what = break_pci(&cfg, i)); i++) {
		if (acpi_build(mem, sizeof(mem), GPA, &cfg) != -EINVAL)
			fail_msg("accepted: %s", what);
		/* Without PCI, the PCI fields do not matter. */
		cfg.pci = false;
		assert_true(acpi_build(mem, sizeof(mem), GPA, &cfg) > 0);
	}

/* The edges that are fine: the I/O window right after the config ports, INTx on pins 20-23. */
	acpi_config_init(&cfg, 1);
	cfg.pci_io_base = 0xD00;
	cfg.pci_io_size = 0xF300;
	cfg.pci_intx_gsi_base = 20;
	cfg.pci_mem32_size = 0x40000000;
	cfg.pci_ecam_base = 0xB0000000;
	cfg.pci_mem64_base = 1ULL << 32;
	cfg.pci_mem64_size = UINT64_MAX - (1ULL << 32);
	assert_true(acpi_build(mem, sizeof(mem), GPA, &cfg) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsdp),
		cmocka_unit_test(test_root_tables),
		cmocka_unit_test(test_fadt),
		cmocka_unit_test(test_madt),
		cmocka_unit_test(test_dsdt),
		cmocka_unit_test(test_mcfg),
		cmocka_unit_test(test_dsdt_pci),
		cmocka_unit_test(test_dsdt_pcihp),
		cmocka_unit_test(test_no_pci),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_einval),
		cmocka_unit_test(test_einval_pci),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
