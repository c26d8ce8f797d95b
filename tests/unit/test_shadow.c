// SPDX-License-Identifier: Apache-2.0
/*
 * Shadow mappings (src/iommu/shadow.c): a DMA space mirrored into a backend.
 * The space is a fake whose replay reports a list of mappings (leaves) the
 * test writes; the backend is a fake that keeps its own list of what is
 * mapped and, like VFIO type1, refuses a map that overlaps anything mapped
 * (-EEXIST) and an unmap that is not exactly one earlier map (-EINVAL). It
 * logs every call (IOVA, length, and for a map host address and
 * permission), so tests assert the exact calls a sync makes, in order.
 * After every step the backend must hold exactly the shadow's entries.
 *
 * An entry is a run: leaves new in one sync that go on from each other in
 * IOVA and in guest address within one RAM region (so in host memory too),
 * with one permission, mapped with one call. A later sync keeps an entry,
 * without a call, only while the space's leaves still cover it exactly,
 * leaf by leaf from its start to its end; otherwise the whole run is
 * unmapped and what remains of it is mapped again as new runs. Leaves that
 * make up a kept entry are never merged with new ones: a leaf added next
 * to a kept run is an entry of its own.
 *
 * Guest RAM: 4 MiB at 0 and 2 MiB at 4 GiB, in one malloc'd buffer. A test
 * may add a third region (add_next_region): 1 MiB right after the 2 MiB in
 * guest addresses, but 1 MiB past its end in the buffer, so a run of guest
 * addresses across the two is not one run of host memory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "iommu/shadow.h"
#include "util.h"

#define LOW_SIZE	(4 * MiB)
#define HIGH_GPA	(4 * GiB)
#define HIGH_SIZE	(2 * MiB)
#define NEXT_GPA	(HIGH_GPA + HIGH_SIZE)
#define NEXT_SIZE	(1 * MiB)
/* Where the third region lies in the buffer: 1 MiB past high RAM's end, not right after it. */
#define NEXT_OFF	(LOW_SIZE + HIGH_SIZE + 1 * MiB)
#define RAM_BUF		(NEXT_OFF + NEXT_SIZE)
#define RW		(DMA_READ | DMA_WRITE)
#define ALL		0, UINT64_MAX

/* One mapping of the fake space, or one the backend holds. */
struct space_map {
	uint64_t iova, gpa, len;
	unsigned int perm;
};

struct bmap {
	uint64_t iova, len;
	void *hva;
	unsigned int perm;
};

/* One backend call, in the order made: 'm' (with @hva and @perm) or 'u' (NULL, 0). */
struct call {
	char op;
	uint64_t iova, len;
	void *hva;
	unsigned int perm;
};

#define NMAX	1100

struct fx {
	struct guest_mem mem;
	uint8_t *ram;
	struct dma_as as;
	/* The space: sorted by IOVA (space_add keeps it so), never overlapping. */
	struct space_map m[NMAX];
	size_t nm;
	size_t replay_cut;	/* report this many, then -E2BIG (a walk out of budget); 0: all */
	/* The backend: sorted by IOVA. */
	struct bmap b[NMAX];
	size_t nb;
	struct call log[2 * NMAX];
	size_t nlog;
	uint64_t fail_map, fail_unmap;	/* IOVA whose map/unmap fails with -EIO; ~0 none */
	struct shadow s;
};

/* The fake space's replay: what overlaps [lo, hi], whole, in IOVA order. */
static int space_replay(struct dma_as *as, uint64_t lo, uint64_t hi, dma_replay_fn fn, void *opaque)
{
	struct fx *f = as->opaque;
	size_t seen = 0;

	for (size_t i = 0; i < f->nm; i++) {
		const struct space_map *m = &f->m[i];
		int ret;

		if (m->iova > hi || m->iova + m->len - 1 < lo)
			continue;
		if (f->replay_cut && seen == f->replay_cut)
			return -E2BIG;
		seen++;
		ret = fn(opaque, m->iova, m->gpa, m->len, m->perm);
		if (ret)
			return ret;
	}
	return 0;
}

static int space_lookup(struct dma_as *as, uint64_t iova, unsigned int dir, struct dma_map *m)
{
	fail_msg("the shadow must replay, not look up");
	return -EFAULT;
}

static const struct dma_as_ops space_ops = { .lookup = space_lookup, .replay = space_replay };

static void space_add(struct fx *f, uint64_t iova, uint64_t gpa, uint64_t len, unsigned int perm)
{
	size_t i = 0;

	assert_true(f->nm < NMAX);
	while (i < f->nm && f->m[i].iova < iova)
		i++;
	/* The test's own tables must not overlap: that is the space's contract. */
	assert_true(i == f->nm || f->m[i].iova >= iova + len);
	assert_true(i == 0 || f->m[i - 1].iova + f->m[i - 1].len <= iova);
	memmove(&f->m[i + 1], &f->m[i], (f->nm - i) * sizeof(f->m[0]));
	f->m[i] = (struct space_map){ iova, gpa, len, perm };
	f->nm++;
}

static struct space_map *space_find(struct fx *f, uint64_t iova)
{
	for (size_t i = 0; i < f->nm; i++)
		if (f->m[i].iova == iova)
			return &f->m[i];
	fail_msg("no mapping at 0x%llx in the space", (unsigned long long)iova);
	return NULL;
}

static void space_del(struct fx *f, uint64_t iova)
{
	struct space_map *m = space_find(f, iova);
	size_t i = (size_t)(m - f->m);

	memmove(&f->m[i], &f->m[i + 1], (f->nm - i - 1) * sizeof(f->m[0]));
	f->nm--;
}

/* The backend, VFIO type1's rules. */
static int be_map(void *opaque, uint64_t iova, void *hva, uint64_t len, unsigned int perm)
{
	struct fx *f = opaque;
	size_t i = 0;

	assert_true(f->nlog < 2 * NMAX);
	f->log[f->nlog++] = (struct call){ 'm', iova, len, hva, perm };
	/* Only RAM is ever handed to the backend. */
	assert_non_null(hva);
	assert_true(len > 0 && perm && !(perm & ~RW));
	if (iova == f->fail_map)
		return -EIO;
	for (size_t j = 0; j < f->nb; j++)
		if (f->b[j].iova < iova + len && iova < f->b[j].iova + f->b[j].len)
			return -EEXIST;
	while (i < f->nb && f->b[i].iova < iova)
		i++;
	assert_true(f->nb < NMAX);
	memmove(&f->b[i + 1], &f->b[i], (f->nb - i) * sizeof(f->b[0]));
	f->b[i] = (struct bmap){ iova, len, hva, perm };
	f->nb++;
	return 0;
}

