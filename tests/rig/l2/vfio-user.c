// SPDX-License-Identifier: Apache-2.0
/*
 * A userspace driver in L2, through L2's own VFIO over kvmio's emulated
 * VT-d (scenario iommu-nested; L2 side: l2/vfio-nested.sh). Built static by
 * tests/rig/rig.mk, at /bin/vfio-user in L2. The device must be bound to
 * vfio-pci already. Every DMA address it hands the device is an IOVA that
 * L2's VFIO mapped through L2's intel-iommu into kvmio's unit:
 *
 *   vfio-user edu BDF
 *     QEMU's edu, assigned by kvmio (L1's VFIO) and then by L2 to this
 *     program (nested assignment): a transfer RAM -> device -> RAM through
 *     two IOVAs; then the destination unmapped and a transfer to it again,
 *     and one to an IOVA never mapped: neither changes memory (L1's IOMMU
 *     refuses them, as kvmio's shadow of L2's domain no longer or never had
 *     them; the scenario finds the faults in L1's log).
 *
 *   vfio-user virtio-blk BDF
 *     kvmio's own virtio-blk, driven as a hostile driver would: a read whose
 *     data buffer is an IOVA unmapped just before (the device must refuse the
 *     write into it, fail the request, and leave the page as it was), a write
 *     from that IOVA (nothing may reach the disk), then a good read into a
 *     mapped page (the driver works: the refusals were the IOMMU's).
 *
 * Output: "RIG-L2 nested KEY=VALUE ..." lines, "RIG-L2 error: ..." for
 * anything that went wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE		4096u

static void die(const char *fmt, ...)
{
	va_list ap;

	printf("RIG-L2 error: vfio-user: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" (errno %s)\n", strerror(errno));
	exit(1);
}

/* ---- VFIO: container, group, device, regions, DMA --------------------------- */

struct dev {
	int container, group, fd;
	uint64_t off[VFIO_PCI_NUM_REGIONS];	/* region offsets in the device fd */
	uint64_t size[VFIO_PCI_NUM_REGIONS];
};

static void dev_open(struct dev *d, const char *bdf)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[128], link[256];
	ssize_t n;
	int type;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		die("%s: no IOMMU group", bdf);
	link[n] = 0;
	snprintf(path, sizeof(path), "/dev/vfio/%s", strrchr(link, '/') + 1);
	d->container = open("/dev/vfio/vfio", O_RDWR);
	if (d->container < 0)
		die("open /dev/vfio/vfio");
	d->group = open(path, O_RDWR);
	if (d->group < 0)
		die("open %s", path);
	if (ioctl(d->group, VFIO_GROUP_GET_STATUS, &st) || !(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		die("%s: group not viable", path);
	if (ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container))
		die("VFIO_GROUP_SET_CONTAINER");
	type = ioctl(d->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0 ? VFIO_TYPE1v2_IOMMU
										 : VFIO_TYPE1_IOMMU;
	if (ioctl(d->container, VFIO_SET_IOMMU, type))
		die("VFIO_SET_IOMMU (without interrupt remapping L2 needs "
		    "vfio_iommu_type1.allow_unsafe_interrupts=1)");
	d->fd = ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (d->fd < 0)
		die("VFIO_GROUP_GET_DEVICE_FD %s", bdf);
	for (unsigned int i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		struct vfio_region_info ri = { .argsz = sizeof(ri), .index = i };

		if (ioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, &ri) == 0) {
			d->off[i] = ri.offset;
			d->size[i] = ri.size;
		}
	}
}

static uint64_t rd(struct dev *d, unsigned int region, uint64_t off, unsigned int len)
{
	uint64_t v = 0;

	if (pread(d->fd, &v, len, (off_t)(d->off[region] + off)) != (ssize_t)len)
		die("reading %u bytes at 0x%llx of region %u", len, (unsigned long long)off, region);
	return v;
}

static void wr(struct dev *d, unsigned int region, uint64_t off, unsigned int len, uint64_t v)
{
	if (pwrite(d->fd, &v, len, (off_t)(d->off[region] + off)) != (ssize_t)len)
		die("writing %u bytes at 0x%llx of region %u", len, (unsigned long long)off, region);
}

#define CFG	VFIO_PCI_CONFIG_REGION_INDEX

static void *dma_buf(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap %zu bytes", len);
	memset(p, 0, len);
	return p;
}

