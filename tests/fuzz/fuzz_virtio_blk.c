// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the virtio-blk device model (src/virtio/blk.c) behind
 * the fake transport, over a memfd image, against a hostile driver
 * (hostile-guest.md cases 5, 6, 8, 14, 16). The input is a header (disk and
 * driver setup) and a list of requests whose chain shape, type, sector,
 * lengths and read/write flags are the fuzzer's; every segment sits between
 * guard bytes in the fake guest RAM.
 *
 * Checked after every batch: each chain comes back once; its used length is
 * 0 (and nothing written) or covers the status byte, which is 0, 1 or 2;
 * device-readable segments and all guards are untouched (case 8); a read
 * that reports OK returned exactly the image's bytes and a write that reports
 * OK put exactly the guest's; OK only for requests inside the capacity; the
 * image never changes size, its bytes past the last whole sector never
 * change, and a read-only image never changes at all (case 16); a failed
 * request changes nothing; nothing is allocated while requests run. Inputs
 * may end with a reset with reads in flight: after it, guest RAM stays as it
 * is (case 14). A violation aborts, and libFuzzer saves the input.
 *
 * Speed: guest RAM, the reset snapshot and the image file are set up once
 * and reused (each input clears what the last one used, so inputs stay
 * independent of each other); only the device is created per input. The
 * byte-range checks go through memcmp, not loops that the coverage
 * instrumentation would trace byte by byte.
 *
 * Built and run by tests/fuzz/fuzz.mk (`make fuzz-virtio-blk`).
 */
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_alloc.h"
#include "../unit/fake_virtio.h"
#include "util.h"
#include "virtio/blk.h"
#include "vm.h"

#define FAIL(...)							\
	do {								\
		fprintf(stderr, "fuzz_virtio_blk: " __VA_ARGS__);	\
		fputc('\n', stderr);					\
		abort();						\
	} while (0)

#define RAM_SIZE	(8 * MiB)
#define GUARD		32
#define MAX_SEGS	8
#define MAX_BATCH	8
#define MAX_REQS	64
#define IMG_MAX		(130 * 512)
#define SEG_LEN_MAX	16384
/* A request's readable bytes: MAX_SEGS of the longest length, and slack. */
#define RO_MAX		(MAX_SEGS * SEG_LEN_MAX + 32)

/* Header byte 0. */
enum {
	H_RO = 1 << 0, H_SYNC = 1 << 1, H_NO_FLUSH = 1 << 2, H_NO_DISCARD = 1 << 3,
	H_NO_WZ = 1 << 4, H_NO_EVIDX = 1 << 5, H_RESET_INFLIGHT = 1 << 6,
};

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

struct req {
	struct seg seg[MAX_SEGS];
	unsigned int nseg;
	uint16_t head;
	bool done;
	uint64_t in_len;
	uint8_t *ro_copy;		/* readable bytes as given, concatenated */
	uint64_t out_len;
};

static struct {
	const uint8_t *p;
	size_t left;
} in;

static int img_fd = -1;
static char img_path[64];

/*
 * Guest RAM and the reset snapshot, allocated (and faulted in) once: a
 * fresh 8 MiB per input made page faults most of the run time. ram_used
 * is how far the last input's allocations went; the next input clears
 * that much, so that every input starts from zeroed RAM.
 */
static struct fake_guest guest;
static uint8_t *snap;
static uint8_t img0[IMG_MAX + 512];	/* what every input's image starts as */
/* Readable bytes: the pattern they start from, and one copy per request of a batch. */
static uint8_t ro_pat[RO_MAX], ro_buf[MAX_BATCH][RO_MAX];
static uint64_t ram_used;

static uint8_t next8(void)
{
	if (!in.left)
		return 0;
	in.left--;
	return *in.p++;
}

static uint64_t next64(void)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)next8() << (8 * i);
	return v;
}

/* Sectors near the interesting edges: small, at the end, near 2^64, raw. */
static uint64_t pick_sector(uint64_t cap)
{
	uint8_t sel = next8();

	if (sel < 128)
		return sel;
	if (sel < 192)
		return cap - (sel - 128) + 1;
	if (sel < 224)
		return UINT64_MAX - (sel - 192);
	return next64();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* A memfd: tmpfs punches holes but has no ZERO_RANGE, so the fallback runs too. */
	img_fd = memfd_create("kvmio-fuzz-blk", MFD_CLOEXEC);
	if (img_fd < 0)
		FAIL("memfd_create failed");
	snprintf(img_path, sizeof(img_path), "/proc/self/fd/%d", img_fd);
	fake_guest_init(&guest, RAM_SIZE);
	snap = malloc(RAM_SIZE);
	if (!snap)
		FAIL("out of memory");
	memset(snap, 0, RAM_SIZE);
	ram_used = RAM_SIZE;
	for (size_t k = 0; k < sizeof(img0); k++)
		img0[k] = (uint8_t)(k * 31 + 7);
	for (size_t k = 0; k < sizeof(ro_pat); k++)
		ro_pat[k] = (uint8_t)(0x5A ^ k);
	fuzz_setup(true);
	return 0;
}