static int be_unmap(void *opaque, uint64_t iova, uint64_t len)
{
	struct fx *f = opaque;

	assert_true(f->nlog < 2 * NMAX);
	f->log[f->nlog++] = (struct call){ 'u', iova, len, NULL, 0 };
	if (iova == f->fail_unmap)
		return -EIO;
	for (size_t i = 0; i < f->nb; i++) {
		if (f->b[i].iova == iova && f->b[i].len == len) {
			memmove(&f->b[i], &f->b[i + 1], (f->nb - i - 1) * sizeof(f->b[0]));
			f->nb--;
			return 0;
		}
	}
	return -EINVAL;
}

static const struct shadow_ops be_ops = { .map = be_map, .unmap = be_unmap };

/* The backend holds exactly s->e[0 .. n): same IOVA, length, permission, host memory. */
static void check_backend(struct fx *f)
{
	const struct shadow *s = &f->s;

	assert_int_equal(f->nb, s->n);
	for (size_t i = 0; i < s->n; i++) {
		const struct shadow_entry *e = &s->e[i];

		assert_int_equal(f->b[i].iova, e->iova);
		assert_int_equal(f->b[i].len, e->len);
		assert_int_equal(f->b[i].perm, e->perm);
		assert_ptr_equal(f->b[i].hva, guest_ptr(&f->mem, e->gpa, e->len));
		/* Sorted, apart. */
		if (i)
			assert_true(s->e[i - 1].iova + s->e[i - 1].len <= e->iova);
	}
}

/*
 * The shadow holds exactly the space's mappings, one entry each, all of them
 * (all are RAM): for spaces where no two leaves go on from each other, so
 * that no run has more than one leaf.
 */
static void check_mirrors_space(struct fx *f)
{
	check_backend(f);
	assert_int_equal(f->s.n, f->nm);
	for (size_t i = 0; i < f->nm; i++) {
		assert_int_equal(f->s.e[i].iova, f->m[i].iova);
		assert_int_equal(f->s.e[i].gpa, f->m[i].gpa);
		assert_int_equal(f->s.e[i].len, f->m[i].len);
		assert_int_equal(f->s.e[i].perm, f->m[i].perm);
	}
}

/*
 * The shadow mirrors the space, in runs: the backend holds the shadow's
 * entries; each leaf of the space that is RAM lies inside one entry, at the
 * same offset in guest memory, with the entry's permission; and the entries
 * hold nothing more (leaves do not overlap, so equal totals mean that).
 */
static void check_covers_space(struct fx *f)
{
	const struct shadow *s = &f->s;
	uint64_t leaves = 0, entries = 0;

	check_backend(f);
	for (size_t i = 0; i < f->nm; i++) {
		const struct space_map *m = &f->m[i];
		const struct shadow_entry *e = NULL;

		if (!guest_ptr(&f->mem, m->gpa, m->len))
			continue;
		for (size_t j = 0; j < s->n; j++)
			if (s->e[j].iova <= m->iova && m->iova - s->e[j].iova < s->e[j].len)
				e = &s->e[j];
		assert_non_null(e);
		assert_true(m->iova + m->len <= e->iova + e->len);
		assert_int_equal(m->gpa, e->gpa + (m->iova - e->iova));
		assert_int_equal(m->perm, e->perm);
		leaves += m->len;
	}
	for (size_t j = 0; j < s->n; j++)
		entries += s->e[j].len;
	assert_int_equal(entries, leaves);
}

/* The host address of guest address @gpa (RAM, or the test is wrong). */
static void *hva(struct fx *f, uint64_t gpa)
{
	void *p = guest_ptr(&f->mem, gpa, 1);

	assert_non_null(p);
	return p;
}

/* The calls the last sync made are exactly @want[0 .. n), in that order. */
static void check_log(const struct fx *f, const struct call *want, size_t n)
{
	assert_int_equal(f->nlog, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(f->log[i].op, want[i].op);
		assert_int_equal(f->log[i].iova, want[i].iova);
		assert_int_equal(f->log[i].len, want[i].len);
		assert_ptr_equal(f->log[i].hva, want[i].hva);
		assert_int_equal(f->log[i].perm, want[i].perm);
	}
}

/* The shadow's entries are exactly @want[0 .. n), and the backend holds them. */
static void check_entries(struct fx *f, const struct shadow_entry *want, size_t n)
{
	check_backend(f);
	assert_int_equal(f->s.n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(f->s.e[i].iova, want[i].iova);
		assert_int_equal(f->s.e[i].gpa, want[i].gpa);
		assert_int_equal(f->s.e[i].len, want[i].len);
		assert_int_equal(f->s.e[i].perm, want[i].perm);
	}
}

#define MAP(iova, len, gpa, perm)	{ 'm', (iova), (len), hva(f, (gpa)), (perm) }
#define UNMAP(iova, len)		{ 'u', (iova), (len), NULL, 0 }
#define ENTRY(iova, gpa, len, perm)	{ (iova), (gpa), (len), (perm) }
#define NARGS(type, ...)		(sizeof((type[]){ __VA_ARGS__ }) / sizeof(type))
#define CHECK_LOG(f, ...) \
	check_log((f), (const struct call[]){ __VA_ARGS__ }, NARGS(const struct call, __VA_ARGS__))
#define CHECK_ENTRIES(f, ...) \
	check_entries((f), (const struct shadow_entry[]){ __VA_ARGS__ }, \
		      NARGS(const struct shadow_entry, __VA_ARGS__))

/* @n 4 KiB leaves from @iova onto @gpa on, each going on from the last in both. */
static void pages(struct fx *f, uint64_t iova, uint64_t gpa, size_t n, unsigned int perm)
{
	for (size_t i = 0; i < n; i++)
		space_add(f, iova + i * 4096, gpa + i * 4096, 4096, perm);
}

static size_t calls(const struct fx *f, char op)
{
	size_t n = 0;

	for (size_t i = 0; i < f->nlog; i++)
		n += f->log[i].op == op;
	return n;
}