static void dma_map(struct dev *d, uint64_t iova, void *va, uint64_t len)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va, .iova = iova, .size = len,
	};

	if (ioctl(d->container, VFIO_IOMMU_MAP_DMA, &m))
		die("VFIO_IOMMU_MAP_DMA iova 0x%llx", (unsigned long long)iova);
}

static void dma_unmap(struct dev *d, uint64_t iova, uint64_t len)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = len };

	if (ioctl(d->container, VFIO_IOMMU_UNMAP_DMA, &u) || u.size != len)
		die("VFIO_IOMMU_UNMAP_DMA iova 0x%llx", (unsigned long long)iova);
}

static void bus_master(struct dev *d)
{
	wr(d, CFG, 4, 2, rd(d, CFG, 4, 2) | 0x6);	/* memory space, bus master */
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static bool all(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u | 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)(x >> 11);
	}
}

/* ---- edu (QEMU docs/specs/edu.rst) -------------------------------------------- */

#define EDU_ID		0x00
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_CNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_DMA_BUF	0x40000u
#define EDU_LEN		4000u	/* QEMU 7.2's edu wants a transfer's end strictly inside its buffer */

/* Below edu's 28-bit DMA mask. */
#define EDU_IOVA_SRC	0x00100000ull
#define EDU_IOVA_DST	0x00101000ull
#define EDU_IOVA_NEVER	0x00300000ull

static void edu_dma(struct dev *d, uint64_t src, uint64_t dst, bool to_ram)
{
	uint64_t t0 = now_ms();

	wr(d, VFIO_PCI_BAR0_REGION_INDEX, EDU_DMA_SRC, 8, src);
	wr(d, VFIO_PCI_BAR0_REGION_INDEX, EDU_DMA_DST, 8, dst);
	wr(d, VFIO_PCI_BAR0_REGION_INDEX, EDU_DMA_CNT, 8, EDU_LEN);
	wr(d, VFIO_PCI_BAR0_REGION_INDEX, EDU_DMA_CMD, 8, 1 | (to_ram ? 2 : 0));
	while (rd(d, VFIO_PCI_BAR0_REGION_INDEX, EDU_DMA_CMD, 8) & 1)
		if (now_ms() - t0 > 5000)
			die("edu DMA not done after 5 s");
}

static void edu(const char *bdf)
{
	struct dev d = { 0 };
	uint8_t *buf = dma_buf(2 * PAGE), *src = buf, *dst = buf + PAGE;
	uint8_t want[EDU_LEN];
	uint32_t id;

	dev_open(&d, bdf);
	bus_master(&d);
	id = (uint32_t)rd(&d, VFIO_PCI_BAR0_REGION_INDEX, EDU_ID, 4);
	printf("RIG-L2 nested edu id=0x%08x\n", id);
	dma_map(&d, EDU_IOVA_SRC, src, PAGE);
	dma_map(&d, EDU_IOVA_DST, dst, PAGE);

	/* There and back through the two IOVAs. */
	fill(src, EDU_LEN, 11);
	memcpy(want, src, EDU_LEN);
	memset(dst, 0x5A, PAGE);
	edu_dma(&d, EDU_IOVA_SRC, EDU_DMA_BUF, false);
	edu_dma(&d, EDU_DMA_BUF, EDU_IOVA_DST, true);
	printf("RIG-L2 nested edu dma=%s\n",
	       !memcmp(dst, want, EDU_LEN) && all(dst + EDU_LEN, PAGE - EDU_LEN, 0x5A) ? "ok" : "bad");

	/* Unmapped, then written to: the page keeps what it had. */
	dma_unmap(&d, EDU_IOVA_DST, PAGE);
	memset(dst, 0x66, PAGE);
	edu_dma(&d, EDU_DMA_BUF, EDU_IOVA_DST, true);
	usleep(200000);
	printf("RIG-L2 nested edu unmapped=%s iova=0x%llx\n", all(dst, PAGE, 0x66) ? "ok" : "bad",
	       (unsigned long long)EDU_IOVA_DST);

	/* Never mapped: nothing of ours can change (the source page is checked for luck). */
	memset(src, 0x77, PAGE);
	edu_dma(&d, EDU_DMA_BUF, EDU_IOVA_NEVER, true);
	usleep(200000);
	printf("RIG-L2 nested edu never=%s iova=0x%llx\n",
	       all(src, PAGE, 0x77) && all(dst, PAGE, 0x66) ? "ok" : "bad",
	       (unsigned long long)EDU_IOVA_NEVER);
	dma_unmap(&d, EDU_IOVA_SRC, PAGE);
}

