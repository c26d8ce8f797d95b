// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: a VFIO_DEVICE_GET_REGION_INFO answer's capability chain
 * (src/vfio/regions.c) from a hostile or broken kernel, device or mdev
 * driver. The input is the answer: struct vfio_region_info (argsz, flags,
 * index, cap_offset, size, offset), then whatever the capabilities are.
 *
 *  1. vfio_region_caps_parse over the input, copied into an exactly-sized
 *     heap block (a read one byte past it lands in an ASan redzone).
 *     Checked: it returns 0 or -EINVAL; at most VFIO_MAX_AREAS areas, none
 *     of size 0, none mapped; no areas without sparse, no type without
 *     has_type; nothing at all without the CAPS flag (then 0) or with less
 *     than the fixed part (then -EINVAL); the input is not written; the
 *     same input gives the same result; and the result is what an
 *     independent walk of the chain (ref_parse, by vfio.h's rules: each
 *     capability past the fixed part, 4-byte aligned, inside the buffer,
 *     after the last, at most 64 of them) finds, errors and what came
 *     before them included.
 *  2. vfio_region_info with vd->get_region_info answering with the input
 *     (as much as the buffer holds, argsz the input's): it asks again only
 *     with a larger buffer, a bounded number of times, and returns 0 or
 *     -E2BIG; a region it returns has the answer's size, offset and flags.
 *
 * A violation aborts, and libFuzzer saves the input. Seeds in
 * tests/fuzz/corpus/region_caps. Built and run by tests/fuzz/fuzz.mk
 * (`make fuzz-region-caps`).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_alloc.h"
#include "util.h"
#include "vfio/vfio.h"

#define FAIL(...)								\
	do {									\
		fprintf(stderr, "fuzz_region_caps: " __VA_ARGS__);		\
		fputc('\n', stderr);						\
		abort();							\
	} while (0)

#define INFO_SZ		sizeof(struct vfio_region_info)
#define HDR_SZ		sizeof(struct vfio_info_cap_header)
#define SPARSE_SZ	sizeof(struct vfio_region_info_cap_sparse_mmap)
#define AREA_SZ		sizeof(struct vfio_region_sparse_mmap_area)
#define TYPE_SZ		sizeof(struct vfio_region_info_cap_type)
#define HOPS_MAX	64	/* regions.c's CAP_HOPS_MAX */
#define CALLS_MAX	8	/* more GET_REGION_INFO calls for one region than this: a loop */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup(false);
	return 0;
}

static uint64_t rd(const uint8_t *b, size_t off, unsigned int len)
{
	return le_read(b + off, len);
}

/* The chain as vfio.h describes it, read byte by byte: the oracle for vfio_region_caps_parse. */
static int ref_parse(const uint8_t *b, size_t len, struct vfio_region_caps *out)
{
	memset(out, 0, sizeof(*out));
	if (len < INFO_SZ)
		return -EINVAL;
	if (!(rd(b, offsetof(struct vfio_region_info, flags), 4) & VFIO_REGION_INFO_FLAG_CAPS))
		return 0;
	uint64_t off = rd(b, offsetof(struct vfio_region_info, cap_offset), 4);

	for (unsigned int hops = 0; off; hops++) {
		if (hops == HOPS_MAX || off < INFO_SZ || off % 4 || off + HDR_SZ > len)
			return -EINVAL;
		unsigned int id = (unsigned int)rd(b, off, 2);
		uint64_t next = rd(b, off + 4, 4);

		if (id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
			if (off + SPARSE_SZ > len)
				return -EINVAL;
			uint64_t n = rd(b, off + 8, 4);

			if (off + SPARSE_SZ + n * AREA_SZ > len)
				return -EINVAL;
			out->sparse = true;
			for (uint64_t i = 0; i < n && out->nareas < VFIO_MAX_AREAS; i++) {
				uint64_t a = off + SPARSE_SZ + i * AREA_SZ;
				uint64_t asz = rd(b, a + 8, 8);

				if (asz)
					out->area[out->nareas++] = (struct vfio_area){
						.off = rd(b, a, 8), .size = asz, .slot = -1 };
			}
		} else if (id == VFIO_REGION_INFO_CAP_TYPE) {
			if (off + TYPE_SZ > len)
				return -EINVAL;
			out->has_type = true;
			out->type = (uint32_t)rd(b, off + 8, 4);
			out->subtype = (uint32_t)rd(b, off + 12, 4);
		} else if (id == VFIO_REGION_INFO_CAP_MSIX_MAPPABLE) {
			out->msix_mappable = true;
		}
		if (next && next <= off)
			return -EINVAL;
		off = next;
	}
	return 0;
}

static void check_caps(const struct vfio_region_caps *k, const char *what)
{
	if (k->nareas > VFIO_MAX_AREAS)
		FAIL("%s: %u areas", what, k->nareas);
	if (!k->sparse && k->nareas)
		FAIL("%s: %u areas without a sparse capability", what, k->nareas);
	if (!k->has_type && (k->type || k->subtype))
		FAIL("%s: type 0x%x/0x%x without has_type", what, k->type, k->subtype);
	for (unsigned int i = 0; i < k->nareas; i++) {
		const struct vfio_area *a = &k->area[i];

		if (!a->size)
			FAIL("%s: area %u of size 0", what, i);
		if (a->hva || a->slot != -1 || a->p2p || a->p2p_iova)
			FAIL("%s: area %u comes mapped", what, i);
	}
}