static int sync(struct fx *f, uint64_t lo, uint64_t hi)
{
	f->nlog = 0;
	return shadow_sync(&f->s, lo, hi);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->ram = calloc(1, RAM_BUF);
	assert_non_null(f->ram);
	f->mem.nr = 2;
	f->mem.region[0] = (struct mem_region){ .gpa = 0, .size = LOW_SIZE, .hva = f->ram };
	f->mem.region[1] = (struct mem_region){
		.gpa = HIGH_GPA, .size = HIGH_SIZE, .hva = f->ram + LOW_SIZE, .slot = 1,
	};
	f->mem.ram_size = LOW_SIZE + HIGH_SIZE;
	dma_as_init(&f->as, &f->mem, "test-dev");
	f->as.ops = &space_ops;
	f->as.opaque = f;
	f->fail_map = f->fail_unmap = ~0ULL;
	shadow_init(&f->s, &f->as, &be_ops, f, "test-dev", NMAX);
	*state = f;
	return 0;
}

/* A third region: right after high RAM in guest addresses, apart from it in host memory. */
static void add_next_region(struct fx *f)
{
	f->mem.region[f->mem.nr++] = (struct mem_region){
		.gpa = NEXT_GPA, .size = NEXT_SIZE, .hva = f->ram + NEXT_OFF, .slot = 2,
	};
	f->mem.ram_size += NEXT_SIZE;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	shadow_destroy(&f->s);
	free(f->ram);
	free(f);
	return 0;
}

/* A few mappings of each size the space gives, low and high RAM. */
static void some_mappings(struct fx *f)
{
	space_add(f, 0x1000, 0x5000, 4096, RW);
	space_add(f, 0x2000, 0x3000, 4096, DMA_READ);
	space_add(f, 0x3000, 0x3000, 4096, DMA_WRITE);	/* aliases are fine */
	space_add(f, 0x200000, 0x200000, 2 * MiB, RW);
	space_add(f, 1ULL << 40, HIGH_GPA, 2 * MiB, DMA_READ);
}

/* The first sync maps everything; one with nothing changed calls the backend not at all. */
static void test_first_sync(void **state)
{
	struct fx *f = *state;

	some_mappings(f);
	/* Nothing before the first sync. */
	assert_int_equal(f->nb, 0);
	assert_int_equal(sync(f, ALL), 0);
	assert_int_equal(calls(f, 'm'), 5);
	assert_int_equal(calls(f, 'u'), 0);
	assert_int_equal(f->s.maps, 5);
	check_mirrors_space(f);

	/* Unchanged: untouched, over everything and over a part. */
	assert_int_equal(sync(f, ALL), 0);
	assert_int_equal(f->nlog, 0);
	assert_int_equal(sync(f, 0x2000, 0x300000), 0);
	assert_int_equal(f->nlog, 0);
	assert_int_equal(f->s.maps, 5);
	assert_int_equal(f->s.unmaps, 0);
	assert_int_equal(f->s.errors, 0);
	check_mirrors_space(f);
}

/* Removed: unmapped, nothing else touched. Changed GPA or permission: unmapped, then mapped. */
static void test_remove_and_change(void **state)
{
	struct fx *f = *state;

	some_mappings(f);
	assert_int_equal(sync(f, ALL), 0);

	space_del(f, 0x2000);
	assert_int_equal(sync(f, ALL), 0);
	assert_int_equal(f->nlog, 1);
	assert_int_equal(f->log[0].op, 'u');
	assert_int_equal(f->log[0].iova, 0x2000);
	assert_int_equal(f->log[0].len, 4096);
	check_mirrors_space(f);

	/* New GPA: the backend must not see the new map first (it would refuse it). */
	space_find(f, 0x1000)->gpa = 0x9000;
	assert_int_equal(sync(f, ALL), 0);
	assert_int_equal(f->nlog, 2);
	assert_int_equal(f->log[0].op, 'u');
	assert_int_equal(f->log[0].iova, 0x1000);
	assert_int_equal(f->log[1].op, 'm');
	assert_int_equal(f->log[1].iova, 0x1000);
	check_mirrors_space(f);
	assert_ptr_equal(f->b[0].hva, f->ram + 0x9000);

	/* New permission, on a 2 MiB page. */
	space_find(f, 0x200000)->perm = DMA_READ;
	assert_int_equal(sync(f, ALL), 0);
	assert_int_equal(f->nlog, 2);
	assert_int_equal(f->log[0].op, 'u');
	assert_int_equal(f->log[0].iova, 0x200000);
	assert_int_equal(f->log[0].len, 2 * MiB);
	assert_int_equal(f->log[1].op, 'm');
	assert_int_equal(f->log[1].iova, 0x200000);
	check_mirrors_space(f);
	assert_int_equal(f->s.maps, 5 + 2);
	assert_int_equal(f->s.unmaps, 3);
}

/* A sync over a range touches only what overlaps it; a page across its edge, whole. */
static void test_partial_range(void **state)
{
	struct fx *f = *state;

	some_mappings(f);
	assert_int_equal(sync(f, ALL), 0);
	/* Change every mapping in the space; sync only the page at 0x2000. */
	for (size_t i = 0; i < f->nm; i++)
		f->m[i].perm = f->m[i].perm == RW ? DMA_READ : RW;
	assert_int_equal(sync(f, 0x2000, 0x2FFF), 0);
	assert_int_equal(f->nlog, 2);
	assert_int_equal(f->log[0].iova, 0x2000);
	assert_int_equal(f->log[1].iova, 0x2000);
	check_backend(f);
	assert_int_equal(f->s.e[0].perm, RW);		/* 0x1000: still the old one */
	assert_int_equal(f->s.e[1].perm, RW);		/* 0x2000: the new one */
	assert_int_equal(f->s.e[2].perm, DMA_WRITE);	/* 0x3000: old */

	/* One byte inside the 2 MiB page (and the last byte before it): the page, whole. */
	assert_int_equal(sync(f, 0x1FFFFF, 0x300000), 0);
	assert_int_equal(f->nlog, 2);
	assert_int_equal(f->log[0].op, 'u');
	assert_int_equal(f->log[0].iova, 0x200000);
	assert_int_equal(f->log[0].len, 2 * MiB);
	assert_int_equal(f->log[1].op, 'm');
	assert_int_equal(f->log[1].len, 2 * MiB);
	check_backend(f);
	assert_int_equal(f->s.e[3].perm, DMA_READ);

	/* The rest, then everything agrees. */
	assert_int_equal(sync(f, ALL), 0);
	assert_int_equal(calls(f, 'u'), 3);
	assert_int_equal(calls(f, 'm'), 3);
	check_mirrors_space(f);

	/* A removed page whose first byte is the range's last: it overlaps, it goes. */
	space_del(f, 0x3000);
	assert_int_equal(sync(f, 0x2000, 0x3000), 0);
	assert_int_equal(f->nlog, 1);
	assert_int_equal(f->log[0].op, 'u');
	assert_int_equal(f->log[0].iova, 0x3000);
	check_mirrors_space(f);
	/* A removed 2 MiB page synced over one byte inside it (nothing left there to replay,
	 * and the entry starts before the range): it goes, whole. */
	space_del(f, 0x200000);
	assert_int_equal(sync(f, 0x300000, 0x300000), 0);
	assert_int_equal(f->nlog, 1);
	assert_int_equal(f->log[0].op, 'u');
	assert_int_equal(f->log[0].iova, 0x200000);
	assert_int_equal(f->log[0].len, 2 * MiB);
	check_mirrors_space(f);
}

