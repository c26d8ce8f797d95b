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

/*
 * The timed loops, one per kind, in assembly: each takes n (RDI) and its
 * operand (RSI: port, address or CF8 value; RDX: the notify value) and
 * returns the TSC cycles of n operations, touching no memory but the target.
 * They are position-independent: exits_hot() copies them to EXITS_HIGH and
 * runs them there, with page tables there too. The guest image and its stack
 * sit below 2 MiB, where QEMU's memory map (VGA hole, BIOS areas) makes L1's
 * KVM use 4 KiB nested pages while kvmio's guest gets one 2 MiB page; under
 * nested TCG, which refills its TLB after every world switch, that made even
 * CPUID exits (no VMM involved) about 10% dearer under QEMU. From 8 MiB up,
 * both guests' RAM can have 2 MiB nested pages.
 */
#define EXITS_HIGH		0x800000UL	/* page tables; the loops at +HOT_OFF */
#define EXITS_HIGH_END		0xA00000UL	/* RAM needed up to here */
#define HOT_OFF			0x10000UL

typedef uint64_t (*hot_fn)(uint64_t n, uint64_t op, uint64_t val);

extern const char hot_start[], hot_end[];
extern const char hot_pio[], hot_mmio[], hot_cf8[], hot_ecam[], hot_notify[], hot_cpuid[];

#define T0 "rdtsc; shl $32, %rdx; or %rax, %rdx; mov %rdx, %r8\n\t"
#define T1 "rdtsc; shl $32, %rdx; or %rdx, %rax; sub %r8, %rax; ret\n\t"
__asm__(
	".pushsection .text\n\t"
	".balign 64\n"
	"hot_start:\n"
	"hot_pio:\n\t"		/* outb %al, port */
	"mov %rdi, %rcx; mov %rsi, %r9\n\t" T0
	"mov %r9, %rdx; xor %eax, %eax\n"
	"1: outb %al, %dx; dec %rcx; jnz 1b\n\t" T1
	"hot_mmio:\n\t"		/* movl $0, (addr) */
	"mov %rdi, %rcx\n\t" T0
	"xor %eax, %eax\n"
	"1: movl %eax, (%rsi); dec %rcx; jnz 1b\n\t" T1
	"hot_cf8:\n\t"		/* outl value, 0xCF8; inl 0xCFC */
	"mov %rdi, %rcx\n\t" T0
	"1: mov %esi, %eax; mov $0xCF8, %dx; outl %eax, %dx; mov $0xCFC, %dx; inl %dx, %eax\n\t"
	"dec %rcx; jnz 1b\n\t" T1
	"hot_ecam:\n\t"		/* movl (addr), %eax */
	"mov %rdi, %rcx\n\t" T0
	"1: movl (%rsi), %eax; dec %rcx; jnz 1b\n\t" T1
	"hot_notify:\n\t"	/* movw value, (addr) */
	"mov %rdi, %rcx; mov %rdx, %r9\n\t" T0
	"1: movw %r9w, (%rsi); dec %rcx; jnz 1b\n\t" T1
	"hot_cpuid:\n\t"	/* CPUID leaf 0 */
	"push %rbx; mov %rdi, %r10\n\t" T0
	"1: xor %eax, %eax; xor %ecx, %ecx; cpuid; dec %r10; jnz 1b\n\t"
	"rdtsc; shl $32, %rdx; or %rdx, %rax; sub %r8, %rax; pop %rbx; ret\n"
	"hot_end:\n\t"
	".popsection");
#undef T0
#undef T1

static hot_fn hot[K_NR];
static uint64_t hot_arg[K_NR], hot_val[K_NR];

/* Page tables at EXITS_HIGH as boot32.S's and kvmio's (0-4 GiB, 2 MiB pages), the loops after them. */
static void exits_hot(void)
{
	uint64_t *pml4 = (uint64_t *)EXITS_HIGH, *pdpt = pml4 + 512, *pd = pdpt + 512;
	char *code = (char *)(EXITS_HIGH + HOT_OFF);
	const char *const fns[K_NR] = {
		[K_PIO] = hot_pio, [K_MMIO] = hot_mmio, [K_CF8] = hot_cf8,
		[K_ECAM] = hot_ecam, [K_NOTIFY] = hot_notify, [K_CPUID] = hot_cpuid,
	};

	volatile uint64_t *probe = (volatile uint64_t *)(EXITS_HIGH_END - 8);

	*probe = 0x5A5AA5A5C3C33C3Cull;
	GUEST_ASSERT_MSG(*probe == 0x5A5AA5A5C3C33C3Cull, "no RAM at 0x%lx: the guest needs 16M",
			 EXITS_HIGH_END - 8);
	memset(pml4, 0, 2 * 4096);
	pml4[0] = (uint64_t)pdpt | 3;
	for (unsigned int i = 0; i < 4; i++)
		pdpt[i] = ((uint64_t)pd + i * 4096) | 3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = i << 21 | 0x83;
	write_cr3((uint64_t)pml4);
	GUEST_ASSERT((uint64_t)(pd + 4 * 512) <= (uint64_t)code);
	memcpy(code, hot_start, (size_t)(hot_end - hot_start));
	for (unsigned int k = 0; k < K_NR; k++)
		hot[k] = (hot_fn)(uintptr_t)(code + (fns[k] - hot_start));
	hot_arg[K_PIO] = EXITS_PORT;
	hot_arg[K_MMIO] = EXITS_MMIO;
	hot_arg[K_CF8] = cf8_addr;
	hot_arg[K_ECAM] = ecam_base + ((uint64_t)rng_bdf << 12);
	hot_arg[K_NOTIFY] = notify_addr;
	hot_val[K_NOTIFY] = notify_val;
}

/* One kind @n times: TSC cycles. */
static uint64_t run(enum kind k, uint64_t n)
{
	return hot[k](n, hot_arg[k], hot_val[k]);
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
	exits_hot();

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