/* Is [@p, @p + @len) all @v (0 or 0xA5)? A page at a time through memcmp. */
static bool all_bytes(const uint8_t *p, uint64_t len, uint8_t v)
{
	static uint8_t pat[2][4096];
	const uint8_t *ref = pat[v != 0];

	if (v && ref[0] != v)
		memset(pat[1], v, sizeof(pat[1]));
	while (len) {
		uint64_t n = MIN(len, (uint64_t)sizeof(pat[0]));

		if (memcmp(p, ref, n))
			return false;
		p += n;
		len -= n;
	}
	return true;
}

/* Where @a and @b first differ, or @len. */
static uint64_t first_diff(const uint8_t *a, const uint8_t *b, uint64_t len)
{
	uint64_t k = 0;

	if (!memcmp(a, b, len))
		return len;
	while (a[k] == b[k])
		k++;
	return k;
}

static void read_image(uint8_t *buf, size_t len)
{
	if (pread(img_fd, buf, len, 0) != (ssize_t)len)
		FAIL("cannot read the image back");
}

/* Bytes [@off, @off + @len) of the chain's readable (@write false) or writable part. */
static void chain_bytes(struct fake_guest *g, const struct req *r, bool write, uint64_t off,
			uint8_t *dst, uint64_t len)
{
	for (unsigned int i = 0; i < r->nseg && len; i++) {
		uint64_t take;

		if (r->seg[i].write != write)
			continue;
		if (off >= r->seg[i].len) {
			off -= r->seg[i].len;
			continue;
		}
		take = MIN(r->seg[i].len - off, len);
		memcpy(dst, (uint8_t *)fake_guest_ptr(g, r->seg[i].gpa) + off, take);
		dst += take;
		len -= take;
		off = 0;
	}
}

static void check_guards(struct fake_guest *g, const struct req *r)
{
	uint64_t off = 0;

	for (unsigned int i = 0; i < r->nseg; i++) {
		const uint8_t *p = fake_guest_ptr(g, r->seg[i].gpa);

		for (unsigned int k = 1; k <= GUARD; k++)
			if (p[-(int)k] != 0xCC || p[r->seg[i].len + k - 1] != 0xCC)
				FAIL("guard byte around segment %u changed", i);
		if (!r->seg[i].write) {
			if (memcmp(p, r->ro_copy + off, r->seg[i].len))
				FAIL("device-readable segment %u was written", i);
			off += r->seg[i].len;
		}
	}
}

/* The image changed nowhere outside [@off, @off + @len). */
static void same_outside(const uint8_t *before, const uint8_t *after, size_t img_len,
			 uint64_t off, uint64_t len, const char *what)
{
	if (memcmp(before, after, off) ||
	    memcmp(before + off + len, after + off + len, img_len - off - len))
		FAIL("%s changed the image outside its range", what);
}