/*
 * Leaf sizes change under an unchanged translation, then the translation
 * changes. 512 4 KiB pages that go on from each other are one 2 MiB run,
 * mapped with one call; a 2 MiB page onto the same memory is the same
 * mapping to the backend, and so are the 512 pages again: no calls. A page
 * inside changed: the run goes whole, what is left comes back in runs.
 */
static void test_merge_and_split(void **state)
{
	struct fx *f = *state;

	space_add(f, 0x1000, 0x1000, 4096, RW);		/* a neighbour that must stay */
	pages(f, 0x200000, 0x200000, 512, RW);
	assert_int_equal(sync(f, ALL), 0);
	CHECK_LOG(f, MAP(0x1000, 4096, 0x1000, RW), MAP(0x200000, 2 * MiB, 0x200000, RW));
	CHECK_ENTRIES(f, ENTRY(0x1000, 0x1000, 4096, RW), ENTRY(0x200000, 0x200000, 2 * MiB, RW));
	check_covers_space(f);

	/* One 2 MiB page where the 512 were, onto the same memory: the entry holds, untouched. */
	f->nm = 1;
	space_add(f, 0x200000, 0x200000, 2 * MiB, RW);
	assert_int_equal(sync(f, ALL), 0);
	assert_int_equal(f->nlog, 0);
	CHECK_ENTRIES(f, ENTRY(0x1000, 0x1000, 4096, RW), ENTRY(0x200000, 0x200000, 2 * MiB, RW));
	check_mirrors_space(f);

	/* Back to the 512 pages, synced over one of them: the entry holds, untouched. */
	f->nm = 1;
	pages(f, 0x200000, 0x200000, 512, RW);
	assert_int_equal(sync(f, 0x300000, 0x300FFF), 0);
	assert_int_equal(f->nlog, 0);
	CHECK_ENTRIES(f, ENTRY(0x1000, 0x1000, 4096, RW), ENTRY(0x200000, 0x200000, 2 * MiB, RW));
	check_covers_space(f);

	/* Page 100 onto other memory: the run is unmapped before anything is mapped; then
	 * the pages before it as one run, the page alone, the pages after it as one run. */
	space_find(f, 0x264000)->gpa = 0x100000;
	assert_int_equal(sync(f, ALL), 0);
	CHECK_LOG(f, UNMAP(0x200000, 2 * MiB), MAP(0x200000, 0x64000, 0x200000, RW),
		  MAP(0x264000, 4096, 0x100000, RW), MAP(0x265000, 0x19B000, 0x265000, RW));
	CHECK_ENTRIES(f, ENTRY(0x1000, 0x1000, 4096, RW), ENTRY(0x200000, 0x200000, 0x64000, RW),
		      ENTRY(0x264000, 0x100000, 4096, RW),
		      ENTRY(0x265000, 0x265000, 0x19B000, RW));
	check_covers_space(f);

	/* Merged into one 2 MiB page again, synced over one page inside (not page 100): the
	 * space reports the 2 MiB page whole, so the sync covers all three entries under it. */
	f->nm = 1;
	space_add(f, 0x200000, 0x200000, 2 * MiB, RW);
	assert_int_equal(sync(f, 0x300000, 0x300FFF), 0);
	CHECK_LOG(f, UNMAP(0x200000, 0x64000), UNMAP(0x264000, 4096), UNMAP(0x265000, 0x19B000),
		  MAP(0x200000, 2 * MiB, 0x200000, RW));
	CHECK_ENTRIES(f, ENTRY(0x1000, 0x1000, 4096, RW), ENTRY(0x200000, 0x200000, 2 * MiB, RW));
	check_mirrors_space(f);

	/* Only the first half still mapped, as pages: the entry does not hold (it went on). */
	f->nm = 1;
	pages(f, 0x200000, 0x200000, 256, RW);
	assert_int_equal(sync(f, ALL), 0);
	CHECK_LOG(f, UNMAP(0x200000, 2 * MiB), MAP(0x200000, 1 * MiB, 0x200000, RW));
	CHECK_ENTRIES(f, ENTRY(0x1000, 0x1000, 4096, RW), ENTRY(0x200000, 0x200000, 1 * MiB, RW));
	check_covers_space(f);

	/* A 2 MiB page from the same start onto the same memory: a leaf that runs past the
	 * entry's end does not hold it either; the entry goes, the page comes. */
	f->nm = 1;
	space_add(f, 0x200000, 0x200000, 2 * MiB, RW);
	assert_int_equal(sync(f, 0x200000, 0x200FFF), 0);
	CHECK_LOG(f, UNMAP(0x200000, 1 * MiB), MAP(0x200000, 2 * MiB, 0x200000, RW));
	CHECK_ENTRIES(f, ENTRY(0x1000, 0x1000, 4096, RW), ENTRY(0x200000, 0x200000, 2 * MiB, RW));
	check_mirrors_space(f);
	assert_int_equal(f->s.maps, 2 + 3 + 1 + 1 + 1);
	assert_int_equal(f->s.unmaps, 1 + 3 + 1 + 1);
	assert_int_equal(f->s.errors, 0);
}

/*
 * A 2 MiB page split into 4 KiB pages, and the sync covers only one of them
 * (a guest that invalidates one address of the old page). Split onto the
 * same memory, the pages cover the 2 MiB entry leaf for leaf: it stays,
 * untouched. With that page changed, the old entry overlaps the range, so
 * all of it must come out, and everything the space maps under it must go
 * back, not only the page synced: the runs either side of it, and the page.
 */
