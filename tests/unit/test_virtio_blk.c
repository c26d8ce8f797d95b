// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-blk over the fake transport (fake_virtio.h) and a temp image in
 * /tmp: data round trips checked against the file itself, flush, discard and
 * write-zeroes, GET_ID, read-only disks, the hostile inputs of
 * hostile-guest.md cases 8 and 16, odd image sizes, locking, reset with I/O in
 * flight, requests behind an IOMMU that refuses some of their buffers, and
 * buffers on MMIO or off RAM's end (cases 3 and 4) with and without one.
 * Device tests run twice: through io_uring and through the synchronous
 * fallback (KVMIO_BLK_NO_URING=1).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_virtio.h"
#include "util.h"
#include "virtio/blk.h"
#include "vm.h"

#define GUEST_SIZE	(128 * MiB)
#define IMG_SIZE	(1 * MiB)
#define CAP		(IMG_SIZE / 512)
#define ALL_FEATURES	(~0ULL)
#define ST_UNSET	0xEE		/* status byte before the device writes it */

enum mode { MODE_URING, MODE_SYNC };
static const enum mode uring = MODE_URING, sync_mode = MODE_SYNC;

static struct {
	enum mode mode;
	char path[64];
	int fd;				/* the test's own fd on the image */
	struct vm vm;
	struct fake_guest g;
	struct virtio_dev *vdev;
	char loop[32];			/* a loop device over the image, to detach */
} E;

/*
 * Every ioctl of the device code goes through here (this definition wins
 * over libc's for the whole test binary), so a test can see which block
 * device ioctls the device issued.
 */
static unsigned int blkdiscards;

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (req == BLKDISCARD)
		blkdiscards++;
	return (int)syscall(SYS_ioctl, fd, req, arg);
}

/* ---- helpers ---- */

static void *gp(uint64_t gpa)
{
	return fake_guest_ptr(&E.g, gpa);
}

static void fill_file(uint64_t size, uint8_t byte)
{
	static uint8_t buf[64 * KiB];

	memset(buf, byte, sizeof(buf));
	assert_int_equal(ftruncate(E.fd, 0), 0);
	for (uint64_t off = 0; off < size; off += sizeof(buf)) {
		size_t n = MIN(sizeof(buf), size - off);

		assert_int_equal(pwrite(E.fd, buf, n, (off_t)off), (ssize_t)n);
	}
}

/* Snapshot of the whole image, to prove a request changed nothing. */
static uint8_t *file_copy(size_t *size)
{
	struct stat st;
	uint8_t *buf;

	assert_int_equal(fstat(E.fd, &st), 0);
	*size = (size_t)st.st_size;
	buf = malloc(*size + 1);
	assert_non_null(buf);
	assert_int_equal(pread(E.fd, buf, *size, 0), (ssize_t)*size);
	return buf;
}

static void assert_file_same(const uint8_t *before, size_t size)
{
	size_t now;
	uint8_t *after = file_copy(&now);

	assert_int_equal(now, size);
	assert_memory_equal(after, before, size);
	free(after);
}

static void assert_file_bytes(uint64_t off, uint64_t len, uint8_t byte)
{
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	assert_int_equal(pread(E.fd, buf, len, (off_t)off), (ssize_t)len);
	for (uint64_t i = 0; i < len; i++)
		if (buf[i] != byte)
			fail_msg("image byte %llu: 0x%02x, want 0x%02x",
				 (unsigned long long)(off + i), buf[i], byte);
	free(buf);
}

static int open_disk(const char *serial, bool ro)
{
	struct disk_opts o = { .path = E.path, .readonly = ro, .serial = serial };
	int ret = virtio_blk_create(&E.vm, &o, 0);

	if (ret == 0)
		E.vdev = fake_virtio_last();
	return ret;
}

static void start_disk(const char *serial, bool ro, uint64_t features)
{
	assert_int_equal(open_disk(serial, ro), 0);
	assert_int_equal(fake_virtio_start(E.vdev, &E.g, features), 0);
}

static bool wait_used(uint16_t *head, uint32_t *len)
{
	for (int i = 0; i < 2000; i++) {
		if (fake_ring_used(&E.g, 0, head, len))
			return true;
		fake_virtio_poll_watches(E.vdev, 5);
	}
	return false;
}

static uint64_t new_hdr(uint32_t type, uint64_t sector)
{
	uint64_t hdr = fake_guest_alloc(&E.g, 16);
	struct virtio_blk_outhdr *h = gp(hdr);

	h->type = type;
	h->sector = sector;
	return hdr;
}

static uint64_t new_status(void)
{
	uint64_t st = fake_guest_alloc(&E.g, 1);

	*(uint8_t *)gp(st) = ST_UNSET;
	return st;
}

/* Header, one data segment (if @len), status: put on the ring, not kicked. */
static uint16_t add_req(uint32_t type, uint64_t sector, uint64_t data, uint32_t len,
			bool dev_writes, uint64_t *st)
{
	struct fake_seg segs[3];
	unsigned int n = 0;

	*st = new_status();
	segs[n++] = (struct fake_seg){ new_hdr(type, sector), 16, false };
	if (len)
		segs[n++] = (struct fake_seg){ data, len, dev_writes };
	segs[n++] = (struct fake_seg){ *st, 1, true };
	return fake_ring_add(&E.g, 0, segs, n);
}

/* Run a chain and return its status byte; @used gets the used length. */
static uint8_t run_segs(const struct fake_seg *segs, unsigned int n, uint64_t st, uint32_t *used)
{
	uint16_t head = fake_ring_add(&E.g, 0, segs, n), h;
	uint32_t len;

	E.vdev->ops->notify(E.vdev, 0);
	assert_true(wait_used(&h, &len));
	assert_int_equal(h, head);
	if (used)
		*used = len;
	return *(uint8_t *)gp(st);
}

static uint8_t run_req(uint32_t type, uint64_t sector, uint64_t data, uint32_t len,
		       bool dev_writes, uint32_t *used)
{
	uint64_t st = new_status();
	struct fake_seg segs[3];
	unsigned int n = 0;

	segs[n++] = (struct fake_seg){ new_hdr(type, sector), 16, false };
	if (len)
		segs[n++] = (struct fake_seg){ data, len, dev_writes };
	segs[n++] = (struct fake_seg){ st, 1, true };
	return run_segs(segs, n, st, used);
}

static uint8_t run_range(uint32_t type, uint64_t sector, uint32_t num, uint32_t flags)
{
	uint64_t seg = fake_guest_alloc(&E.g, 16);
	struct virtio_blk_discard_write_zeroes *d = gp(seg);

	d->sector = sector;
	d->num_sectors = num;
	d->flags = flags;
	return run_req(type, 0, seg, 16, false, NULL);
}

static uint64_t new_buf(uint32_t len, uint8_t byte)
{
	uint64_t gpa = fake_guest_alloc(&E.g, len);

	memset(gp(gpa), byte, len);
	return gpa;
}

static uint64_t cfg_read(uint32_t off, unsigned int len)
{
	uint8_t b[8];

	E.vdev->ops->config_read(E.vdev, off, b, len);
	return le_read(b, len);
}

/* io_uring instances this process has open: proves which I/O path a disk took. */
static unsigned int uring_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	unsigned int n = 0;

	assert_non_null(d);
	while ((de = readdir(d))) {
		char tgt[64];
		ssize_t len = readlinkat(dirfd(d), de->d_name, tgt, sizeof(tgt) - 1);

		if (len > 0) {
			tgt[len] = 0;
			n += strcmp(tgt, "anon_inode:[io_uring]") == 0;
		}
	}
	closedir(d);
	return n;
}

static int setup(void **state)
{
	const enum mode *m = *state;

	memset(&E, 0, sizeof(E));
	E.mode = m ? *m : MODE_URING;
	if (E.mode == MODE_SYNC)
		setenv("KVMIO_BLK_NO_URING", "1", 1);
	else
		unsetenv("KVMIO_BLK_NO_URING");
	strcpy(E.path, "/tmp/kvmio-blk-test-image-XXXXXX");
	E.fd = mkstemp(E.path);
	if (E.fd < 0)
		return -1;
	fill_file(IMG_SIZE, 0x11);
	fake_guest_init(&E.g, GUEST_SIZE);
	fake_virtio_reset_counts();
	/* A device stuck in a loop fails the run instead of hanging it. */
	alarm(60);
	log_level = 0;		/* the tests provoke warnings on purpose */
	return 0;
}