/* Every check on one completed request; @before is the image before its batch ran. */
static void check_req(struct fake_guest *g, const struct req *r, uint32_t used,
		      const struct blk_geom *geo, const uint8_t *before, const uint8_t *after,
		      size_t img_len, bool batch_alone)
{
	struct virtio_blk_outhdr hdr = { 0 };
	struct virtio_blk_discard_write_zeroes dwz = { 0 };
	uint8_t st = 0xA5;
	static uint8_t buf[IMG_MAX];

	check_guards(g, r);
	if (used > r->in_len)
		FAIL("used length %u > writable bytes %llu", used, (unsigned long long)r->in_len);
	if (used == 0) {
		/* Returned untouched: the writable bytes still hold the fill pattern. */
		for (unsigned int i = 0; i < r->nseg; i++)
			if (r->seg[i].write &&
			    !all_bytes(fake_guest_ptr(g, r->seg[i].gpa), r->seg[i].len, 0xA5))
				FAIL("chain returned with len 0 but written");
		return;
	}
	chain_bytes(g, r, true, r->in_len - 1, &st, 1);
	if (st > VIRTIO_BLK_S_UNSUPP)
		FAIL("status byte %u", st);
	memcpy(&hdr, r->ro_copy, MIN(r->out_len, sizeof(hdr)));
	if (r->out_len >= 32)
		memcpy(&dwz, r->ro_copy + 16, sizeof(dwz));
	if (log_level >= 2)	/* KVMIO_FUZZ_LOG=2: what an input reaches */
		fprintf(stderr, "type %u sector %llu out %llu in %llu: status %u used %u\n",
			hdr.type, (unsigned long long)hdr.sector, (unsigned long long)r->out_len,
			(unsigned long long)r->in_len, st, used);
	if (st != VIRTIO_BLK_S_OK) {
		if (batch_alone && memcmp(before, after, img_len))
			FAIL("failed request (type %u) changed the image", hdr.type);
		return;
	}
	/* OK: the request was well-formed and inside the disk. */
	if (r->out_len < 16)
		FAIL("OK without a full header");
	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		bool write = hdr.type == VIRTIO_BLK_T_OUT;
		uint64_t len = write ? r->out_len - 16 : r->in_len - 1;

		if (len % 512 || hdr.sector > geo->capacity || len / 512 > geo->capacity - hdr.sector)
			FAIL("OK for %s of %llu bytes at sector %llu, capacity %llu",
			     write ? "write" : "read", (unsigned long long)len,
			     (unsigned long long)hdr.sector, (unsigned long long)geo->capacity);
		if (write && geo->readonly)
			FAIL("OK for a write to a read-only disk");
		if (used != (write ? 1 : len + 1))
			FAIL("used length %u for a %llu-byte request", used, (unsigned long long)len);
		if (!batch_alone)
			break;
		/* OUT data follows the header in the readable part; IN data is writable. */
		chain_bytes(g, r, !write, write ? 16 : 0, buf, len);
		same_outside(before, after, img_len, hdr.sector * 512, write ? len : 0,
			     write ? "a write" : "a read");
		if (first_diff(buf, after + hdr.sector * 512, len) != len)
			FAIL("%s data differs from the image at byte %llu of %llu",
			     write ? "written" : "read",
			     (unsigned long long)first_diff(buf, after + hdr.sector * 512, len),
			     (unsigned long long)len);
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (geo->readonly || dwz.sector > geo->capacity ||
		    dwz.num_sectors > geo->capacity - dwz.sector)
			FAIL("OK for a range request outside the disk or on a read-only one");
		if (batch_alone)
			same_outside(before, after, img_len, dwz.sector * 512,
				     (uint64_t)dwz.num_sectors * 512, "discard/write-zeroes");
		if (hdr.type == VIRTIO_BLK_T_WRITE_ZEROES && batch_alone &&
		    !all_bytes(after + dwz.sector * 512, (uint64_t)dwz.num_sectors * 512, 0))
			FAIL("write-zeroes left a nonzero byte");
		break;
	case VIRTIO_BLK_T_FLUSH:
	case VIRTIO_BLK_T_GET_ID:
		if (batch_alone && memcmp(before, after, img_len))
			FAIL("flush/get-id changed the image");
		break;
	default:
		FAIL("OK for request type %u", hdr.type);
	}
}

static const uint32_t seg_lens[16] = {
	0, 1, 8, 12, 16, 17, 32, 511, 512, 513, 1024, 1025, 4096, 4097, 8192, SEG_LEN_MAX,
};
static const uint32_t types[8] = {
	VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID,
	VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES, VIRTIO_BLK_T_IN, 0,
};

static void seg_add(struct req *r, uint32_t len, bool write)
{
	r->seg[r->nseg++] = (struct seg){ .len = len, .write = write };
	if (write)
		r->in_len += len;
	else
		r->out_len += len;
}

/*
 * The layout a driver would use, so that most requests get past the shape
 * checks: header, data in 1-6 pieces, status; shape bit 4 puts the header in
 * the first readable data piece, bit 5 the status in the last writable one.
 */