static void test_split_partial(void **state)
{
	struct fx *f = *state;

	space_add(f, 0x200000, 0x200000, 2 * MiB, RW);
	assert_int_equal(sync(f, ALL), 0);
	CHECK_LOG(f, MAP(0x200000, 2 * MiB, 0x200000, RW));
	f->nm = 0;
	pages(f, 0x200000, 0x200000, 512, RW);
	assert_int_equal(sync(f, 0x300000, 0x300FFF), 0);
	assert_int_equal(f->nlog, 0);
	CHECK_ENTRIES(f, ENTRY(0x200000, 0x200000, 2 * MiB, RW));
	check_covers_space(f);

	space_find(f, 0x300000)->perm = DMA_READ;
	assert_int_equal(sync(f, 0x300000, 0x300FFF), 0);
	CHECK_LOG(f, UNMAP(0x200000, 2 * MiB), MAP(0x200000, 1 * MiB, 0x200000, RW),
		  MAP(0x300000, 4096, 0x300000, DMA_READ), MAP(0x301000, 0xFF000, 0x301000, RW));
	/* Nothing the guest still maps under the old page may be left unmapped. */
	CHECK_ENTRIES(f, ENTRY(0x200000, 0x200000, 1 * MiB, RW),
		      ENTRY(0x300000, 0x300000, 4096, DMA_READ),
		      ENTRY(0x301000, 0x301000, 0xFF000, RW));
	check_covers_space(f);
}

/* Mappings onto what is not RAM (the MMIO hole, past the end, across an end): not mirrored. */
static void test_not_ram(void **state)
{
	struct fx *f = *state;

	space_add(f, 0x1000, LOW_SIZE, 4096, RW);		/* just past low RAM */
	space_add(f, 0x2000, 0xFEC00000ULL, 4096, RW);		/* the IOAPIC */
	space_add(f, 0x3000, 0x4000, 4096, RW);			/* RAM */
	space_add(f, 0x200000, 3 * MiB, 2 * MiB, RW);		/* runs off low RAM's end */
	space_add(f, 0x400000, HIGH_GPA + HIGH_SIZE, 2 * MiB, RW); /* past high RAM */
	assert_int_equal(sync(f, ALL), 0);
	assert_int_equal(f->nlog, 1);
	check_backend(f);
	assert_int_equal(f->s.n, 1);
	assert_int_equal(f->s.e[0].iova, 0x3000);

	/* A mapping moved from RAM to the hole is unmapped, not mapped anew. */
	space_find(f, 0x3000)->gpa = 0xFED00000ULL;
	assert_int_equal(sync(f, ALL), 0);
	assert_int_equal(f->nlog, 1);
	assert_int_equal(f->log[0].op, 'u');
	assert_int_equal(f->s.n, 0);
	check_backend(f);
}

/*
 * More mappings than the backend holds: -E2BIG, the first @max leaves
 * mirrored, no more. @max counts the leaves a sync looks at, not the runs
 * they make: five leaves that would be one run are still too many for 3.
 */
static void test_max(void **state)
{
	struct fx *f = *state;

	shadow_destroy(&f->s);
	shadow_init(&f->s, &f->as, &be_ops, f, "test-dev", 3);
	pages(f, 0x10000, 0x10000, 5, RW);
	assert_int_equal(sync(f, ALL), -E2BIG);
	CHECK_LOG(f, MAP(0x10000, 3 * 4096, 0x10000, RW));	/* the three seen, as one run */
	assert_int_equal(f->s.truncated, 1);
	CHECK_ENTRIES(f, ENTRY(0x10000, 0x10000, 3 * 4096, RW));
	/* Again: the same run stays, still nothing more. */
	assert_int_equal(sync(f, ALL), -E2BIG);
	assert_int_equal(f->nlog, 0);
	assert_int_equal(f->s.truncated, 2);
	CHECK_ENTRIES(f, ENTRY(0x10000, 0x10000, 3 * 4096, RW));
	/* Not-RAM mappings do not count against @max: three RAM leaves fit, and hold the run. */
	f->nm = 0;
	space_add(f, 0x1000, 0xFEC00000ULL, 4096, RW);
	space_add(f, 0x2000, 0xFEC01000ULL, 4096, RW);
	pages(f, 0x10000, 0x10000, 3, RW);
	assert_int_equal(sync(f, ALL), 0);
	assert_int_equal(f->nlog, 0);
	assert_int_equal(f->s.truncated, 2);
	CHECK_ENTRIES(f, ENTRY(0x10000, 0x10000, 3 * 4096, RW));
	check_covers_space(f);
}

/*
 * The space's walk runs out of budget: what it saw is mirrored, the rest of
 * the range unmapped. A run the walk saw only part of does not hold: it goes
 * whole, and the part seen comes back as a run.
 */
static void test_replay_truncated(void **state)
{
	struct fx *f = *state;

	pages(f, 0x10000, 0x10000, 5, RW);
	assert_int_equal(sync(f, ALL), 0);
	CHECK_LOG(f, MAP(0x10000, 5 * 4096, 0x10000, RW));
	f->replay_cut = 2;
	assert_int_equal(sync(f, ALL), -E2BIG);
	/* Fail closed. */
	CHECK_LOG(f, UNMAP(0x10000, 5 * 4096), MAP(0x10000, 2 * 4096, 0x10000, RW));
	assert_int_equal(f->s.truncated, 1);
	CHECK_ENTRIES(f, ENTRY(0x10000, 0x10000, 2 * 4096, RW));
	/* The walk gets through again: the two-page run holds and stays; the other three
	 * come back as a run of their own, not merged into it. */
	f->replay_cut = 0;
	assert_int_equal(sync(f, ALL), 0);
	CHECK_LOG(f, MAP(0x12000, 3 * 4096, 0x12000, RW));
	CHECK_ENTRIES(f, ENTRY(0x10000, 0x10000, 2 * 4096, RW),
		      ENTRY(0x12000, 0x12000, 3 * 4096, RW));
	check_covers_space(f);
}

