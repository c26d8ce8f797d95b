// SPDX-License-Identifier: Apache-2.0
/*
 * bench/exits' guest: the cost of one VM exit, timed with the guest's own
 * TSC, under kvmio and under QEMU (q35, -accel kvm) alike. It boots through
 * kvmio's 64-bit entry or through a BIOS loader (header.S, boot32.S), finds
 * everything it touches through ACPI and PCI enumeration, and ends with an
 * ACPI S5 whose port and SLP_TYP come from the firmware's own tables.
 *
 * Kinds, each an operation repeated exits.n times (default 10000) with
 * interrupts off, after a warm-up of n/10:
 *
 *   pio     outb to EXITS_PORT, a port no device claims under either VMM:
 *           KVM_EXIT_IO, the VMM finds nothing and drops it
 *   mmio    32-bit write to EXITS_MMIO, guest-physical space with no RAM
 *           and no device under either VMM: KVM_EXIT_MMIO, dropped
 *   cf8     a PCI config read through mechanism #1: outl 0xCF8 then inl
 *           0xCFC, two exits to the VMM (the number is per read)
 *   ecam    a PCI config read through ECAM (base from ACPI MCFG): one MMIO
 *           exit to the VMM
 *   notify  a virtio-pci queue notification (16-bit write of the queue index
 *           to the notify address of a virtio-rng's queue 0, set up as far as
 *           DRIVER_OK): both VMMs serve it in the kernel with an ioeventfd,
 *           so the VMM itself is not on the vCPU's path
 *   cpuid   CPUID leaf 0: an exit KVM handles in the kernel, the VMM never
 *           sees it; the floor the other kinds stand on, and a check that
 *           both VMMs' runs met the same machine
 *
 * The kinds take turns: each repeat (exits.reps, default 5) times every kind
 * once, so drift hits them alike. exits.only=KIND runs that kind alone (to
 * profile it, or to count its exits). Per kind: the median and minimum over the
 * repeats, in TSC cycles per operation; the TSC is calibrated against the
 * ACPI PM timer (3.579545 MHz; FADT PM_TMR_BLK) to print nanoseconds too.
 * The last line before UCALL DONE is the one bench/exits parses:
 *
 *   EXITS tsc_khz=K n=N reps=R pio=C mmio=C cf8=C ecam=C notify=C cpuid=C
 *         pio_ns=T ... (cycles and ns per operation, medians)
 */
#include "pci_lib.h"
#include "virtio_lib.h"

/*
 * Unclaimed under kvmio (src/hw/ports.c and friends claim nothing here) and
 * under QEMU q35 with -nodefaults (its "io" region's unassigned part).
 */
#define EXITS_PORT	0x0E00
/*
 * Above RAM (the guest checks that it does not read back what it wrote),
 * below kvmio's MMIO32 window (0xC0000000) and q35's MMCONFIG (0xB0000000).
 */
#define EXITS_MMIO	0xA0000000UL

#define PM_TIMER_HZ	3579545ULL

enum kind { K_PIO, K_MMIO, K_CF8, K_ECAM, K_NOTIFY, K_CPUID, K_NR };
static const char *const kind_name[K_NR] = { "pio", "mmio", "cf8", "ecam", "notify", "cpuid" };

#define REPS_MAX	31

static struct vq_mem vqmem __attribute__((aligned(4096)));
static uint64_t ecam_base;	/* bus 0 */
static unsigned int rng_bdf;
static uint64_t notify_addr;
static uint16_t notify_val;
static uint32_t cf8_addr;

/* --- ACPI ----------------------------------------------------------------- */

/* ECAM base of segment 0 bus 0 from MCFG (PCI Firmware 3.2, 4.1.2). */
static uint64_t mcfg_ecam_base(void)
{
	const struct acpi_header *t = acpi_find_table("MCFG");

	GUEST_ASSERT_MSG(t, "no MCFG table: no ECAM to time");
	for (uint32_t off = 44; off + 16 <= t->length; off += 16) {
		const uint8_t *e = (const uint8_t *)t + off;
		uint64_t base = *(const uint64_t *)e;
		uint16_t seg = *(const uint16_t *)(e + 8);
		uint8_t bus0 = e[10];

		if (seg == 0 && bus0 == 0)
			return base;
	}
	GUEST_FAIL("MCFG has no entry for segment 0 from bus 0");
}

static uint16_t pm_tmr_port;
static uint32_t pm_tmr_mask;