/* ---- virtio-blk, modern virtio-pci (virtio 1.2, 4.1) ------------------------- */

#define VIRTIO_PCI_CAP_COMMON	1
#define VIRTIO_PCI_CAP_NOTIFY	2
#define ST_ACK			1
#define ST_DRIVER		2
#define ST_DRIVER_OK		4
#define ST_FEATURES_OK		8
#define F_VERSION_1_HI		(1u << 0)	/* feature 32 */
#define F_ACCESS_PLATFORM_HI	(1u << 1)	/* feature 33 */
#define VQ_SIZE			8
#define DESC_NEXT		1
#define DESC_WRITE		2

/* IOVAs: the rings, the request header and status, the data pages. */
#define BLK_IOVA_RING		0x00200000ull
#define BLK_IOVA_REQ		0x00201000ull
#define BLK_IOVA_DATA		0x00202000ull	/* mapped, then unmapped: the attack's target */
#define BLK_IOVA_GOOD		0x00203000ull

struct vcap {
	unsigned int bar;
	uint32_t off;
};

struct blk {
	struct dev d;
	struct vcap common, notify;
	uint32_t notify_mult;
	uint8_t *ring, *req;
	uint16_t avail_idx, used_seen;
};

#define COMMON(o)	b->common.bar, b->common.off + (o)

static void virtio_caps(struct blk *b)
{
	unsigned int ptr = (unsigned int)rd(&b->d, CFG, 0x34, 1) & 0xFC;
	bool common = false, notify = false;

	for (unsigned int n = 0; ptr && n < 48; n++) {
		unsigned int id = (unsigned int)rd(&b->d, CFG, ptr, 1);
		unsigned int next = (unsigned int)rd(&b->d, CFG, ptr + 1, 1) & 0xFC;

		if (id == 0x09) {
			unsigned int type = (unsigned int)rd(&b->d, CFG, ptr + 3, 1);
			struct vcap c = { (unsigned int)rd(&b->d, CFG, ptr + 4, 1),
					  (uint32_t)rd(&b->d, CFG, ptr + 8, 4) };

			if (type == VIRTIO_PCI_CAP_COMMON && !common) {
				b->common = c;
				common = true;
			}
			if (type == VIRTIO_PCI_CAP_NOTIFY && !notify) {
				b->notify = c;
				notify = true;
				b->notify_mult = (uint32_t)rd(&b->d, CFG, ptr + 16, 4);
			}
		}
		ptr = next;
	}
	if (!common || !notify)
		die("no virtio common or notify capability");
}