/* A map the backend refuses: reported, not tracked, and tried again by the next sync. */
static void test_map_failure(void **state)
{
	struct fx *f = *state;

	some_mappings(f);
	f->fail_map = 0x2000;
	assert_int_equal(sync(f, ALL), -EIO);
	assert_int_equal(calls(f, 'm'), 5);		/* the others still mapped */
	assert_int_equal(f->s.errors, 1);
	assert_int_equal(f->s.maps, 4);
	check_backend(f);
	assert_int_equal(f->s.n, 4);
	for (size_t i = 0; i < f->s.n; i++)
		assert_int_not_equal(f->s.e[i].iova, 0x2000);

	f->fail_map = ~0ULL;
	assert_int_equal(sync(f, ALL), 0);
	assert_int_equal(f->nlog, 1);
	assert_int_equal(f->log[0].op, 'm');
	assert_int_equal(f->log[0].iova, 0x2000);
	check_mirrors_space(f);

	/* A run refused: refused whole, in its one call; nothing of it tracked; back whole. */
	pages(f, 0x10000, 0x10000, 4, RW);
	f->fail_map = 0x10000;
	assert_int_equal(sync(f, ALL), -EIO);
	CHECK_LOG(f, MAP(0x10000, 4 * 4096, 0x10000, RW));
	assert_int_equal(f->s.errors, 2);
	check_backend(f);
	assert_int_equal(f->s.n, 5);
	f->fail_map = ~0ULL;
	assert_int_equal(sync(f, ALL), 0);
	CHECK_LOG(f, MAP(0x10000, 4 * 4096, 0x10000, RW));
	assert_int_equal(f->s.n, 6);
	check_covers_space(f);
}

/* An unmap the backend refuses: the entry stays tracked (it is still mapped), retried later. */
static void test_unmap_failure(void **state)
{
	struct fx *f = *state;

	some_mappings(f);
	assert_int_equal(sync(f, ALL), 0);
	space_del(f, 0x2000);
	f->fail_unmap = 0x2000;
	assert_int_equal(sync(f, ALL), -EIO);
	assert_int_equal(f->s.errors, 1);
	check_backend(f);
	assert_int_equal(f->s.n, 5);
	assert_int_equal(f->s.e[1].iova, 0x2000);

	/* Changed while its unmap fails: the old one stays, the new one is refused (-EEXIST),
	 * the first error (the unmap's) is what the sync returns. */
	space_add(f, 0x2000, 0x7000, 4096, RW);
	assert_int_equal(sync(f, ALL), -EIO);
	check_backend(f);
	assert_int_equal(f->s.e[1].gpa, 0x3000);
	assert_int_equal(f->s.e[1].perm, DMA_READ);

	f->fail_unmap = ~0ULL;
	assert_int_equal(sync(f, ALL), 0);
	assert_int_equal(f->nlog, 2);
	assert_int_equal(f->log[0].op, 'u');
	assert_int_equal(f->log[1].op, 'm');
	check_mirrors_space(f);
}

/*
 * 256 4 KiB leaves that go on in IOVA and guest memory, one permission:
 * one 1 MiB map, one entry.
 */
static void test_run_one_map(void **state)
{
	struct fx *f = *state;

	pages(f, 0x100000, 0x200000, 256, RW);
	assert_int_equal(sync(f, ALL), 0);
	CHECK_LOG(f, MAP(0x100000, 1 * MiB, 0x200000, RW));
	assert_ptr_equal(f->log[0].hva, f->ram + 0x200000);
	CHECK_ENTRIES(f, ENTRY(0x100000, 0x200000, 1 * MiB, RW));
	check_covers_space(f);
	assert_int_equal(f->s.maps, 1);
	assert_int_equal(f->s.unmaps, 0);
}

/* The same 256 leaves with a gap in guest memory after the first 128: two runs. */
static void test_run_gpa_gap(void **state)
{
	struct fx *f = *state;

	pages(f, 0x100000, 0x200000, 128, RW);
	pages(f, 0x180000, 0x281000, 128, RW);	/* IOVA goes on, guest memory skips a page */
	assert_int_equal(sync(f, ALL), 0);
	CHECK_LOG(f, MAP(0x100000, 0x80000, 0x200000, RW), MAP(0x180000, 0x80000, 0x281000, RW));
	CHECK_ENTRIES(f, ENTRY(0x100000, 0x200000, 0x80000, RW),
		      ENTRY(0x180000, 0x281000, 0x80000, RW));
	check_covers_space(f);
}

/* The same 256 leaves, read-only after the first 128: two runs. */
static void test_run_perm_change(void **state)
{
	struct fx *f = *state;

	pages(f, 0x100000, 0x200000, 128, RW);
	pages(f, 0x180000, 0x280000, 128, DMA_READ);
	assert_int_equal(sync(f, ALL), 0);
	CHECK_LOG(f, MAP(0x100000, 0x80000, 0x200000, RW),
		  MAP(0x180000, 0x80000, 0x280000, DMA_READ));
	CHECK_ENTRIES(f, ENTRY(0x100000, 0x200000, 0x80000, RW),
		      ENTRY(0x180000, 0x280000, 0x80000, DMA_READ));
	check_covers_space(f);
}

/* Guest memory goes on, IOVA skips a page after the first 128: two runs. */
static void test_run_iova_gap(void **state)
{
	struct fx *f = *state;

	pages(f, 0x100000, 0x200000, 128, RW);
	pages(f, 0x181000, 0x280000, 128, RW);
	assert_int_equal(sync(f, ALL), 0);
	CHECK_LOG(f, MAP(0x100000, 0x80000, 0x200000, RW), MAP(0x181000, 0x80000, 0x280000, RW));
	CHECK_ENTRIES(f, ENTRY(0x100000, 0x200000, 0x80000, RW),
		      ENTRY(0x181000, 0x280000, 0x80000, RW));
	check_covers_space(f);
}

/*
 * Leaves that go on in IOVA and guest address across the end of one RAM
 * region into the next, which is elsewhere in host memory: one run per
 * region, each onto its own region's memory.
 */
static void test_run_region_edge(void **state)
{
	struct fx *f = *state;

	add_next_region(f);
	/* The last 4 pages of high RAM, then the first 4 of the next region. */
	pages(f, 0x500000, NEXT_GPA - 4 * 4096, 8, RW);
	assert_int_equal(sync(f, ALL), 0);
	CHECK_LOG(f, MAP(0x500000, 4 * 4096, NEXT_GPA - 4 * 4096, RW),
		  MAP(0x504000, 4 * 4096, NEXT_GPA, RW));
	assert_ptr_equal(f->log[0].hva, f->ram + LOW_SIZE + HIGH_SIZE - 4 * 4096);
	assert_ptr_equal(f->log[1].hva, f->ram + NEXT_OFF);
	CHECK_ENTRIES(f, ENTRY(0x500000, NEXT_GPA - 4 * 4096, 4 * 4096, RW),
		      ENTRY(0x504000, NEXT_GPA, 4 * 4096, RW));
	check_covers_space(f);
	/* Nothing changed: both stay. */
	assert_int_equal(sync(f, ALL), 0);
	assert_int_equal(f->nlog, 0);
	check_covers_space(f);
}

