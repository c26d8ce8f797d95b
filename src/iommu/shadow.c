// SPDX-License-Identifier: Apache-2.0
/*
 * Shadow mappings (shadow.h): a DMA space mirrored into a host IOMMU
 * domain. Each sync replays the space over the changed range, compares
 * with the entries the backend holds there, unmaps what went stale and maps
 * what is new. Pure over the space and the backend's two calls, so unit
 * tests drive it with a recording backend.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "iommu/shadow.h"

/* What one replay saw: the space's mappings in the range, in IOVA order. */
struct seen {
	const struct guest_mem *mem;
	struct shadow_entry *d;
	size_t n, cap, max;
	uint64_t not_ram;	/* mappings onto something that is not RAM: not shadowed */
};

static int grow(struct shadow_entry **a, size_t *cap, size_t need)
{
	size_t ncap = *cap ? *cap : 16;
	struct shadow_entry *p;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*a, ncap * sizeof(**a));
	if (!p)
		return -ENOMEM;
	*a = p;
	*cap = ncap;
	return 0;
}

static int seen_one(void *opaque, uint64_t iova, uint64_t gpa, uint64_t len, unsigned int perm)
{
	struct seen *sn = opaque;

	/* Peer-to-peer (a BAR, the IOAPIC) is not mirrored: the device's DMA there faults. */
	if (!guest_ptr(sn->mem, gpa, len)) {
		sn->not_ram++;
		return 0;
	}
	if (sn->n == sn->max)
		return -E2BIG;
	if (grow(&sn->d, &sn->cap, sn->n + 1))
		return -ENOMEM;
	sn->d[sn->n++] = (struct shadow_entry){ .iova = iova, .gpa = gpa, .len = len, .perm = perm };
	return 0;
}

static uint64_t last(const struct shadow_entry *e)
{
	return e->iova + e->len - 1;
}

/*
 * Does the entry @e still hold, leaf by leaf, in @d[k..n)? Leaves that go on
 * from its start in IOVA and guest address alike, with its permission, up
 * to exactly its end. *@end: one past the last leaf looked at.
 */
static bool entry_holds(const struct shadow_entry *e, const struct shadow_entry *d, size_t n,
			size_t k, size_t *end)
{
	uint64_t iova = e->iova, gpa = e->gpa, stop = e->iova + e->len;

	while (k < n && iova < stop && d[k].iova == iova && d[k].gpa == gpa && d[k].perm == e->perm) {
		iova += d[k].len;
		gpa += d[k].len;
		k++;
	}
	*end = k;
	return iova == stop;
}