static int teardown(void **state)
{
	fake_virtio_destroy_all();
	fake_guest_free(&E.g);
	if (E.loop[0]) {
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "losetup -d %s", E.loop);
		if (system(cmd) != 0)
			fprintf(stderr, "teardown: %s failed\n", cmd);
	}
	close(E.fd);
	unlink(E.path);
	unsetenv("KVMIO_BLK_NO_URING");
	alarm(0);
	return 0;
}

/* ---- the parser alone ---- */

struct pchain {
	struct virtq_chain c;
	uint8_t mem[128 * KiB];
	size_t used;
};

static uint8_t *pc_seg(struct pchain *p, size_t len, bool writable)
{
	uint8_t *base = p->mem + p->used;

	assert_true(p->used + len <= sizeof(p->mem));
	p->c.iov[p->c.n_out + p->c.n_in] = (struct iovec){ base, len };
	if (writable) {
		p->c.n_in++;
		p->c.in_len += len;
	} else {
		assert_int_equal(p->c.n_in, 0);
		p->c.n_out++;
		p->c.out_len += len;
	}
	p->used += len;
	return base;
}

static void pc_hdr(uint8_t *p, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = { .type = type, .sector = sector };

	memcpy(p, &h, sizeof(h));
}

static void test_parse(void **state)
{
	static struct pchain p;
	static struct blk_req r;
	struct blk_geom g = { .capacity = CAP, .discard = true, .write_zeroes = true };
	uint8_t *h, *d, *s;

	/* Header split over two descriptors, data, status. */
	memset(&p, 0, sizeof(p));
	h = pc_seg(&p, 8, false);
	pc_seg(&p, 8, false);
	pc_hdr(p.mem, VIRTIO_BLK_T_IN, 5);
	d = pc_seg(&p, 1024, true);
	s = pc_seg(&p, 1, true);
	virtio_blk_parse(&p.c, &g, &r);
	assert_int_equal(r.op, BLK_OP_READ);
	assert_int_equal(r.offset, 5 * 512);
	assert_int_equal(r.len, 1024);
	assert_int_equal(r.niov, 1);
	assert_ptr_equal(r.iov[0].iov_base, d);
	assert_ptr_equal(r.status_ptr, s);
	(void)h;

	/* Header and data in one readable descriptor; status shares the last data one. */
	memset(&p, 0, sizeof(p));
	h = pc_seg(&p, 16 + 1024, false);
	pc_hdr(h, VIRTIO_BLK_T_OUT, 7);
	d = pc_seg(&p, 1, true);
	virtio_blk_parse(&p.c, &g, &r);
	assert_int_equal(r.op, BLK_OP_WRITE);
	assert_int_equal(r.niov, 1);
	assert_ptr_equal(r.iov[0].iov_base, h + 16);
	assert_int_equal(r.iov[0].iov_len, 1024);
	assert_ptr_equal(r.status_ptr, d);

	memset(&p, 0, sizeof(p));
	pc_hdr(pc_seg(&p, 16, false), VIRTIO_BLK_T_IN, 0);
	d = pc_seg(&p, 513, true);
	virtio_blk_parse(&p.c, &g, &r);
	assert_int_equal(r.op, BLK_OP_READ);
	assert_int_equal(r.iov[0].iov_len, 512);
	assert_ptr_equal(r.status_ptr, d + 512);

	/* seg_max data segments are fine; one more is IOERR, never truncated. */
	for (unsigned int nseg = BLK_SEG_MAX; nseg <= BLK_SEG_MAX + 1; nseg++) {
		memset(&p, 0, sizeof(p));
		pc_hdr(pc_seg(&p, 16, false), VIRTIO_BLK_T_IN, 0);
		/* 256-byte pieces, the first doubled when the count is odd: whole sectors. */
		for (unsigned int i = 0; i < nseg; i++)
			pc_seg(&p, i == 0 && nseg % 2 ? 512 : 256, true);
		pc_seg(&p, 1, true);
		virtio_blk_parse(&p.c, &g, &r);
		assert_int_equal(r.op, nseg == BLK_SEG_MAX ? BLK_OP_READ : BLK_OP_NONE);
		assert_int_equal(r.status, nseg == BLK_SEG_MAX ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR);
	}

	/* Unknown, legacy and unimplemented types: UNSUPP. */
	static const uint32_t unsupp[] = { 2, 3, 10, 14, 16, 99, 0x80000000, 0x80000001 };
	for (unsigned int i = 0; i < ARRAY_SIZE(unsupp); i++) {
		memset(&p, 0, sizeof(p));
		pc_hdr(pc_seg(&p, 16, false), unsupp[i], 0);
		pc_seg(&p, 1, true);
		virtio_blk_parse(&p.c, &g, &r);
		assert_int_equal(r.op, BLK_OP_NONE);
		assert_int_equal(r.status, VIRTIO_BLK_S_UNSUPP);
	}

	/* Empty writable descriptors after the status byte do not move it. */
	memset(&p, 0, sizeof(p));
	pc_hdr(pc_seg(&p, 16, false), VIRTIO_BLK_T_FLUSH, 0);
	s = pc_seg(&p, 1, true);
	p.used += 64;		/* not adjacent: base - 1 of an empty one is not the status */
	pc_seg(&p, 0, true);
	pc_seg(&p, 0, true);
	virtio_blk_parse(&p.c, &g, &r);
	assert_int_equal(r.op, BLK_OP_FLUSH);
	assert_ptr_equal(r.status_ptr, s);

	/* Read-only: writes, discards and write-zeroes are IOERR before any I/O. */
	g.readonly = true;
	static const uint32_t wtypes[] = { VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_DISCARD,
					   VIRTIO_BLK_T_WRITE_ZEROES };
	for (unsigned int i = 0; i < ARRAY_SIZE(wtypes); i++) {
		memset(&p, 0, sizeof(p));
		pc_hdr(pc_seg(&p, 16, false), wtypes[i], 0);
		pc_seg(&p, 512, false);	/* a sector of data, or a zeroed range segment */
		pc_seg(&p, 1, true);
		virtio_blk_parse(&p.c, &g, &r);
		assert_int_equal(r.op, BLK_OP_NONE);
		assert_int_equal(r.status, VIRTIO_BLK_S_IOERR);
	}
	g.readonly = false;

	/* No writable byte: no status pointer, whatever the request. */
	memset(&p, 0, sizeof(p));
	pc_hdr(pc_seg(&p, 16, false), VIRTIO_BLK_T_FLUSH, 0);
	pc_seg(&p, 1, false);
	virtio_blk_parse(&p.c, &g, &r);
	assert_int_equal(r.op, BLK_OP_NONE);
	assert_null(r.status_ptr);

	/* Range limits: max_discard_sectors / max_write_zeroes_sectors, on a big disk. */
	g.capacity = 1ULL << 40;
	for (uint32_t type = VIRTIO_BLK_T_DISCARD; type <= VIRTIO_BLK_T_WRITE_ZEROES; type += 2) {
		uint32_t max = type == VIRTIO_BLK_T_DISCARD ? BLK_MAX_DISCARD_SECTORS :
							       BLK_MAX_WZ_SECTORS;

		for (uint32_t extra = 0; extra <= 1; extra++) {
			struct virtio_blk_discard_write_zeroes seg = {
				.sector = 1ULL << 39,
				.num_sectors = max + extra,
			};

			memset(&p, 0, sizeof(p));
			pc_hdr(pc_seg(&p, 16, false), type, 0);
			memcpy(pc_seg(&p, 16, false), &seg, sizeof(seg));
			pc_seg(&p, 1, true);
			virtio_blk_parse(&p.c, &g, &r);
			assert_int_equal(r.status, extra ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
			if (!extra) {
				assert_int_equal(r.offset, (1ULL << 39) * 512);
				assert_int_equal(r.len, (uint64_t)max * 512);
			}
		}
	}
	g.capacity = CAP;

	/* DISCARD/WRITE_ZEROES not negotiated: UNSUPP. */
	g.discard = g.write_zeroes = false;
	memset(&p, 0, sizeof(p));
	pc_hdr(pc_seg(&p, 16, false), VIRTIO_BLK_T_DISCARD, 0);
	memset(pc_seg(&p, 16, false), 0, 16);
	pc_seg(&p, 1, true);
	virtio_blk_parse(&p.c, &g, &r);
	assert_int_equal(r.status, VIRTIO_BLK_S_UNSUPP);

	/* A geometry whose byte size overflows is refused, not multiplied. */
	g.capacity = UINT64_MAX;
	memset(&p, 0, sizeof(p));
	pc_hdr(pc_seg(&p, 16, false), VIRTIO_BLK_T_IN, 1ULL << 55);
	pc_seg(&p, 513, true);
	virtio_blk_parse(&p.c, &g, &r);
	assert_int_equal(r.op, BLK_OP_NONE);
	assert_int_equal(r.status, VIRTIO_BLK_S_IOERR);
}

/* ---- through the device ---- */

static void test_features_config(void **state)
{
	uint64_t f;

	assert_int_equal(open_disk(NULL, false), 0);
	f = E.vdev->host_features;
	assert_true(f & (1ULL << VIRTIO_BLK_F_SEG_MAX));
	assert_true(f & (1ULL << VIRTIO_BLK_F_BLK_SIZE));
	assert_true(f & (1ULL << VIRTIO_BLK_F_FLUSH));
	assert_true(f & (1ULL << VIRTIO_BLK_F_DISCARD));
	assert_true(f & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	assert_true(f & (1ULL << VIRTIO_RING_F_EVENT_IDX));
	assert_true(f & (1ULL << VIRTIO_RING_F_INDIRECT_DESC));
	assert_false(f & (1ULL << VIRTIO_BLK_F_RO));
	assert_false(f & (1ULL << VIRTIO_BLK_F_MQ));
	assert_int_equal(E.vdev->ops->nqueues, 1);
	assert_int_equal(E.vdev->ops->queue_max, 256);
	assert_true(E.vdev->ops->config_size >= offsetof(struct virtio_blk_config, unused1));
	assert_int_equal(cfg_read(0, 8), CAP);
	assert_int_equal(cfg_read(0, 4), CAP);
	assert_int_equal(cfg_read(offsetof(struct virtio_blk_config, seg_max), 4), BLK_SEG_MAX);
	assert_int_equal(cfg_read(offsetof(struct virtio_blk_config, blk_size), 4), 512);
	assert_int_equal(cfg_read(offsetof(struct virtio_blk_config, physical_block_exp), 1), 3);
	assert_int_equal(cfg_read(offsetof(struct virtio_blk_config, max_discard_sectors), 4),
			 BLK_MAX_DISCARD_SECTORS);
	assert_int_equal(cfg_read(offsetof(struct virtio_blk_config, max_discard_seg), 4), 1);
	assert_int_equal(cfg_read(offsetof(struct virtio_blk_config, discard_sector_alignment), 4), 8);
	assert_int_equal(cfg_read(offsetof(struct virtio_blk_config, max_write_zeroes_sectors), 4),
			 BLK_MAX_WZ_SECTORS);
	assert_int_equal(cfg_read(offsetof(struct virtio_blk_config, max_write_zeroes_seg), 4), 1);
	assert_int_equal(cfg_read(offsetof(struct virtio_blk_config, write_zeroes_may_unmap), 1), 1);
	fake_virtio_destroy_all();

	assert_int_equal(open_disk(NULL, true), 0);
	f = E.vdev->host_features;
	assert_true(f & (1ULL << VIRTIO_BLK_F_RO));
	assert_false(f & (1ULL << VIRTIO_BLK_F_DISCARD));
	assert_false(f & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
}

/* The mode under test is the one the disk really uses. */
static void test_io_path(void **state)
{
	unsigned int before = uring_fds();

	assert_int_equal(open_disk(NULL, false), 0);
	assert_int_equal(uring_fds() - before, E.mode == MODE_URING ? 1 : 0);
	fake_virtio_destroy_all();
	assert_int_equal(uring_fds(), before);
}

static void test_write_read(void **state)
{
	uint8_t pat[4096], back[4096];
	uint64_t data, in;
	uint32_t used;

	for (unsigned int i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i * 7 + 3);
	start_disk(NULL, false, ALL_FEATURES);

	data = new_buf(sizeof(pat), 0);
	memcpy(gp(data), pat, sizeof(pat));
	assert_int_equal(run_req(VIRTIO_BLK_T_OUT, 9, data, sizeof(pat), false, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	assert_int_equal(pread(E.fd, back, sizeof(back), 9 * 512), sizeof(back));
	assert_memory_equal(back, pat, sizeof(pat));
	assert_file_bytes(8 * 512, 512, 0x11);
	assert_file_bytes(17 * 512, 512, 0x11);

	in = new_buf(sizeof(pat), 0);
	assert_int_equal(run_req(VIRTIO_BLK_T_IN, 9, in, sizeof(pat), true, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, sizeof(pat) + 1);
	assert_memory_equal(gp(in), pat, sizeof(pat));

	/* Scattered: header and data in one readable descriptor... */
	uint64_t hd = fake_guest_alloc(&E.g, 16 + 1024), st = new_status();
	struct virtio_blk_outhdr h = { .type = VIRTIO_BLK_T_OUT, .sector = CAP - 2 };

	memcpy(gp(hd), &h, sizeof(h));
	memset((uint8_t *)gp(hd) + 16, 0x42, 1024);
	assert_int_equal(run_segs((struct fake_seg[]){ { hd, 16 + 1024, false }, { st, 1, true } },
				  2, st, NULL), VIRTIO_BLK_S_OK);
	assert_file_bytes((CAP - 2) * 512, 1024, 0x42);

	/* ...and a read over three descriptors, the status in the last one. */
	uint64_t a = new_buf(512, 0), b2 = new_buf(256, 0), c = new_buf(257, 0);

	st = c + 256;
	assert_int_equal(run_segs((struct fake_seg[]){
		{ new_hdr(VIRTIO_BLK_T_IN, CAP - 2), 16, false },
		{ a, 512, true }, { b2, 256, true }, { c, 257, true } }, 4, st, &used),
		VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1025);
	for (unsigned int i = 0; i < 512; i++)
		assert_int_equal(((uint8_t *)gp(a))[i], 0x42);
	for (unsigned int i = 0; i < 256; i++) {
		assert_int_equal(((uint8_t *)gp(b2))[i], 0x42);
		assert_int_equal(((uint8_t *)gp(c))[i], 0x42);
	}
}

static void test_flush(void **state)
{
	uint32_t used;

	start_disk(NULL, false, ALL_FEATURES);
	assert_int_equal(run_req(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	/* A nonzero sector is ignored (5.2.6.1 asks the driver for 0). */
	assert_int_equal(run_req(VIRTIO_BLK_T_FLUSH, 12345, 0, 0, false, &used), VIRTIO_BLK_S_OK);
}

/* Without FLUSH negotiated the disk is write-through: writes still land. */
static void test_writethrough(void **state)
{
	uint64_t data;

	start_disk(NULL, false, ALL_FEATURES & ~(1ULL << VIRTIO_BLK_F_FLUSH));
	data = new_buf(8192, 0x99);
	assert_int_equal(run_req(VIRTIO_BLK_T_OUT, 100, data, 8192, false, NULL), VIRTIO_BLK_S_OK);
	assert_file_bytes(100 * 512, 8192, 0x99);
}

static void test_discard_write_zeroes(void **state)
{
	uint64_t in;
	struct stat st;

	fill_file(IMG_SIZE, 0xAA);
	start_disk(NULL, false, ALL_FEATURES);

	assert_int_equal(run_range(VIRTIO_BLK_T_DISCARD, 8, 16, 0), VIRTIO_BLK_S_OK);
	assert_file_bytes(7 * 512, 512, 0xAA);
	assert_file_bytes(8 * 512, 16 * 512, 0);
	assert_file_bytes(24 * 512, 512, 0xAA);

	/* Unaligned, no unmap: ZERO_RANGE. */
	assert_int_equal(run_range(VIRTIO_BLK_T_WRITE_ZEROES, 101, 3, 0), VIRTIO_BLK_S_OK);
	assert_file_bytes(100 * 512, 512, 0xAA);
	assert_file_bytes(101 * 512, 3 * 512, 0);
	assert_file_bytes(104 * 512, 512, 0xAA);

	/* Unmap: a hole. */
	assert_int_equal(run_range(VIRTIO_BLK_T_WRITE_ZEROES, 200, 64,
				   VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP), VIRTIO_BLK_S_OK);
	assert_file_bytes(199 * 512, 512, 0xAA);
	assert_file_bytes(200 * 512, 64 * 512, 0);
	assert_file_bytes(264 * 512, 512, 0xAA);

	/* The guest reads zeroes back; the image keeps its size. */
	in = new_buf(64 * 512, 0x55);
	assert_int_equal(run_req(VIRTIO_BLK_T_IN, 200, in, 64 * 512, true, NULL), VIRTIO_BLK_S_OK);
	for (unsigned int i = 0; i < 64 * 512; i++)
		assert_int_equal(((uint8_t *)gp(in))[i], 0);
	assert_int_equal(fstat(E.fd, &st), 0);
	assert_int_equal(st.st_size, IMG_SIZE);

	/* Zero sectors: nothing to do, OK. */
	assert_int_equal(run_range(VIRTIO_BLK_T_DISCARD, 0, 0, 0), VIRTIO_BLK_S_OK);
	assert_file_bytes(0, 512, 0xAA);
}

/*
 * A block device image: DISCARD is BLKDISCARD. Over a loop device a discard
 * punches a hole in the file behind it, so the file shows it arrived: its
 * blocks are freed and the range reads zeroes, the rest untouched. Needs
 * root and loop devices (skipped without them).
 */
static void test_discard_bdev(void **state)
{
	struct disk_opts o = { 0 };
	struct stat before, after;
	char cmd[128];
	FILE *p;

	if (geteuid() != 0 || access("/dev/loop-control", W_OK) != 0)
		skip();
	fill_file(IMG_SIZE, 0xAA);
	assert_int_equal(fsync(E.fd), 0);
	snprintf(cmd, sizeof(cmd), "losetup --find --show %s 2>/dev/null", E.path);
	p = popen(cmd, "r");
	if (!p)
		skip();
	if (!fgets(E.loop, sizeof(E.loop), p))
		E.loop[0] = 0;
	pclose(p);
	E.loop[strcspn(E.loop, "\n")] = 0;
	if (strncmp(E.loop, "/dev/loop", 9) != 0) {
		E.loop[0] = 0;
		skip();
	}
	o.path = E.loop;
	assert_int_equal(virtio_blk_create(&E.vm, &o, 0), 0);
	E.vdev = fake_virtio_last();
	assert_int_equal(fake_virtio_start(E.vdev, &E.g, ALL_FEATURES), 0);

	assert_int_equal(fstat(E.fd, &before), 0);
	blkdiscards = 0;
	/* 256 KiB at 4 KiB alignment: whole pages of the file behind the loop device. */
	assert_int_equal(run_range(VIRTIO_BLK_T_DISCARD, 8, 512, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(blkdiscards, 1);	/* a discard, not a zeroing hole punch */
	assert_int_equal(fstat(E.fd, &after), 0);
	assert_true(after.st_blocks < before.st_blocks);
	assert_int_equal(after.st_size, IMG_SIZE);
	assert_file_bytes(0, 8 * 512, 0xAA);
	assert_file_bytes(8 * 512, 512 * 512, 0);
	assert_file_bytes(520 * 512, IMG_SIZE - 520 * 512, 0xAA);
	/* Zero sectors: nothing to do, OK. */
	assert_int_equal(run_range(VIRTIO_BLK_T_DISCARD, 0, 0, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(blkdiscards, 1);
}

/* tmpfs has no FALLOC_FL_ZERO_RANGE: write-zeroes falls back to writes, in chunks. */
static void test_write_zeroes_fallback(void **state)
{
	struct stat st;
	const uint32_t n = (3 * MiB + 4096) / 512;

	close(E.fd);
	unlink(E.path);
	strcpy(E.path, "/dev/shm/kvmio-blk-test-XXXXXX");
	E.fd = mkstemp(E.path);
	if (E.fd < 0)
		skip();
	fill_file(8 * MiB, 0xAA);
	start_disk(NULL, false, ALL_FEATURES);
	for (int i = 0; i < 2; i++) {	/* the second time knows ZERO_RANGE fails */
		uint64_t s = 1 + (uint64_t)i * 8192;

		assert_int_equal(run_range(VIRTIO_BLK_T_WRITE_ZEROES, s, n, 0), VIRTIO_BLK_S_OK);
		assert_file_bytes((s - 1) * 512, 512, 0xAA);
		assert_file_bytes(s * 512, (uint64_t)n * 512, 0);
		assert_file_bytes((s + n) * 512, 512, 0xAA);
	}
	assert_int_equal(fstat(E.fd, &st), 0);
	assert_int_equal(st.st_size, 8 * MiB);
}

static void expect_id(const char *want, unsigned int want_len)
{
	uint64_t buf = new_buf(32, 0x77);
	uint32_t used;
	uint8_t exp[32];

	memset(exp, 0x77, sizeof(exp));
	memset(exp, 0, 20);
	memcpy(exp, want, want_len);
	assert_int_equal(run_req(VIRTIO_BLK_T_GET_ID, 0, buf, 20, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 21);
	assert_memory_equal(gp(buf), exp, sizeof(exp));
}

static void test_get_id(void **state)
{
	char base[64];
	uint64_t buf;
	uint32_t used;

	start_disk("kvmio-serial", false, ALL_FEATURES);
	expect_id("kvmio-serial", 12);
	/* A short buffer gets only what fits; nothing past it. */
	buf = new_buf(16, 0x77);
	assert_int_equal(run_req(VIRTIO_BLK_T_GET_ID, 0, buf, 8, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 9);
	assert_memory_equal(gp(buf), "kvmio-se", 8);
	assert_int_equal(((uint8_t *)gp(buf))[8], 0x77);
	fake_virtio_destroy_all();

	/* Exactly 20 bytes: no NUL. */
	start_disk("ABCDEFGHIJKLMNOPQRST", false, ALL_FEATURES);
	expect_id("ABCDEFGHIJKLMNOPQRST", 20);
	fake_virtio_destroy_all();

	/* Derived from the basename, cut to 20 bytes. */
	strcpy(base, strrchr(E.path, '/') + 1);
	assert_true(strlen(base) > 20);
	start_disk(NULL, false, ALL_FEATURES);
	expect_id(base, 20);
	fake_virtio_destroy_all();

	assert_int_equal(open_disk("ABCDEFGHIJKLMNOPQRSTU", false), -EINVAL);
}

static void test_readonly(void **state)
{
	uint8_t *before;
	size_t size;
	uint64_t data, in;
	uint32_t used;

	for (int i = 0; i < 256; i++) {
		uint8_t v = (uint8_t)i;

		assert_int_equal(pwrite(E.fd, &v, 1, i * 512 + 3), 1);
	}
	before = file_copy(&size);
	start_disk(NULL, true, ALL_FEATURES);
	data = new_buf(4096, 0xCC);
	assert_int_equal(run_req(VIRTIO_BLK_T_OUT, 0, data, 4096, false, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_int_equal(run_range(VIRTIO_BLK_T_DISCARD, 0, 8, 0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run_range(VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run_range(VIRTIO_BLK_T_WRITE_ZEROES, 0, 8,
				   VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run_req(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	in = new_buf(4096, 0);
	assert_int_equal(run_req(VIRTIO_BLK_T_IN, 0, in, 4096, true, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(gp(in), before, 4096);
	assert_file_same(before, size);
	free(before);
}

/* hostile-guest.md case 16: every out-of-range request fails, nothing written. */
static void test_hostile_ranges(void **state)
{
	static const struct { uint64_t sector; uint32_t len; } rw[] = {
		{ UINT64_MAX, 512 }, { UINT64_MAX - 7, 4096 }, { 1ULL << 55, 512 },
		{ (1ULL << 55) + 1, 512 }, { 1ULL << 63, 512 }, { (1ULL << 54) * 3, 512 },
		{ CAP, 512 }, { CAP - 1, 1024 }, { CAP - 7, 8192 }, { CAP + 1, 0 },
	};
	static const struct { uint64_t sector; uint32_t num; } rng[] = {
		{ UINT64_MAX, 1 }, { UINT64_MAX - 15, 16 }, { 1ULL << 55, 1 }, { CAP, 1 },
		{ CAP - 8, 16 }, { 0, BLK_MAX_DISCARD_SECTORS + 1 }, { 0, UINT32_MAX },
		{ CAP + 1, 0 },
	};
	uint8_t *before;
	size_t size;

	start_disk(NULL, false, ALL_FEATURES);
	before = file_copy(&size);
	for (unsigned int i = 0; i < ARRAY_SIZE(rw); i++) {
		uint64_t buf = new_buf(rw[i].len ? rw[i].len : 1, 0x66);

		assert_int_equal(run_req(VIRTIO_BLK_T_OUT, rw[i].sector, buf, rw[i].len, false, NULL),
				 VIRTIO_BLK_S_IOERR);
		assert_int_equal(run_req(VIRTIO_BLK_T_IN, rw[i].sector, buf, rw[i].len, true, NULL),
				 VIRTIO_BLK_S_IOERR);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(rng); i++) {
		assert_int_equal(run_range(VIRTIO_BLK_T_DISCARD, rng[i].sector, rng[i].num, 0),
				 VIRTIO_BLK_S_IOERR);
		assert_int_equal(run_range(VIRTIO_BLK_T_WRITE_ZEROES, rng[i].sector, rng[i].num, 0),
				 VIRTIO_BLK_S_IOERR);
		assert_int_equal(run_range(VIRTIO_BLK_T_WRITE_ZEROES, rng[i].sector, rng[i].num,
					   VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP), VIRTIO_BLK_S_IOERR);
	}
	/* Flags: unmap on discard and unknown bits are UNSUPP (5.2.6.2). */
	assert_int_equal(run_range(VIRTIO_BLK_T_DISCARD, 0, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP),
			 VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(run_range(VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 2), VIRTIO_BLK_S_UNSUPP);
	/* More segments than max_discard_seg (1), none, or a partial one: IOERR. */
	uint64_t segs = new_buf(48, 0);
	struct virtio_blk_discard_write_zeroes *d = gp(segs);

	d[0].num_sectors = d[1].num_sectors = 8;
	d[1].sector = 8;
	assert_int_equal(run_req(VIRTIO_BLK_T_DISCARD, 0, segs, 32, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run_req(VIRTIO_BLK_T_WRITE_ZEROES, 0, segs, 32, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(run_req(VIRTIO_BLK_T_DISCARD, 0, segs, 0, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run_req(VIRTIO_BLK_T_DISCARD, 0, segs, 12, false, NULL), VIRTIO_BLK_S_IOERR);
	/* A huge data length (guest RAM permitting): IOERR, nothing allocated for it. */
	uint64_t big = fake_guest_alloc(&E.g, 64 * MiB);

	assert_int_equal(run_req(VIRTIO_BLK_T_OUT, 0, big, 64 * MiB, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(run_req(VIRTIO_BLK_T_IN, 0, big, 64 * MiB, true, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_file_same(before, size);
	free(before);
}

/* hostile-guest.md case 8: the device never writes a device-readable buffer. */
static void test_status_placement(void **state)
{
	uint8_t *before;
	size_t size;
	uint64_t hdr, data, st;
	uint32_t used;

	start_disk(NULL, false, ALL_FEATURES);
	before = file_copy(&size);

	/* OUT whose "status" is readable: returned with len 0, nothing done. */
	data = new_buf(512, 0x33);
	st = new_status();
	assert_int_equal(run_segs((struct fake_seg[]){ { new_hdr(VIRTIO_BLK_T_OUT, 0), 16, false },
						       { data, 512, false }, { st, 1, false } },
				  3, st, &used), ST_UNSET);
	assert_int_equal(used, 0);
	/* IN with every buffer readable: the data buffer stays as it was. */
	data = new_buf(513, 0x44);
	assert_int_equal(run_segs((struct fake_seg[]){ { new_hdr(VIRTIO_BLK_T_IN, 0), 16, false },
						       { data, 513, false } }, 2, data + 512, &used),
			 0x44);
	assert_int_equal(used, 0);
	for (unsigned int i = 0; i < 513; i++)
		assert_int_equal(((uint8_t *)gp(data))[i], 0x44);
	/* GET_ID without a writable byte. */
	data = new_buf(21, 0x45);
	assert_int_equal(run_segs((struct fake_seg[]){ { new_hdr(VIRTIO_BLK_T_GET_ID, 0), 16, false },
						       { data, 21, false } }, 2, data + 20, &used),
			 0x45);
	assert_int_equal(used, 0);
	/* Header in a writable buffer: no readable header, IOERR in the status byte. */
	hdr = new_hdr(VIRTIO_BLK_T_OUT, 0);
	data = new_buf(512, 0x33);
	st = new_status();
	assert_int_equal(run_segs((struct fake_seg[]){ { hdr, 16, true }, { data, 512, true },
						       { st, 1, true } }, 3, st, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	/* A header too short. */
	st = new_status();
	assert_int_equal(run_segs((struct fake_seg[]){ { new_hdr(VIRTIO_BLK_T_OUT, 0), 8, false },
						       { st, 1, true } }, 2, st, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_file_same(before, size);
	free(before);
}

static void test_unaligned_data(void **state)
{
	uint8_t *before;
	size_t size;
	uint64_t buf;
	static const uint32_t lens[] = { 1, 100, 511, 513, 700, 4095, 4097 };

	start_disk(NULL, false, ALL_FEATURES);
	before = file_copy(&size);
	for (unsigned int i = 0; i < ARRAY_SIZE(lens); i++) {
		buf = new_buf(lens[i], 0x21);
		assert_int_equal(run_req(VIRTIO_BLK_T_OUT, 4, buf, lens[i], false, NULL),
				 VIRTIO_BLK_S_IOERR);
		assert_int_equal(run_req(VIRTIO_BLK_T_IN, 4, buf, lens[i], true, NULL),
				 VIRTIO_BLK_S_IOERR);
	}
	assert_file_same(before, size);
	free(before);
}

static void test_image_sizes(void **state)
{
	uint64_t buf;
	struct stat st;

	/* Not a multiple of 512: the floor, the tail untouched. */
	fill_file(8 * 512 + 100, 0x11);
	start_disk(NULL, false, ALL_FEATURES);
	assert_int_equal(cfg_read(0, 8), 8);
	buf = new_buf(1024, 0x22);
	assert_int_equal(run_req(VIRTIO_BLK_T_OUT, 7, buf, 512, false, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(run_req(VIRTIO_BLK_T_OUT, 7, buf, 1024, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run_req(VIRTIO_BLK_T_IN, 8, buf, 512, true, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run_range(VIRTIO_BLK_T_WRITE_ZEROES, 7, 2, 0), VIRTIO_BLK_S_IOERR);
	assert_file_bytes(7 * 512, 512, 0x22);
	assert_file_bytes(8 * 512, 100, 0x11);
	assert_int_equal(fstat(E.fd, &st), 0);
	assert_int_equal(st.st_size, 8 * 512 + 100);
	fake_virtio_destroy_all();

	/* Empty, or smaller than a sector: refused. */
	fill_file(0, 0);
	assert_int_equal(open_disk(NULL, false), -EINVAL);
	fill_file(100, 0);
	assert_int_equal(open_disk(NULL, true), -EINVAL);
	assert_null(fake_virtio_last());

	struct disk_opts o = { .path = "/nonexistent/kvmio-disk.img" };
	assert_int_equal(virtio_blk_create(&E.vm, &o, 0), -ENOENT);
	o.path = "/tmp";
	assert_int_equal(virtio_blk_create(&E.vm, &o, 0), -EISDIR);
	o.path = "/dev/null";
	assert_int_equal(virtio_blk_create(&E.vm, &o, 0), -EINVAL);
	assert_null(fake_virtio_last());
}

static void test_lock(void **state)
{
	assert_int_equal(open_disk(NULL, false), 0);
	assert_int_equal(open_disk(NULL, false), -EBUSY);
	assert_int_equal(open_disk(NULL, true), -EBUSY);
	fake_virtio_destroy_all();

	assert_int_equal(open_disk(NULL, true), 0);
	assert_int_equal(open_disk(NULL, true), 0);
	assert_int_equal(open_disk(NULL, false), -EBUSY);
	fake_virtio_destroy_all();
	assert_int_equal(open_disk(NULL, false), 0);
}

/* The image shrank under the VM: reads past the new end fail, never return garbage. */
static void test_shrunk_image(void **state)
{
	uint64_t buf;

	start_disk(NULL, false, ALL_FEATURES);
	assert_int_equal(ftruncate(E.fd, IMG_SIZE / 2 + 1024), 0);
	buf = new_buf(8192, 0x5C);
	assert_int_equal(run_req(VIRTIO_BLK_T_IN, CAP / 2 + 100, buf, 8192, true, NULL),
			 VIRTIO_BLK_S_IOERR);
	/* Straddling the end: a short read, then EOF. */
	assert_int_equal(run_req(VIRTIO_BLK_T_IN, CAP / 2, buf, 8192, true, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(run_req(VIRTIO_BLK_T_IN, CAP / 2 - 16, buf, 8192, true, NULL),
			 VIRTIO_BLK_S_OK);
}

/* A bad chain comes back with len 0 and the queue goes on; a broken ring needs reset. */
static void test_bad_chains(void **state)
{
	struct vring_avail *avail;
	uint64_t buf, st;
	uint32_t used;

	start_disk(NULL, false, ALL_FEATURES);
	st = new_status();
	assert_int_equal(run_segs((struct fake_seg[]){ { new_hdr(VIRTIO_BLK_T_IN, 0), 16, false },
						       { GUEST_SIZE - 256, 4096, true },
						       { st, 1, true } }, 3, st, &used), ST_UNSET);
	assert_int_equal(used, 0);
	buf = new_buf(512, 0);
	assert_int_equal(run_req(VIRTIO_BLK_T_IN, 0, buf, 512, true, NULL), VIRTIO_BLK_S_OK);
	assert_false(fake_virtio_needs_reset());

	avail = gp(E.g.q[0].avail);
	avail->idx = (uint16_t)(avail->idx + 1000);
	E.vdev->ops->notify(E.vdev, 0);
	assert_true(fake_virtio_needs_reset());
}

/* Many requests in one kick: all complete, interrupts batched. */
static void test_batch(void **state)
{
	enum { N = 32 };
	uint64_t bufs[N], sts[N];
	unsigned int seen = 0;
	uint16_t head;
	uint32_t len;

	start_disk(NULL, false, ALL_FEATURES);
	for (int i = 0; i < N; i++) {
		bufs[i] = new_buf(4096, 0);
		add_req(VIRTIO_BLK_T_IN, (uint64_t)i * 8, bufs[i], 4096, true, &sts[i]);
	}
	E.vdev->ops->notify(E.vdev, 0);
	while (seen < N && wait_used(&head, &len))
		seen++;
	assert_int_equal(seen, N);
	for (int i = 0; i < N; i++)
		assert_int_equal(*(uint8_t *)gp(sts[i]), VIRTIO_BLK_S_OK);
	assert_true(fake_virtio_irqs(0) >= 1);
	if (E.mode == MODE_SYNC)
		assert_int_equal(fake_virtio_irqs(0), 1);
	/* A kick on an empty ring does nothing. */
	fake_virtio_reset_counts();
	E.vdev->ops->notify(E.vdev, 0);
	assert_false(fake_ring_used(&E.g, 0, &head, &len));
	assert_int_equal(fake_virtio_irqs(0), 0);
}

/*
 * hostile-guest.md case 14: reset with reads in flight. When stop returns the
 * device writes no guest memory: not the data buffers, not the status bytes,
 * not the used ring. Then the driver starts again and the disk works.
 */
static void test_stop_inflight(void **state)
{
	enum { N = 48, LEN = 256 * KiB };
	uint64_t bufs[N], sts[N];
	struct vring_used *used;
	uint16_t used_idx;
	uint32_t len;
	uint16_t head;

	fill_file(N * LEN, 0x3C);
	assert_int_equal(fdatasync(E.fd), 0);
	start_disk(NULL, false, ALL_FEATURES);
	/* Out of the page cache, so the reads take a while. */
	posix_fadvise(E.fd, 0, 0, POSIX_FADV_DONTNEED);
	for (int i = 0; i < N; i++) {
		bufs[i] = new_buf(LEN, 0);
		add_req(VIRTIO_BLK_T_IN, (uint64_t)i * (LEN / 512), bufs[i], LEN, true, &sts[i]);
	}
	E.vdev->ops->notify(E.vdev, 0);
	fake_virtio_stop(E.vdev);

	used = gp(E.g.q[0].used);
	used_idx = used->idx;
	for (int i = 0; i < N; i++) {
		memset(gp(bufs[i]), 0x77, LEN);
		*(uint8_t *)gp(sts[i]) = ST_UNSET;
	}
	for (int i = 0; i < 10; i++)
		fake_virtio_poll_watches(E.vdev, 10);
	usleep(50000);
	assert_int_equal(used->idx, used_idx);
	for (int i = 0; i < N; i++) {
		assert_int_equal(*(uint8_t *)gp(sts[i]), ST_UNSET);
		for (unsigned int j = 0; j < LEN; j += 512)
			assert_int_equal(((uint8_t *)gp(bufs[i]))[j], 0x77);
	}

	/* Driver re-init: fresh rings, start, I/O works. */
	assert_int_equal(fake_virtio_start(E.vdev, &E.g, ALL_FEATURES), 0);
	uint64_t buf = new_buf(4096, 0);

	assert_int_equal(run_req(VIRTIO_BLK_T_IN, 8, buf, 4096, true, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(((uint8_t *)gp(buf))[0], 0x3C);
	assert_false(fake_ring_used(&E.g, 0, &head, &len));
}

/* ---- behind an IOMMU: the fake one refuses chosen pages ---- */

static struct {
	struct dma_as as;
	struct {
		uint64_t page;
		unsigned int perm;	/* 0: not present */
	} deny[8];
	unsigned int ndeny;
	unsigned int faults;		/* refusals reported through ops->fault */
	struct {
		uint64_t page, gpa;	/* IOVA page @page maps onto @gpa (not RAM, say) */
	} remap[4];
	unsigned int nremap;
} M;

static int mmu_lookup(struct dma_as *as, uint64_t iova, unsigned int dir, struct dma_map *m)
{
	unsigned int perm = DMA_READ | DMA_WRITE;

	for (unsigned int i = 0; i < M.ndeny; i++) {
		if (M.deny[i].page != (iova & ~4095ULL))
			continue;
		if (!M.deny[i].perm) {
			m->why = "fake: not present";
			return -EFAULT;
		}
		perm = M.deny[i].perm;
	}
	/* IOVA = GPA, so the fake driver's rings and buffers work unchanged. */
	m->gpa = iova;
	for (unsigned int i = 0; i < M.nremap; i++)
		if (M.remap[i].page == (iova & ~4095ULL))
			m->gpa = M.remap[i].gpa + (iova & 4095);
	m->len = 4096 - (iova & 4095);
	m->perm = perm;
	return 0;
}

static void mmu_fault(struct dma_as *as, uint64_t iova, unsigned int dir, int err,
		      const struct dma_map *m)
{
	M.faults++;
}

static const struct dma_as_ops mmu_ops = { .lookup = mmu_lookup, .fault = mmu_fault };

/* Refuse the page of @gpa (fake_guest_alloc gives each buffer its own): @perm 0 not present. */
static void mmu_deny(uint64_t gpa, unsigned int perm)
{
	assert_true(M.ndeny < ARRAY_SIZE(M.deny));
	M.deny[M.ndeny].page = gpa & ~4095ULL;
	M.deny[M.ndeny++].perm = perm;
}

/* Map the IOVA page of @iova onto guest-physical page @gpa instead of itself. */
static void mmu_remap(uint64_t iova, uint64_t gpa)
{
	assert_true(M.nremap < ARRAY_SIZE(M.remap));
	M.remap[M.nremap].page = iova & ~4095ULL;
	M.remap[M.nremap++].gpa = gpa & ~4095ULL;
}

/*
 * start_disk with the queue over the fake IOMMU: fake_virtio_start, but
 * virtq_init_as over M.as (the transport's queue_enable does the same over
 * the function's DMA space), then ops->start as at DRIVER_OK.
 */
static void start_disk_mapped(uint64_t features)
{
	struct virtio_dev *v;

	memset(&M, 0, sizeof(M));
	dma_as_init(&M.as, &E.g.mem, "test-blk");
	M.as.ops = &mmu_ops;
	assert_int_equal(open_disk(NULL, false), 0);
	v = E.vdev;
	v->features = (features & v->host_features) | (1ULL << VIRTIO_F_VERSION_1);
	for (unsigned int q = 0; q < v->ops->nqueues; q++) {
		E.g.q[q].desc = fake_guest_alloc(&E.g, 16 * FAKE_QSIZE);
		E.g.q[q].avail = fake_guest_alloc(&E.g, 6 + 2 * FAKE_QSIZE);
		E.g.q[q].used = fake_guest_alloc(&E.g, 6 + 8 * FAKE_QSIZE);
		E.g.q[q].avail_idx = E.g.q[q].used_seen = E.g.q[q].next_desc = 0;
		assert_int_equal(virtq_init_as(&v->vq[q], &M.as, FAKE_QSIZE, E.g.q[q].desc,
					       E.g.q[q].avail, E.g.q[q].used,
					       v->features & (1ULL << VIRTIO_RING_F_EVENT_IDX),
					       v->features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC)), 0);
		v->vq_enabled[q] = true;
	}
	assert_int_equal(v->ops->start(v), 0);
}

static void assert_bytes(uint64_t gpa, uint32_t len, uint8_t byte)
{
	const uint8_t *p = gp(gpa);

	for (uint32_t i = 0; i < len; i++)
		if (p[i] != byte)
			fail_msg("guest byte 0x%llx: 0x%02x, want 0x%02x",
				 (unsigned long long)(gpa + i), p[i], byte);
}

/*
 * A buffer the IOMMU refuses fails its request alone: IOERR in the status
 * byte (used len 1) when the status was translated, else len 0; no disk I/O,
 * no guest byte written but the status; the queue goes on.
 */
static void test_iommu_refused(void **state)
{
	uint8_t *before;
	size_t size;
	uint64_t a, b, st, hdr;
	uint32_t used;

	start_disk_mapped(ALL_FEATURES);
	before = file_copy(&size);
	fake_virtio_reset_counts();

	/*
	 * IN into two buffers, the second read-only (-EACCES for the device's
	 * write): neither is written, not even the translated first one.
	 */
	a = new_buf(512, 0x5A);
	b = new_buf(512, 0x5A);
	mmu_deny(b, DMA_READ);
	st = new_status();
	assert_int_equal(run_segs((struct fake_seg[]){ { new_hdr(VIRTIO_BLK_T_IN, 0), 16, false },
						       { a, 512, true }, { b, 512, true },
						       { st, 1, true } }, 4, st, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_bytes(a, 512, 0x5A);
	assert_bytes(b, 512, 0x5A);
	assert_int_equal(M.faults, 1);
	assert_true(fake_virtio_irqs(0) >= 1);	/* the driver hears of it */

	/* OUT from two buffers, the second not mapped: nothing reaches the disk. */
	a = new_buf(512, 0xC3);
	b = new_buf(512, 0xC3);
	mmu_deny(b, 0);
	st = new_status();
	assert_int_equal(run_segs((struct fake_seg[]){ { new_hdr(VIRTIO_BLK_T_OUT, 2), 16, false },
						       { a, 512, false }, { b, 512, false },
						       { st, 1, true } }, 4, st, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_file_same(before, size);

	/* OUT from a write-only buffer (-EACCES for the device's read). */
	a = new_buf(1024, 0xC3);
	mmu_deny(a, DMA_WRITE);
	assert_int_equal(run_req(VIRTIO_BLK_T_OUT, 4, a, 1024, false, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);

	/* The header refused: IOERR goes in the last byte of the last writable buffer. */
	hdr = new_hdr(VIRTIO_BLK_T_IN, 0);
	mmu_deny(hdr, 0);
	a = new_buf(513, 0x5A);
	assert_int_equal(run_segs((struct fake_seg[]){ { hdr, 16, false }, { a, 513, true } }, 2,
				  a + 512, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_bytes(a, 512, 0x5A);

	/*
	 * The status byte refused (read-only): given back with len 0 and
	 * nothing written, not the data buffer's last byte in its place.
	 */
	a = new_buf(512, 0x5A);
	st = new_status();
	mmu_deny(st, DMA_READ);
	assert_int_equal(run_segs((struct fake_seg[]){ { new_hdr(VIRTIO_BLK_T_IN, 0), 16, false },
						       { a, 512, true }, { st, 1, true } }, 3, st,
				  &used), ST_UNSET);
	assert_int_equal(used, 0);
	assert_bytes(a, 512, 0x5A);
	/* The same for a write: and the disk is not written either. */
	a = new_buf(512, 0xC3);
	st = new_status();
	mmu_deny(st, 0);
	assert_int_equal(run_segs((struct fake_seg[]){ { new_hdr(VIRTIO_BLK_T_OUT, 6), 16, false },
						       { a, 512, false }, { st, 1, true } }, 3, st,
				  &used), ST_UNSET);
	assert_int_equal(used, 0);
	assert_file_same(before, size);
	assert_int_equal(M.faults, 6);
	assert_false(fake_virtio_needs_reset());

	/* The queue goes on: a write, then the read of it. */
	a = new_buf(1024, 0x77);
	assert_int_equal(run_req(VIRTIO_BLK_T_OUT, 4, a, 1024, false, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	assert_file_bytes(4 * 512, 1024, 0x77);
	assert_file_bytes(0, 4 * 512, 0x11);
	b = new_buf(1024, 0);
	assert_int_equal(run_req(VIRTIO_BLK_T_IN, 4, b, 1024, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1025);
	assert_bytes(b, 1024, 0x77);
	assert_int_equal(M.faults, 6);
	free(before);
}

/* ---- buffers on MMIO rather than RAM (hostile-guest.md cases 3 and 4) ---- */

#define TOP_SIZE	(1 * MiB)

/* The hole's contents (vm.h): a BAR, the ECAM, the IOAPIC, the LAPIC. */
static const uint64_t mmio_gpa[] = {
	PCI_MMIO32_BASE, PCI_MMIO32_BASE + 0x3000, PCI_ECAM_BASE, IOAPIC_ADDR, LAPIC_ADDR,
};
/* Where test_iommu_mmio's IOMMU maps four IOVA pages of RAM. */
static const uint64_t remap_gpa[] = { PCI_MMIO32_BASE, PCI_ECAM_BASE, IOAPIC_ADDR, LAPIC_ADDR };

static uint8_t *map_guarded(size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *p = mmap(NULL, len + 2 * pg, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	assert_true(p != MAP_FAILED);
	assert_int_equal(mprotect(p + pg, len, PROT_READ | PROT_WRITE), 0);
	return p + pg;
}

/*
 * Give the fake guest RAM on both sides of the 32-bit hole, as kvmio's
 * layout (mem.h) has it for a guest over 3 GiB: [3 GiB - 1 MiB, 3 GiB),
 * the top of low RAM right below the PCI MMIO32 window, and [4 GiB,
 * 4 GiB + 1 MiB) above the LAPIC. Each sits between guard pages, so a
 * write past either end faults the test. Before the queue is set up.
 */
static void add_hole_regions(void)
{
	assert_int_equal(E.g.mem.nr, 1);
	E.g.mem.region[1] = (struct mem_region){ .gpa = MEM_HOLE_START - TOP_SIZE,
						 .size = TOP_SIZE, .hva = map_guarded(TOP_SIZE) };
	E.g.mem.region[2] = (struct mem_region){ .gpa = MEM_4G, .size = TOP_SIZE,
						 .hva = map_guarded(TOP_SIZE) };
	E.g.mem.nr = 3;
	for (unsigned int i = 0; i < ARRAY_SIZE(mmio_gpa); i++)
		assert_null(guest_ptr(&E.g.mem, mmio_gpa[i], 1));
}

static void drop_hole_regions(void)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	fake_virtio_destroy_all();
	for (unsigned int i = 1; i < 3; i++)
		munmap(E.g.mem.region[i].hva - pg, E.g.mem.region[i].size + 2 * pg);
	E.g.mem.nr = 1;
}

/* Host pointer into the hole regions' RAM. */
static uint8_t *hp(uint64_t gpa, uint64_t len)
{
	uint8_t *p = guest_ptr(&E.g.mem, gpa, len);

	assert_non_null(p);
	return p;
}

static void assert_host_bytes(const uint8_t *p, size_t len, uint8_t byte)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != byte)
			fail_msg("byte %zu: 0x%02x, want 0x%02x", i, p[i], byte);
}

/*
 * Without an IOMMU (the identity space): a read into, or a write from, a
 * BAR, the ECAM, the IOAPIC or the LAPIC, or a buffer that runs off the end
 * of RAM into the hole, is a bad chain (queue.h): virtq_pop refuses it
 * before the device sees anything, so there is no status byte the device
 * could write (the chain has no iovec), and it comes back with used len 0
 * and the status byte as it was, no disk I/O, nothing written to the RAM
 * part of a straddling buffer or to a good data buffer of the same chain
 * (guard pages after each RAM region: a write past one faults the test).
 * The queue goes on. (IOERR in the status byte is for what an IOMMU
 * refuses: test_iommu_mmio.)
 */
static void test_mmio_buffers(void **state)
{
	uint8_t *before, *top, *high;
	size_t size;
	uint64_t st, buf;
	uint32_t used;

	add_hole_regions();
	start_disk(NULL, false, ALL_FEATURES);
	before = file_copy(&size);
	top = hp(MEM_HOLE_START - 4096, 4096);
	high = hp(MEM_4G + TOP_SIZE - 4096, 4096);
	memset(top, 0x5A, 4096);
	memset(high, 0x5A, 4096);

	for (unsigned int i = 0; i < ARRAY_SIZE(mmio_gpa); i++) {
		st = new_status();
		assert_int_equal(run_segs((struct fake_seg[]){
						  { new_hdr(VIRTIO_BLK_T_IN, 0), 16, false },
						  { mmio_gpa[i], 512, true }, { st, 1, true } },
					  3, st, &used), ST_UNSET);
		assert_int_equal(used, 0);
		st = new_status();
		assert_int_equal(run_segs((struct fake_seg[]){
						  { new_hdr(VIRTIO_BLK_T_OUT, 0), 16, false },
						  { mmio_gpa[i], 512, false }, { st, 1, true } },
					  3, st, &used), ST_UNSET);
		assert_int_equal(used, 0);
		/* A good data buffer, then a second one on MMIO: the good one is not written. */
		buf = new_buf(512, 0x5A);
		st = new_status();
		assert_int_equal(run_segs((struct fake_seg[]){
						  { new_hdr(VIRTIO_BLK_T_IN, 0), 16, false },
						  { buf, 512, true }, { mmio_gpa[i], 512, true },
						  { st, 1, true } }, 4, st, &used), ST_UNSET);
		assert_int_equal(used, 0);
		assert_bytes(buf, 512, 0x5A);
		/* The status byte on MMIO: the data buffer stays as it was. */
		buf = new_buf(512, 0x5A);
		assert_int_equal(run_segs((struct fake_seg[]){
						  { new_hdr(VIRTIO_BLK_T_IN, 0), 16, false },
						  { buf, 512, true }, { mmio_gpa[i], 1, true } },
					  3, buf, &used), 0x5A);
		assert_int_equal(used, 0);
		assert_bytes(buf, 512, 0x5A);
	}
	/* Straddling low RAM's end into the BAR window, and high RAM's end. */
	st = new_status();
	assert_int_equal(run_segs((struct fake_seg[]){ { new_hdr(VIRTIO_BLK_T_IN, 0), 16, false },
						       { MEM_HOLE_START - 256, 512, true },
						       { st, 1, true } }, 3, st, &used), ST_UNSET);
	assert_int_equal(used, 0);
	st = new_status();
	assert_int_equal(run_segs((struct fake_seg[]){ { new_hdr(VIRTIO_BLK_T_IN, 0), 16, false },
						       { MEM_4G + TOP_SIZE - 256, 4096, true },
						       { st, 1, true } }, 3, st, &used), ST_UNSET);
	assert_int_equal(used, 0);
	/* From the top of the hole into high RAM. */
	st = new_status();
	assert_int_equal(run_segs((struct fake_seg[]){ { new_hdr(VIRTIO_BLK_T_IN, 0), 16, false },
						       { MEM_4G - 256, 512, true },
						       { st, 1, true } }, 3, st, &used), ST_UNSET);
	assert_int_equal(used, 0);
	assert_host_bytes(top, 4096, 0x5A);
	assert_host_bytes(high, 4096, 0x5A);
	assert_host_bytes(hp(MEM_4G, 512), 512, 0);
	assert_file_same(before, size);
	assert_false(fake_virtio_needs_reset());

	/*
	 * RAM right up to each end is fine: a read lands there, and only there
	 * (the status is high RAM's last byte; @st, not in the chain, stays).
	 */
	st = new_status();
	assert_int_equal(run_segs((struct fake_seg[]){ { new_hdr(VIRTIO_BLK_T_IN, 0), 16, false },
						       { MEM_HOLE_START - 1024, 1024, true },
						       { MEM_4G + TOP_SIZE - 1, 1, true } },
				  3, st, &used), ST_UNSET);
	assert_int_equal(*hp(MEM_4G + TOP_SIZE - 1, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1025);
	assert_host_bytes(top + 4096 - 1024, 1024, 0x11);	/* the image's bytes */
	assert_host_bytes(top, 4096 - 1024, 0x5A);
	free(before);
	drop_hole_regions();
}

/*
 * Behind an IOMMU (mapped space, virtio-blk sets keep_faulted): the same
 * buffers, and IOVAs in RAM that the IOMMU maps onto a BAR, the ECAM, the
 * IOAPIC or the LAPIC, are refused by translation (the mapping lands
 * outside RAM): the request fails alone with IOERR in its status byte (used
 * len 1), no disk I/O, not a byte of a data buffer written, the RAM part of
 * a straddling one included; with the status byte itself on MMIO, used len
 * 0 and nothing written. One fault report each; the queue goes on.
 */
static void test_iommu_mmio(void **state)
{
	uint8_t *before, *top;
	size_t size;
	uint64_t st, buf, remap;
	uint32_t used;
	unsigned int faults;

	add_hole_regions();
	start_disk_mapped(ALL_FEATURES);
	before = file_copy(&size);
	/* Four IOVA pages in RAM, mapped onto the BAR, the ECAM, the IOAPIC, the LAPIC. */
	remap = fake_guest_alloc(&E.g, 4 * 4096);
	for (unsigned int i = 0; i < 4; i++)
		mmu_remap(remap + i * 4096ULL, remap_gpa[i]);
	top = hp(MEM_HOLE_START - 4096, 4096);
	memset(top, 0x5A, 4096);
	memset(gp(remap), 0x5A, 4 * 4096);

	for (unsigned int i = 0; i < ARRAY_SIZE(mmio_gpa) + 4 + 1; i++) {
		uint64_t a = i < ARRAY_SIZE(mmio_gpa) ? mmio_gpa[i] :
			     i < ARRAY_SIZE(mmio_gpa) + 4 ? remap + (i - ARRAY_SIZE(mmio_gpa)) * 4096ULL :
			     MEM_HOLE_START - 256;	/* straddling into the BAR window */

		faults = M.faults;
		st = new_status();
		assert_int_equal(run_segs((struct fake_seg[]){
						  { new_hdr(VIRTIO_BLK_T_IN, 0), 16, false },
						  { a, 512, true }, { st, 1, true } }, 3, st, &used),
				 VIRTIO_BLK_S_IOERR);
		assert_int_equal(used, 1);
		assert_int_equal(M.faults, faults + 1);
		st = new_status();
		assert_int_equal(run_segs((struct fake_seg[]){
						  { new_hdr(VIRTIO_BLK_T_OUT, 0), 16, false },
						  { a, 512, false }, { st, 1, true } }, 3, st, &used),
				 VIRTIO_BLK_S_IOERR);
		assert_int_equal(used, 1);
		/* A good buffer first: not written either. */
		buf = new_buf(512, 0x5A);
		st = new_status();
		assert_int_equal(run_segs((struct fake_seg[]){
						  { new_hdr(VIRTIO_BLK_T_IN, 0), 16, false },
						  { buf, 512, true }, { a, 512, true }, { st, 1, true } },
					  4, st, &used), VIRTIO_BLK_S_IOERR);
		assert_int_equal(used, 1);
		assert_bytes(buf, 512, 0x5A);
	}
	/* The status byte on MMIO, directly or through the IOMMU: len 0, nothing written. */
	for (unsigned int i = 0; i < 2; i++) {
		buf = new_buf(512, 0x5A);
		assert_int_equal(run_segs((struct fake_seg[]){
						  { new_hdr(VIRTIO_BLK_T_IN, 0), 16, false },
						  { buf, 512, true },
						  { i ? remap + 3 * 4096 : LAPIC_ADDR, 1, true } },
					  3, buf, &used), 0x5A);
		assert_int_equal(used, 0);
		assert_bytes(buf, 512, 0x5A);
	}
	assert_host_bytes(top, 4096, 0x5A);
	assert_bytes(remap, 4 * 4096, 0x5A);
	assert_file_same(before, size);
	assert_false(fake_virtio_needs_reset());

	/* The queue goes on. */
	buf = new_buf(512, 0);
	assert_int_equal(run_req(VIRTIO_BLK_T_IN, 0, buf, 512, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 513);
	assert_bytes(buf, 512, 0x11);
	free(before);
	drop_hole_regions();
}

#define BOTH(f)									\
	cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, (void *)&uring),	\
	cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, (void *)&sync_mode)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(test_features_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		BOTH(test_io_path),
		BOTH(test_write_read),
		BOTH(test_flush),
		BOTH(test_writethrough),
		BOTH(test_discard_write_zeroes),
		BOTH(test_write_zeroes_fallback),
		BOTH(test_discard_bdev),
		BOTH(test_readonly),
		BOTH(test_hostile_ranges),
		BOTH(test_status_placement),
		BOTH(test_unaligned_data),
		BOTH(test_shrunk_image),
		BOTH(test_bad_chains),
		BOTH(test_batch),
		BOTH(test_stop_inflight),
		BOTH(test_iommu_refused),
		BOTH(test_mmio_buffers),
		BOTH(test_iommu_mmio),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