static void canonical(struct req *r, uint32_t type, uint8_t shape)
{
	bool dwrite = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	uint32_t data, pieces = 1 + (shape & 7) % 6;
	uint8_t n = next8();

	if (type == VIRTIO_BLK_T_DISCARD || type == VIRTIO_BLK_T_WRITE_ZEROES)
		data = 16;
	else if (type == VIRTIO_BLK_T_GET_ID)
		data = 20;
	else if (type == VIRTIO_BLK_T_FLUSH)
		data = 0;
	else
		data = 512 * (n % 33);
	pieces = data ? MIN(pieces, data) : 0;
	r->nseg = 0;
	for (uint32_t i = 0; i < pieces; i++) {
		uint32_t len = data / pieces + (i + 1 == pieces ? data % pieces : 0);

		if (i == 0 && !dwrite && (shape & 0x10))
			len += 16;	/* the header rides in front */
		if (i == 0 && !(shape & 0x10 && !dwrite))
			seg_add(r, 16, false);
		if (i + 1 == pieces && dwrite && (shape & 0x20))
			len += 1;	/* so does the status, at the end */
		seg_add(r, len, dwrite);
	}
	if (!pieces)
		seg_add(r, 16, false);
	if (!(pieces && dwrite && (shape & 0x20)))
		seg_add(r, 1, true);
}

/* Build one request from the input and put it on the ring. */
static void add_req(struct fake_guest *g, struct req *r, uint8_t *ro_copy, uint64_t cap)
{
	uint8_t shape = next8(), tsel = next8();
	struct virtio_blk_outhdr hdr = { .type = types[tsel & 7] };
	struct virtio_blk_discard_write_zeroes dwz;
	struct fake_seg fs[MAX_SEGS];
	uint64_t ro = 0;

	if ((tsel & 7) == 7)
		hdr.type = (uint32_t)next64();
	hdr.sector = pick_sector(cap);
	dwz.sector = pick_sector(cap);
	dwz.num_sectors = (tsel & 0x80) ? (uint32_t)next64() : next8();
	dwz.flags = (tsel >> 4) & 3;
	r->nseg = 1 + (shape & 7);
	r->in_len = r->out_len = 0;
	if (shape & 0x08) {
		canonical(r, hdr.type, shape);
		goto fill;
	}
	for (unsigned int i = 0; i < r->nseg; i++) {
		uint8_t s = next8();

		r->seg[i].len = seg_lens[(s >> 1) & 15];
		/* Readable first, as a driver must; bit 0 asks for writable. */
		r->seg[i].write = (s & 1) || (i > 0 && r->seg[i - 1].write);
		if (r->seg[i].write)
			r->in_len += r->seg[i].len;
		else
			r->out_len += r->seg[i].len;
	}
fill:
	if (r->out_len > RO_MAX - 32)
		FAIL("%llu readable bytes", (unsigned long long)r->out_len);
	r->ro_copy = ro_copy;
	memcpy(r->ro_copy, ro_pat, r->out_len);
	memcpy(r->ro_copy, &hdr, MIN(r->out_len, sizeof(hdr)));
	if (r->out_len > 16)
		memcpy(r->ro_copy + 16, &dwz, MIN(r->out_len - 16, sizeof(dwz)));
	for (unsigned int i = 0; i < r->nseg; i++) {
		uint64_t gpa = fake_guest_alloc(g, r->seg[i].len + 2 * GUARD) + GUARD;
		uint8_t *p = fake_guest_ptr(g, gpa);

		memset(p - GUARD, 0xCC, r->seg[i].len + 2 * GUARD);
		if (r->seg[i].write) {
			memset(p, 0xA5, r->seg[i].len);
		} else {
			memcpy(p, r->ro_copy + ro, r->seg[i].len);
			ro += r->seg[i].len;
		}
		r->seg[i].gpa = gpa;
		fs[i] = (struct fake_seg){ gpa, r->seg[i].len, r->seg[i].write };
	}
	r->head = fake_ring_add(g, 0, fs, r->nseg);
	r->done = false;
}