static void blk_init(struct blk *b)
{
	uint32_t hi;

	wr(&b->d, COMMON(0x14), 1, 0);				/* reset */
	while (rd(&b->d, COMMON(0x14), 1))
		usleep(1000);
	wr(&b->d, COMMON(0x14), 1, ST_ACK | ST_DRIVER);
	wr(&b->d, COMMON(0x00), 4, 1);
	hi = (uint32_t)rd(&b->d, COMMON(0x04), 4);
	if ((hi & (F_VERSION_1_HI | F_ACCESS_PLATFORM_HI)) != (F_VERSION_1_HI | F_ACCESS_PLATFORM_HI))
		die("virtio-blk offers features 0x%x above 32: no VERSION_1 | ACCESS_PLATFORM", hi);
	wr(&b->d, COMMON(0x08), 4, 0);
	wr(&b->d, COMMON(0x0C), 4, 0);
	wr(&b->d, COMMON(0x08), 4, 1);
	wr(&b->d, COMMON(0x0C), 4, F_VERSION_1_HI | F_ACCESS_PLATFORM_HI);
	wr(&b->d, COMMON(0x14), 1, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	if (!(rd(&b->d, COMMON(0x14), 1) & ST_FEATURES_OK))
		die("virtio-blk refused VERSION_1 | ACCESS_PLATFORM");

	/* Queue 0: descriptors at 0, the available ring at 0x100, the used ring at 0x200. */
	wr(&b->d, COMMON(0x16), 2, 0);
	if (rd(&b->d, COMMON(0x18), 2) < VQ_SIZE)
		die("virtio-blk queue 0 is smaller than %u", VQ_SIZE);
	wr(&b->d, COMMON(0x18), 2, VQ_SIZE);
	wr(&b->d, COMMON(0x1A), 2, 0xFFFF);			/* no MSI-X vector: polled */
	wr(&b->d, COMMON(0x20), 8, BLK_IOVA_RING);
	wr(&b->d, COMMON(0x28), 8, BLK_IOVA_RING + 0x100);
	wr(&b->d, COMMON(0x30), 8, BLK_IOVA_RING + 0x200);
	wr(&b->d, COMMON(0x1C), 2, 1);
	wr(&b->d, COMMON(0x14), 1, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
}

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/*
 * One request: header (type, sector 0), 512 bytes of data at @data, status.
 * Returns the status byte the device wrote, or -1 if it left it alone.
 */
static int blk_request(struct blk *b, uint32_t type, uint64_t data, uint32_t *used_len)
{
	struct desc *dt = (struct desc *)b->ring;
	volatile uint16_t *avail = (uint16_t *)(b->ring + 0x100);
	volatile uint16_t *used_idx = (uint16_t *)(b->ring + 0x202);
	volatile uint32_t *used_ring = (uint32_t *)(b->ring + 0x204);
	volatile uint8_t *status = b->req + 0x100;
	uint32_t notify_off;
	uint64_t t0 = now_ms();

	memset(b->req, 0, 16);
	memcpy(b->req, &type, 4);
	*status = 0xEE;
	dt[0] = (struct desc){ BLK_IOVA_REQ, 16, DESC_NEXT, 1 };
	dt[1] = (struct desc){ data, 512, (uint16_t)(DESC_NEXT | (type == 0 ? DESC_WRITE : 0)), 2 };
	dt[2] = (struct desc){ BLK_IOVA_REQ + 0x100, 1, DESC_WRITE, 0 };
	avail[2 + b->avail_idx % VQ_SIZE] = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	avail[1] = ++b->avail_idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	wr(&b->d, COMMON(0x16), 2, 0);
	notify_off = (uint32_t)rd(&b->d, COMMON(0x1E), 2);
	wr(&b->d, b->notify.bar, b->notify.off + notify_off * b->notify_mult, 2, 0);
	while (*used_idx == b->used_seen)
		if (now_ms() - t0 > 5000)
			die("virtio-blk request type %u not completed after 5 s", type);
	*used_len = used_ring[2 * (b->used_seen % VQ_SIZE) + 1];
	b->used_seen++;
	return *status == 0xEE ? -1 : *status;
}

static void virtio_blk(const char *bdf)
{
	struct blk bb = { 0 }, *b = &bb;
	uint8_t *data = dma_buf(PAGE), *good = dma_buf(PAGE);
	uint32_t len;
	int st;

	dev_open(&b->d, bdf);
	bus_master(&b->d);
	virtio_caps(b);
	b->ring = dma_buf(PAGE);
	b->req = dma_buf(PAGE);
	dma_map(&b->d, BLK_IOVA_RING, b->ring, PAGE);
	dma_map(&b->d, BLK_IOVA_REQ, b->req, PAGE);
	dma_map(&b->d, BLK_IOVA_GOOD, good, PAGE);
	blk_init(b);

	/* The target: mapped once (so the IOVA was real), unmapped, its page kept and marked. */
	dma_map(&b->d, BLK_IOVA_DATA, data, PAGE);
	dma_unmap(&b->d, BLK_IOVA_DATA, PAGE);
	memset(data, 0x66, PAGE);

	st = blk_request(b, 0, BLK_IOVA_DATA, &len);		/* read sector 0 into it */
	printf("RIG-L2 nested blk attack_read status=%d used_len=%u page=%s iova=0x%llx\n", st, len,
	       all(data, PAGE, 0x66) ? "unchanged" : "written", (unsigned long long)BLK_IOVA_DATA);
	st = blk_request(b, 1, BLK_IOVA_DATA, &len);		/* write sector 0 from it */
	printf("RIG-L2 nested blk attack_write status=%d used_len=%u\n", st, len);
	st = blk_request(b, 0, BLK_IOVA_GOOD, &len);		/* the control: a good read */
	printf("RIG-L2 nested blk good_read status=%d used_len=%u first=%02x%02x%02x%02x%02x%02x%02x%02x\n",
	       st, len, good[0], good[1], good[2], good[3], good[4], good[5], good[6], good[7]);
	wr(&b->d, COMMON(0x14), 1, 0);				/* reset: the device lets go */
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 3)
		die("usage: vfio-user edu|virtio-blk BDF");
	if (!strcmp(argv[1], "edu"))
		edu(argv[2]);
	else if (!strcmp(argv[1], "virtio-blk"))
		virtio_blk(argv[2]);
	else
		die("unknown device kind %s", argv[1]);
	printf("RIG-L2 nested %s done\n", argv[1]);
	return 0;
}