/* A run with nothing changed under it: no call, whatever part of it a sync covers. */
static void test_run_kept(void **state)
{
	struct fx *f = *state;

	pages(f, 0x100000, 0x200000, 256, RW);
	assert_int_equal(sync(f, ALL), 0);
	CHECK_LOG(f, MAP(0x100000, 1 * MiB, 0x200000, RW));

	assert_int_equal(sync(f, ALL), 0);
	assert_int_equal(f->nlog, 0);
	assert_int_equal(sync(f, 0x180000, 0x180FFF), 0);	/* one page inside */
	assert_int_equal(f->nlog, 0);
	assert_int_equal(sync(f, 0x1FFFFF, 0x1FFFFF), 0);	/* its last byte */
	assert_int_equal(f->nlog, 0);
	assert_int_equal(sync(f, 0, 0x100000), 0);		/* across its start */
	assert_int_equal(f->nlog, 0);
	CHECK_ENTRIES(f, ENTRY(0x100000, 0x200000, 1 * MiB, RW));
	check_covers_space(f);
	assert_int_equal(f->s.maps, 1);
	assert_int_equal(f->s.unmaps, 0);
}

/*
 * A page gone from the middle of a run, synced over just that page: the
 * whole run is unmapped, the parts either side come back as two runs, the
 * page is mapped by nothing. The same at a run's first and last page.
 */
static void test_run_remove_middle(void **state)
{
	struct fx *f = *state;

	pages(f, 0x100000, 0x200000, 256, RW);
	assert_int_equal(sync(f, ALL), 0);
	CHECK_LOG(f, MAP(0x100000, 1 * MiB, 0x200000, RW));

	space_del(f, 0x164000);	/* page 100 */
	assert_int_equal(sync(f, 0x164000, 0x164FFF), 0);
	CHECK_LOG(f, UNMAP(0x100000, 1 * MiB), MAP(0x100000, 100 * 4096, 0x200000, RW),
		  MAP(0x165000, 155 * 4096, 0x265000, RW));
	CHECK_ENTRIES(f, ENTRY(0x100000, 0x200000, 100 * 4096, RW),
		      ENTRY(0x165000, 0x265000, 155 * 4096, RW));
	check_covers_space(f);
	for (size_t i = 0; i < f->nb; i++)
		assert_false(f->b[i].iova <= 0x164000 && 0x164000 - f->b[i].iova < f->b[i].len);
	/* Then both stay. */
	assert_int_equal(sync(f, ALL), 0);
	assert_int_equal(f->nlog, 0);

	/* The first page of the first run, synced over that page: that run goes, the rest
	 * of it comes back; the second run stays. */
	space_del(f, 0x100000);
	assert_int_equal(sync(f, 0x100000, 0x100FFF), 0);
	CHECK_LOG(f, UNMAP(0x100000, 100 * 4096), MAP(0x101000, 99 * 4096, 0x201000, RW));
	CHECK_ENTRIES(f, ENTRY(0x101000, 0x201000, 99 * 4096, RW),
		      ENTRY(0x165000, 0x265000, 155 * 4096, RW));
	check_covers_space(f);
	/* The last page of the second run. */
	space_del(f, 0x1FF000);
	assert_int_equal(sync(f, 0x1FF000, 0x1FFFFF), 0);
	CHECK_LOG(f, UNMAP(0x165000, 155 * 4096), MAP(0x165000, 154 * 4096, 0x265000, RW));
	CHECK_ENTRIES(f, ENTRY(0x101000, 0x201000, 99 * 4096, RW),
		      ENTRY(0x165000, 0x265000, 154 * 4096, RW));
	check_covers_space(f);
	/* Page 100 back: an entry of its own, between the two runs it goes on from. */
	space_add(f, 0x164000, 0x264000, 4096, RW);
	assert_int_equal(sync(f, 0x164000, 0x164FFF), 0);
	CHECK_LOG(f, MAP(0x164000, 4096, 0x264000, RW));
	CHECK_ENTRIES(f, ENTRY(0x101000, 0x201000, 99 * 4096, RW),
		      ENTRY(0x164000, 0x264000, 4096, RW),
		      ENTRY(0x165000, 0x265000, 154 * 4096, RW));
	check_covers_space(f);
}

/*
 * A run mapped in one sync, and a leaf that goes on from it (in IOVA, guest
 * memory and permission) added in a later one: the run is kept untouched,
 * the leaf is an entry of its own. New leaves in one sync still merge with
 * each other, but not into a kept entry next to them.
 */
static void test_run_adjacent_later(void **state)
{
	struct fx *f = *state;

	pages(f, 0x100000, 0x200000, 256, RW);
	assert_int_equal(sync(f, ALL), 0);
	CHECK_LOG(f, MAP(0x100000, 1 * MiB, 0x200000, RW));

	space_add(f, 0x200000, 0x300000, 4096, RW);	/* right after the run */
	assert_int_equal(sync(f, ALL), 0);
	CHECK_LOG(f, MAP(0x200000, 4096, 0x300000, RW));
	CHECK_ENTRIES(f, ENTRY(0x100000, 0x200000, 1 * MiB, RW),
		      ENTRY(0x200000, 0x300000, 4096, RW));
	check_covers_space(f);

	/* Right before it, synced over that page and the run's first byte. */
	space_add(f, 0xFF000, 0x1FF000, 4096, RW);
	assert_int_equal(sync(f, 0xFF000, 0x100000), 0);
	CHECK_LOG(f, MAP(0xFF000, 4096, 0x1FF000, RW));
	CHECK_ENTRIES(f, ENTRY(0xFF000, 0x1FF000, 4096, RW),
		      ENTRY(0x100000, 0x200000, 1 * MiB, RW),
		      ENTRY(0x200000, 0x300000, 4096, RW));
	check_covers_space(f);

	/* Two more after the page after: one run of two, not merged into that kept page. */
	pages(f, 0x201000, 0x301000, 2, RW);
	assert_int_equal(sync(f, ALL), 0);
	CHECK_LOG(f, MAP(0x201000, 2 * 4096, 0x301000, RW));
	CHECK_ENTRIES(f, ENTRY(0xFF000, 0x1FF000, 4096, RW),
		      ENTRY(0x100000, 0x200000, 1 * MiB, RW),
		      ENTRY(0x200000, 0x300000, 4096, RW),
		      ENTRY(0x201000, 0x301000, 2 * 4096, RW));
	check_covers_space(f);

	/* Nothing changed: all four stay. */
	assert_int_equal(sync(f, ALL), 0);
	assert_int_equal(f->nlog, 0);
	assert_int_equal(f->s.maps, 4);
	assert_int_equal(f->s.unmaps, 0);
}