static void pm_timer_find(void)
{
	const uint8_t *fadt = acpi_find_table("FACP");

	GUEST_ASSERT_MSG(fadt, "no FADT");
	uint32_t blk = *(const uint32_t *)(fadt + 76);	/* PM_TMR_BLK */
	uint32_t flags = *(const uint32_t *)(fadt + 112);

	GUEST_ASSERT_MSG(blk && blk <= 0xFFFF, "FADT PM_TMR_BLK 0x%x: no PM timer in port space", blk);
	pm_tmr_port = (uint16_t)blk;
	pm_tmr_mask = flags & (1u << 8) ? 0xFFFFFFFFu : 0xFFFFFFu;	/* TMR_VAL_EXT */
}

/* TSC kHz against the PM timer over about 200 ms (each timer read is an exit). */
static uint64_t tsc_khz_calibrate(void)
{
	uint32_t p0 = inl(pm_tmr_port) & pm_tmr_mask, p, dp;
	uint64_t t0 = rdtsc(), t1;

	do {
		p = inl(pm_tmr_port) & pm_tmr_mask;
		dp = (p - p0) & pm_tmr_mask;
	} while (dp < PM_TIMER_HZ / 5);
	t1 = rdtsc();
	return (t1 - t0) * PM_TIMER_HZ / dp / 1000;
}

/* --- the operations --------------------------------------------------------- */

static inline void op(enum kind k)
{
	switch (k) {
	case K_PIO:
		outb(EXITS_PORT, 0);
		break;
	case K_MMIO:
		mmio_write32(EXITS_MMIO, 0);
		break;
	case K_CF8:
		outl(PCI_CONF_ADDR, cf8_addr);
		(void)inl(PCI_CONF_DATA);
		break;
	case K_ECAM:
		(void)mmio_read32(ecam_base + ((uint64_t)rng_bdf << 12));
		break;
	case K_NOTIFY:
		mmio_write16(notify_addr, notify_val);
		break;
	case K_CPUID: {
		uint32_t a = 0, b, c = 0, d;

		__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
		break;
	}
	default:
		break;
	}
}

/* One kind @n times; a loop per kind, so each loop holds nothing but its operation. */
static uint64_t run(enum kind k, uint64_t n)
{
	uint64_t t0, t1;

#define LOOP(K) do { t0 = rdtsc(); for (uint64_t i = 0; i < n; i++) op(K); t1 = rdtsc(); } while (0)
	switch (k) {
	case K_PIO: LOOP(K_PIO); break;
	case K_MMIO: LOOP(K_MMIO); break;
	case K_CF8: LOOP(K_CF8); break;
	case K_ECAM: LOOP(K_ECAM); break;
	case K_NOTIFY: LOOP(K_NOTIFY); break;
	case K_CPUID: LOOP(K_CPUID); break;
	default: t0 = t1 = 0;
	}
#undef LOOP
	return t1 - t0;
}

static uint64_t median(uint64_t *a, unsigned int n)
{
	for (unsigned int i = 1; i < n; i++) {
		uint64_t t = a[i];
		unsigned int j = i;

		for (; j > 0 && a[j - 1] > t; j--)
			a[j] = a[j - 1];
		a[j] = t;
	}
	return n % 2 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
}

static uint64_t param(const char *key, uint64_t def, uint64_t lo, uint64_t hi)
{
	char buf[24];
	uint64_t v;

	if (!cmdline_get(key, buf, sizeof(buf)))
		return def;
	GUEST_ASSERT_MSG(parse_u64(buf, &v) && v >= lo && v <= hi,
			 "%s=%s: want a number in %lu..%lu", key, buf, lo, hi);
	return v;
}

/* --- setup ---------------------------------------------------------------------- */