static bool caps_equal(const struct vfio_region_caps *a, const struct vfio_region_caps *b)
{
	if (a->sparse != b->sparse || a->nareas != b->nareas || a->has_type != b->has_type ||
	    a->type != b->type || a->subtype != b->subtype || a->msix_mappable != b->msix_mappable)
		return false;
	for (unsigned int i = 0; i < a->nareas && i < VFIO_MAX_AREAS; i++)
		if (a->area[i].off != b->area[i].off || a->area[i].size != b->area[i].size)
			return false;
	return true;
}

static bool caps_zero(const struct vfio_region_caps *k)
{
	static const struct vfio_region_caps zero = { 0 };

	return caps_equal(k, &zero);
}

static void fuzz_parse(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	struct vfio_region_caps k, again, want;
	int ret, ref;

	if (!buf)
		abort();
	memcpy(buf, data, size);
	memset(&k, 0xa5, sizeof(k));
	ret = vfio_region_caps_parse(buf, size, &k);
	if (ret != 0 && ret != -EINVAL)
		FAIL("parse returned %d", ret);
	check_caps(&k, "parse");
	if (memcmp(buf, data, size))
		FAIL("parse wrote its input");
	if (size < INFO_SZ && (ret != -EINVAL || !caps_zero(&k)))
		FAIL("%zu bytes, less than the fixed part: %d", size, ret);
	if (size >= INFO_SZ && !(rd(buf, 4, 4) & VFIO_REGION_INFO_FLAG_CAPS) &&
	    (ret || !caps_zero(&k)))
		FAIL("no CAPS flag, yet %d and capabilities found", ret);
	memset(&again, 0x5a, sizeof(again));
	if (vfio_region_caps_parse(buf, size, &again) != ret || !caps_equal(&k, &again))
		FAIL("the same input parsed twice differs");
	ref = ref_parse(buf, size, &want);
	if (ref != ret || !caps_equal(&k, &want))
		FAIL("parse %d (sparse %d, %u areas, type %d 0x%x/0x%x, msix %d) but the chain "
		     "says %d (sparse %d, %u areas, type %d 0x%x/0x%x, msix %d)", ret, k.sparse,
		     k.nareas, k.has_type, k.type, k.subtype, k.msix_mappable, ref, want.sparse,
		     want.nareas, want.has_type, want.type, want.subtype, want.msix_mappable);
	free(buf);
}

/* ---- vfio_region_info, the input as the kernel's answer ---- */

static struct {
	const uint8_t *data;
	size_t size;
	unsigned int calls;
	uint32_t last_argsz;
} ans;

static int fk_region_info(struct vfio_device *vd, struct vfio_region_info *info)
{
	uint32_t argsz = info->argsz, index = info->index;

	if (++ans.calls > CALLS_MAX)
		FAIL("GET_REGION_INFO asked %u times for one region", ans.calls);
	if (argsz < INFO_SZ || (ans.calls > 1 && argsz <= ans.last_argsz))
		FAIL("GET_REGION_INFO call %u with argsz %u after %u", ans.calls, argsz,
		     ans.last_argsz);
	ans.last_argsz = argsz;
	/* The whole buffer is the kernel's to write: ASan sees one shorter than argsz. */
	memset((uint8_t *)info + INFO_SZ, 0, argsz - INFO_SZ);
	memcpy(info, ans.data, ans.size < argsz ? ans.size : argsz);
	info->index = index;
	if (ans.size < 4)
		info->argsz = argsz;
	return 0;
}

static void fuzz_info(const uint8_t *data, size_t size)
{
	static struct vfio_device vd;
	struct vfio_region r;
	struct vfio_region_caps k;
	int ret;

	vd.fd = -1;
	vd.get_region_info = fk_region_info;
	snprintf(vd.name, sizeof(vd.name), "vfio-fuzz");
	ans.data = data;
	ans.size = size;
	ans.calls = 0;
	ans.last_argsz = 0;
	ret = vfio_region_info(&vd, 9, &r, &k);
	if (ret != 0 && ret != -E2BIG)
		FAIL("vfio_region_info returned %d", ret);
	check_caps(&k, "region info");
	if (r.nareas)
		FAIL("region info: %u areas in the region itself", r.nareas);
	if (ret) {
		if (r.size || r.offset || r.flags || !caps_zero(&k))
			FAIL("region info: -E2BIG, yet a region");
		return;
	}
	/* The answer that fitted: its fixed part is the input's, where the input has one. */
	uint8_t fixed[INFO_SZ] = { 0 };

	memcpy(fixed, data, size < INFO_SZ ? size : INFO_SZ);
	if (r.flags != rd(fixed, 4, 4) || r.size != rd(fixed, 16, 8) || r.offset != rd(fixed, 24, 8))
		FAIL("region info: flags 0x%x size 0x%llx offset 0x%llx, not the answer's", r.flags,
		     (unsigned long long)r.size, (unsigned long long)r.offset);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_parse(data, size);
	fuzz_info(data, size);
	return 0;
}