/* The first entry that ends at or after @iova (entries are sorted and apart, so ends are too). */
static size_t first_ending_from(const struct shadow *s, uint64_t iova)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (last(&s->e[mid]) < iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int by_iova(const void *a, const void *b)
{
	const struct shadow_entry *x = a, *y = b;

	return x->iova < y->iova ? -1 : x->iova > y->iova;
}

static void note(struct shadow *s, const char *what, const struct shadow_entry *e, int err)
{
	s->errors++;
	if (ratelimit_ok(&s->rl, 5))
		pr_warn("%s: shadow %s of IOVA 0x%" PRIx64 "+0x%" PRIx64 " (guest 0x%" PRIx64
			") failed: %s", s->name, what, e->iova, e->len, e->gpa, strerror(-err));
}

static void listener_changed(struct dma_listener *l, uint64_t lo, uint64_t hi)
{
	shadow_sync(container_of(l, struct shadow, listener), lo, hi);
}

void shadow_init(struct shadow *s, struct dma_as *src, const struct shadow_ops *ops, void *opaque,
		 const char *name, size_t max)
{
	memset(s, 0, sizeof(*s));
	s->listener.changed = listener_changed;
	s->src = src;
	s->ops = ops;
	s->opaque = opaque;
	s->name = name;
	s->max = max;
	src->listener = &s->listener;
}

void shadow_destroy(struct shadow *s)
{
	if (s->src && s->src->listener == &s->listener)
		s->src->listener = NULL;
	s->src = NULL;
	free(s->e);
	s->e = NULL;
	s->n = s->cap = 0;
}

/*
 * Replay [*lo, *hi] into @sn, growing the range until it covers every
 * mapping on either side that overlaps it: the new leaves the space
 * reports, and the old entries the shadow holds (a 2 MiB entry that a page
 * invalidation inside it replaces with 4 KiB pages is redone whole, all of
 * its pages looked up again). Sets [*i0, *i1): the entries in the range.
 */
static int replay_whole(struct shadow *s, struct seen *sn, uint64_t *lo, uint64_t *hi,
			size_t *i0, size_t *i1)
{
	uint64_t L = *lo, H = *hi;
	int ret;

	/*
	 * Each round widens the range to whole entries and leaves. Runs are
	 * not aligned, so a guest that changed what it did not invalidate can
	 * make that a staircase: after a few rounds the whole space is taken,
	 * which covers everything in one more.
	 */
	for (unsigned int round = 0;; round++) {
		if (round == 4) {
			L = 0;
			H = ~0ULL;
		}
		sn->n = 0;
		ret = dma_replay(s->src, L, H, seen_one, sn);
		if (ret && ret != -E2BIG)
			return ret;
		if (sn->n) {
			L = MIN(L, sn->d[0].iova);
			H = MAX(H, last(&sn->d[sn->n - 1]));
		}
		*i0 = first_ending_from(s, L);
		for (*i1 = *i0; *i1 < s->n && s->e[*i1].iova <= H; (*i1)++)
			;
		if (*i0 == *i1 || (s->e[*i0].iova >= L && last(&s->e[*i1 - 1]) <= H)) {
			*lo = L;
			*hi = H;
			return ret;
		}
		L = MIN(L, s->e[*i0].iova);
		H = MAX(H, last(&s->e[*i1 - 1]));
	}
}

int shadow_sync(struct shadow *s, uint64_t lo, uint64_t hi)
{
	struct seen sn = { .mem = s->src->mem, .max = s->max };
	struct shadow_entry *mid = NULL;
	size_t i0, i1, nmid = 0, capmid = 0, k = 0;
	bool *keep = NULL;	/* leaves not to map: part of a kept entry, or under a stuck one */
	int ret, first_err;

	ret = replay_whole(s, &sn, &lo, &hi, &i0, &i1);
	if (ret && ret != -E2BIG) {
		free(sn.d);
		return ret;
	}
	first_err = ret;
	if (ret) {
		/* Fail closed: what was seen is mirrored, the rest of the range is left unmapped. */
		s->truncated++;
		if (ratelimit_ok(&s->rl, 5))
			pr_warn("%s: the guest's IOMMU tables for IOVA 0x%" PRIx64 "-0x%" PRIx64
				" are too large to shadow (%zu mappings seen); the rest stays unmapped",
				s->name, lo, hi, sn.n);
	}
	keep = calloc(sn.n ? sn.n : 1, sizeof(*keep));
	if (!keep || grow(&mid, &capmid, (i1 - i0) + sn.n + 1) ||
	    grow(&s->e, &s->cap, s->n + sn.n + 1)) {
		free(keep);
		free(mid);
		free(sn.d);
		return -ENOMEM;
	}

	/* Unmap first: what is stale, so that nothing new overlaps it. */
	for (size_t i = i0; i < i1; i++) {
		const struct shadow_entry *e = &s->e[i];
		size_t end;

		while (k < sn.n && sn.d[k].iova < e->iova)
			k++;
		if (entry_holds(e, sn.d, sn.n, k, &end)) {
			for (size_t j = k; j < end; j++)
				keep[j] = true;
			mid[nmid++] = *e;
			continue;
		}
		ret = s->ops->unmap(s->opaque, e->iova, e->len);
		if (ret) {
			note(s, "unmap", e, ret);
			first_err = first_err ? first_err : ret;
			mid[nmid++] = *e;	/* still mapped: kept, retried on the next sync */
			/*
			 * New leaves under it cannot be mapped until it goes: left
			 * out, so that a run of new leaves beside it is not refused
			 * whole for overlapping it.
			 */
			for (size_t j = k ? k - 1 : 0; j < sn.n && sn.d[j].iova <= last(e); j++)
				if (last(&sn.d[j]) >= e->iova)
					keep[j] = true;
			continue;
		}
		s->unmaps++;
	}
	/*
	 * Then the new leaves, each run of them that goes on in IOVA and in
	 * host memory alike with one permission as one entry: a 1 MiB buffer
	 * is one VFIO mapping, not 256. The guest maps and unmaps a buffer
	 * whole, so a run usually goes as it came; when only part of one
	 * goes, the sync's range has grown to the whole run (replay_whole),
	 * which is unmapped and what remains of it mapped again.
	 */
	for (size_t j = 0, next; j < sn.n; j = next) {
		struct shadow_entry run = sn.d[j];

		next = j + 1;
		if (keep[j])
			continue;
		for (; next < sn.n && !keep[next] && sn.d[next].perm == run.perm &&
		       sn.d[next].iova == run.iova + run.len && sn.d[next].gpa == run.gpa + run.len &&
		       guest_ptr(sn.mem, run.gpa, run.len + sn.d[next].len); next++)
			run.len += sn.d[next].len;
		ret = s->ops->map(s->opaque, run.iova, guest_ptr(sn.mem, run.gpa, run.len), run.len,
				  run.perm);
		if (ret) {
			note(s, "map", &run, ret);
			first_err = first_err ? first_err : ret;
			continue;
		}
		s->maps++;
		mid[nmid++] = run;
	}
	qsort(mid, nmid, sizeof(*mid), by_iova);

	/* The entries become e[0, i0) + mid + e[i1, n): nmid <= (i1 - i0) + sn.n, room made above. */
	memmove(&s->e[i0 + nmid], &s->e[i1], (s->n - i1) * sizeof(*s->e));
	memcpy(&s->e[i0], mid, nmid * sizeof(*mid));
	s->n = s->n - (i1 - i0) + nmid;

	free(keep);
	free(mid);
	free(sn.d);
	return first_err;
}