static void setup_virtio(void)
{
	static struct vp_dev d;
	static struct virtq vq;

	GUEST_ASSERT_MSG(vp_find(VIRTIO_ID_RNG, &rng_bdf),
			 "no modern virtio-rng (1af4:1044) on bus 0: kvmio --rng, or QEMU "
			 "-device virtio-rng-pci,disable-legacy=on");
	vp_probe(&d, rng_bdf);
	vp_init(&d);
	vq_setup(&d, &vq, 0, VQ_MAX, &vqmem, VIRTIO_MSI_NO_VECTOR);
	vq_enable(&d, &vq);
	/*
	 * DRIVER_OK: QEMU registers its ioeventfds only now (virtio_pci_common_write
	 * -> virtio_pci_start_ioeventfd); kvmio has had them since memory decode
	 * went on (src/virtio/pci.c, ioeventfds_update).
	 */
	vp_set_status(&d, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			      VIRTIO_STATUS_DRIVER_OK);
	GUEST_ASSERT_EQ(vp_status(&d), VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER |
				       VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	notify_addr = vq.notify;
	notify_val = vq.index;
	GUEST_SYNC("virtio-rng at %02x.%x, queue 0 size %u, notify at 0x%lx",
		   PCI_SLOT(rng_bdf), PCI_FN(rng_bdf), vq.size, notify_addr);
}

void guest_main(void)
{
	uint64_t n = param("exits.n", 10000, 1, 100000000);
	uint64_t reps = param("exits.reps", 5, 1, REPS_MAX);
	uint64_t warm = n / 10 > 100 ? n / 10 : 100;
	static uint64_t cyc[K_NR][REPS_MAX];
	uint64_t med[K_NR], lo[K_NR];

	char only[16];
	unsigned int mask = (1u << K_NR) - 1;

	if (cmdline_get("exits.only", only, sizeof(only))) {
		mask = 0;
		for (unsigned int k = 0; k < K_NR; k++)
			if (!memcmp(only, kind_name[k], strlen(kind_name[k]) + 1))
				mask = 1u << k;
		GUEST_ASSERT_MSG(mask, "exits.only=%s: not a kind", only);
	}
	irq_init();
	GUEST_ASSERT_MSG(acpi_poweroff_from_tables(), "no PM1a_CNT_BLK or \\_S5 in the ACPI tables");
	pm_timer_find();
	ecam_base = mcfg_ecam_base();
	setup_virtio();
	cf8_addr = PCI_CONF_ENABLE | rng_bdf << 8;	/* vendor and device ID */

	/* What the kinds read must be what they look like. */
	uint32_t ids = pci_r32(rng_bdf, PCI_VENDOR_ID);

	GUEST_ASSERT_EQ(mmio_read32(ecam_base + ((uint64_t)rng_bdf << 12)), ids);
	mmio_write32(EXITS_MMIO, 0x5A5AA5A5);
	GUEST_ASSERT_MSG(mmio_read32(EXITS_MMIO) != 0x5A5AA5A5,
			 "0x%lx holds what was written: RAM, not an unclaimed address", EXITS_MMIO);

	uint64_t khz = tsc_khz_calibrate();

	GUEST_SYNC("tsc %lu kHz (PM timer port 0x%x, %u bits), ECAM at 0x%lx, pm1a_cnt 0x%x s5 %u",
		   khz, pm_tmr_port, pm_tmr_mask == 0xFFFFFFFFu ? 32 : 24, ecam_base,
		   acpi_pm1a_cnt, acpi_s5_typ);
	GUEST_SYNC("n=%lu reps=%lu warm-up=%lu; port 0x%x, MMIO 0x%lx", n, reps, warm,
		   EXITS_PORT, EXITS_MMIO);

	for (unsigned int k = 0; k < K_NR; k++)
		if (mask & 1u << k)
			run(k, warm);
	for (unsigned int r = 0; r < reps; r++)
		for (unsigned int k = 0; k < K_NR; k++)
			if (mask & 1u << k)
				cyc[k][r] = run(k, n);

	for (unsigned int k = 0; k < K_NR; k++) {
		uint64_t per[REPS_MAX] = { 0 };

		if (!(mask & 1u << k)) {
			med[k] = lo[k] = 0;
			continue;
		}

		for (unsigned int r = 0; r < reps; r++)
			per[r] = (cyc[k][r] + n / 2) / n;
		lo[k] = per[0];
		for (unsigned int r = 1; r < reps; r++)
			if (per[r] < lo[k])
				lo[k] = per[r];
		med[k] = median(per, (unsigned int)reps);
		GUEST_SYNC("%s: %lu cycles (min %lu) = %lu ns per operation", kind_name[k],
			   med[k], lo[k], khz ? med[k] * 1000000 / khz : 0);
	}
	guest_printf("EXITS tsc_khz=%lu n=%lu reps=%lu", khz, n, reps);
	for (unsigned int k = 0; k < K_NR; k++)
		if (mask & 1u << k)
			guest_printf(" %s=%lu", kind_name[k], med[k]);
	for (unsigned int k = 0; k < K_NR; k++)
		if (mask & 1u << k)
			guest_printf(" %s_ns=%lu", kind_name[k], khz ? med[k] * 1000000 / khz : 0);
	guest_printf("\n");
}