/* Identity (no IOMMU, or pass-through): each RAM region at its own address, read/write. */
static void test_identity(void **state)
{
	struct fx *f = *state;

	f->as.ops = NULL;
	assert_int_equal(sync(f, ALL), 0);
	assert_int_equal(f->nlog, 2);
	check_backend(f);
	assert_int_equal(f->s.n, 2);
	assert_int_equal(f->b[0].iova, 0);
	assert_int_equal(f->b[0].len, LOW_SIZE);
	assert_ptr_equal(f->b[0].hva, f->ram);
	assert_int_equal(f->b[0].perm, RW);
	assert_int_equal(f->b[1].iova, HIGH_GPA);
	assert_int_equal(f->b[1].len, HIGH_SIZE);
	assert_ptr_equal(f->b[1].hva, f->ram + LOW_SIZE);
	assert_int_equal(f->b[1].perm, RW);
	assert_int_equal(sync(f, HIGH_GPA, HIGH_GPA), 0);
	assert_int_equal(f->nlog, 0);

	/* Translation turned on: the space now maps one page; the regions go, the page comes. */
	f->as.ops = &space_ops;
	space_add(f, 0x1000, 0x1000, 4096, RW);
	assert_int_equal(sync(f, ALL), 0);
	assert_int_equal(calls(f, 'u'), 2);
	assert_int_equal(calls(f, 'm'), 1);
	check_mirrors_space(f);
}

/* A space without replay cannot be shadowed: the error, and nothing touched. */
static void test_no_replay(void **state)
{
	struct fx *f = *state;
	static const struct dma_as_ops lookup_only = { .lookup = space_lookup };

	f->as.ops = &lookup_only;
	assert_int_equal(sync(f, ALL), -ENOTSUP);
	assert_int_equal(f->nlog, 0);
	assert_int_equal(f->s.n, 0);
}

/* shadow_init hooks the space: dma_as_notify syncs what it names. shadow_destroy unhooks. */
static void test_listener(void **state)
{
	struct fx *f = *state;
	uint32_t gen = dma_as_gen(&f->as);

	assert_ptr_equal(f->as.listener, &f->s.listener);
	some_mappings(f);
	f->nlog = 0;
	dma_as_notify(&f->as, 0x2000, 0x2FFF);
	assert_int_not_equal(dma_as_gen(&f->as), gen);
	assert_int_equal(f->nlog, 1);
	assert_int_equal(f->log[0].iova, 0x2000);
	check_backend(f);
	assert_int_equal(f->s.n, 1);
	f->nlog = 0;
	dma_as_notify(&f->as, ALL);
	assert_int_equal(f->nlog, 4);
	check_mirrors_space(f);

	/* Destroyed: unhooked, and the backend keeps what it has (it goes with the shadow). */
	shadow_destroy(&f->s);
	assert_null(f->as.listener);
	assert_int_equal(f->nb, 5);
	space_del(f, 0x1000);
	f->nlog = 0;
	dma_as_notify(&f->as, ALL);
	assert_int_equal(f->nlog, 0);
	/* Someone else's listener is not unhooked by a shadow that no longer has the space. */
	struct dma_listener other = { 0 };

	f->as.listener = &other;
	shadow_destroy(&f->s);
	assert_ptr_equal(f->as.listener, &other);
	f->as.listener = NULL;
}

/*
 * A staircase: runs that straddle 2 MiB boundaries, replaced by 2 MiB leaves
 * with only IOVA 0 invalidated. Each widening round meets the next run, so
 * the range grows step by step; after a few rounds it takes the whole space
 * and the backend ends up equal to the space, with no truncation.
 */
static void test_staircase(void **state)
{
	struct fx *f = *state;

	/* Ten two-page runs, each across a 2 MiB boundary (gpa aliased: each is its own run). */
	for (uint64_t i = 0; i < 10; i++)
		pages(f, 2 * MiB * (i + 1) - 4096, 0x10000, 2, RW);
	assert_int_equal(sync(f, ALL), 0);
	assert_int_equal(f->s.n, 10);
	f->nm = 0;
	for (uint64_t i = 0; i < 11; i++)
		space_add(f, 2 * MiB * i, 0, 2 * MiB, RW);
	assert_int_equal(sync(f, 0, 0), 0);
	assert_int_equal(f->s.truncated, 0);
	assert_int_equal(f->s.errors, 0);
	check_backend(f);
	check_covers_space(f);
}

/*
 * A run whose unmap fails stays (stuck), and the new leaves under it are
 * left out, so that new leaves beside it are mapped on their own instead of
 * merging with those and being refused whole. Once the unmap works, the
 * stuck run goes and what remains of it comes back.
 */
static void test_unmap_stuck_run(void **state)
{
	struct fx *f = *state;

	pages(f, 0x100000, 0x200000, 256, RW);
	assert_int_equal(sync(f, ALL), 0);
	CHECK_LOG(f, MAP(0x100000, 1 * MiB, 0x200000, RW));

	space_del(f, 0x164000);			/* page 100 goes */
	pages(f, 0x200000, 0x300000, 2, RW);	/* two new pages right after the run, in both spaces */
	f->fail_unmap = 0x100000;
	assert_int_equal(sync(f, ALL), -EIO);
	CHECK_LOG(f, UNMAP(0x100000, 1 * MiB), MAP(0x200000, 2 * 4096, 0x300000, RW));
	CHECK_ENTRIES(f, ENTRY(0x100000, 0x200000, 1 * MiB, RW),
		      ENTRY(0x200000, 0x300000, 2 * 4096, RW));
	check_backend(f);

	f->fail_unmap = ~0ULL;
	assert_int_equal(sync(f, ALL), 0);
	CHECK_LOG(f, UNMAP(0x100000, 1 * MiB), MAP(0x100000, 100 * 4096, 0x200000, RW),
		  MAP(0x165000, 155 * 4096, 0x265000, RW));
	check_backend(f);
	check_covers_space(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmap_stuck_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_staircase, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_and_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_and_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmap_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_one_map, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_gpa_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_perm_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_iova_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_region_edge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_remove_middle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_adjacent_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listener, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