/* Collect the batch's used entries; every chain exactly once. */
static void wait_batch(struct fake_guest *g, struct virtio_dev *vdev, struct req *rs,
		       unsigned int n, uint32_t *used)
{
	unsigned int got = 0, spins = 0;
	uint16_t head;
	uint32_t len;

	while (got < n) {
		if (!fake_ring_used(g, 0, &head, &len)) {
			if (++spins > 2000)
				FAIL("%u of %u requests never completed", n - got, n);
			fake_virtio_poll_watches(vdev, 5);
			continue;
		}
		unsigned int i;

		for (i = 0; i < n; i++)
			if (!rs[i].done && rs[i].head == head)
				break;
		if (i == n)
			FAIL("used entry for head %u, not in flight", head);
		rs[i].done = true;
		used[i] = len;
		got++;
	}
	if (fake_ring_used(g, 0, &head, &len))
		FAIL("extra used entry");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t before[IMG_MAX + 512], after[IMG_MAX + 512];
	struct req rs[MAX_BATCH];
	uint32_t used[MAX_BATCH];
	struct vm vm = { 0 };
	struct virtio_dev *vdev;
	struct disk_opts o = { .path = img_path };
	struct blk_geom geo = { 0 };
	uint64_t feat = ~0ULL;
	uint8_t h0, h1, h2;
	size_t img_len;

	in.p = data;
	in.left = size;
	h0 = next8();
	h1 = next8();
	h2 = next8();
	img_len = 512 * (1 + (size_t)(h1 % 128)) + ((h2 & 0x80) ? (h2 & 0x7f) * 3u : 0);
	/* Every byte rewritten (holes filled), the size cut or grown to img_len. */
	if (ftruncate(img_fd, img_len) || pwrite(img_fd, img0, img_len, 0) != (ssize_t)img_len)
		FAIL("cannot reset the image");
	geo.capacity = img_len / 512;
	geo.readonly = h0 & H_RO;
	o.readonly = geo.readonly;
	if (h0 & H_SYNC)
		setenv("KVMIO_BLK_NO_URING", "1", 1);
	else
		unsetenv("KVMIO_BLK_NO_URING");
	if (virtio_blk_create(&vm, &o, 0))
		FAIL("virtio_blk_create failed");
	vdev = fake_virtio_last();
	if (h0 & H_NO_FLUSH)
		feat &= ~(1ULL << VIRTIO_BLK_F_FLUSH);
	if (h0 & H_NO_DISCARD)
		feat &= ~(1ULL << VIRTIO_BLK_F_DISCARD);
	if (h0 & H_NO_WZ)
		feat &= ~(1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	if (h0 & H_NO_EVIDX)
		feat &= ~(1ULL << VIRTIO_RING_F_EVENT_IDX);
	/* Zeroed RAM again: what the last input allocated, and the gaps between. */
	memset(fake_guest_ptr(&guest, 0), 0, ram_used);
	guest.next = 0x1000;
	memset(guest.q, 0, sizeof(guest.q));
	if (fake_virtio_start(vdev, &guest, feat))
		FAIL("start failed");

	for (unsigned int total = 0; in.left && total < MAX_REQS;) {
		uint8_t b = next8();
		unsigned int n = 1 + (b & (MAX_BATCH - 1));
		bool last = !in.left || total + n >= MAX_REQS;

		if (guest.next + (uint64_t)n * MAX_SEGS * (SEG_LEN_MAX + 4096 + 2 * GUARD) > RAM_SIZE)
			break;
		read_image(before, img_len);
		for (unsigned int i = 0; i < n; i++)
			add_req(&guest, &rs[i], ro_buf[i], geo.capacity);
		total += n;
		fuzz_in_io = true;
		vdev->ops->notify(vdev, 0);
		if (last && (h0 & H_RESET_INFLIGHT)) {
			/* Reset with whatever is in flight; then nothing may move. */
			fake_virtio_stop(vdev);
			fuzz_in_io = false;
			/*
			 * Synchronous I/O ran to its end inside notify, on this
			 * thread, and registered no watch: nothing is left to
			 * move RAM. With io_uring, the kernel and the completion
			 * watch get time to do what they should no longer do.
			 */
			if (!(h0 & H_SYNC)) {
				memcpy(snap, fake_guest_ptr(&guest, 0), RAM_SIZE);
				fake_virtio_poll_watches(vdev, 1);
				usleep(1000);
				if (memcmp(snap, fake_guest_ptr(&guest, 0), RAM_SIZE))
					FAIL("guest RAM written after reset");
			} else {
				fake_virtio_poll_watches(vdev, 1);
			}
			goto out;
		}
		wait_batch(&guest, vdev, rs, n, used);
		fuzz_in_io = false;
		if (fuzz_io_allocs)
			FAIL("%lu allocations while requests ran", fuzz_io_allocs);
		read_image(after, img_len);
		for (unsigned int i = 0; i < n; i++)
			check_req(&guest, &rs[i], used[i], &geo, before, after, img_len, n == 1);
		/* Past the last whole sector, and on a read-only disk, nothing changes. */
		if (memcmp(after + geo.capacity * 512, img0 + geo.capacity * 512,
			   img_len - geo.capacity * 512))
			FAIL("bytes past the capacity changed");
		if (geo.readonly && memcmp(after, img0, img_len))
			FAIL("read-only image changed");
	}
	fake_virtio_stop(vdev);
out:
	{
		struct stat st;

		if (fstat(img_fd, &st) || (size_t)st.st_size != img_len)
			FAIL("image size changed");
	}
	fake_virtio_destroy_all();
	ram_used = guest.next;
	fuzz_in_io = false;
	fuzz_io_allocs = 0;
	return 0;
}
