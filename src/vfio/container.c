// SPDX-License-Identifier: Apache-2.0
/*
 * The VFIO containers and groups. Without --iommu one container per VM
 * holds every assigned device's group, so one host IOMMU domain maps guest
 * RAM once (iova = guest physical address) for all of them.
 *
 * With --iommu each IOMMU group gets a container of its own (the guest may
 * put its devices in different domains, and a group cannot change
 * containers while its devices are open), and the container mirrors what
 * the guest's VT-d gives the group's first device: all of RAM while
 * translation is off or the context is pass-through, else exactly the
 * guest's page tables (iommu/shadow.c), updated on every invalidation
 * before it completes. See vfio.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "iommu/iommu.h"
#include "iommu/shadow.h"
#include "util.h"
#include "vfio/vfio.h"
#include "vm.h"

#define MAX_RESV	128

/*
 * Guest mappings one shadow sync looks at, at most: 4 GiB mapped page by
 * page, and a bound on what a hostile guest's tables cost per invalidation.
 */
#define SHADOW_MAX_LEAVES	(1u << 20)

struct vfio_container {
	int fd;
	int iommu_type;		/* VFIO_TYPE1v2_IOMMU or VFIO_TYPE1_IOMMU, once set */
	bool dma_mapped;
	struct {
		int num, fd;
	} group[VM_MAX_VFIO];
	unsigned int ngroups;
	struct shadow shadow;	/* --iommu: what the guest maps for the group's first device (src set) */
	struct vm *vm;
	struct vfio_container *next;	/* the VM's others */
};

int vfio_container_open(struct vm *vm, struct vfio_container **out)
{
	struct vfio_container *c;
	int fd, ret, version;

	fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (errno == ENOENT || errno == ENODEV)
			vfio_explain_no_vfio();
		else
			pr_err("cannot open /dev/vfio/vfio: %s", strerror(errno));
		return ret;
	}
	version = ioctl(fd, VFIO_GET_API_VERSION);
	if (version != VFIO_API_VERSION) {
		pr_err("/dev/vfio/vfio speaks VFIO API version %d; kvmio needs %d", version,
		       VFIO_API_VERSION);
		close(fd);
		return -ENOTSUP;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	c->vm = vm;
	/* v2 unmaps exactly what was mapped; plain type1 is fine for kvmio's use. */
	if (ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0) {
		c->iommu_type = VFIO_TYPE1v2_IOMMU;
	} else if (ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) > 0) {
		c->iommu_type = VFIO_TYPE1_IOMMU;
	} else {
		vfio_explain_no_iommu_model();
		vfio_container_close(c);
		return -ENOTSUP;
	}
	*out = c;
	return 0;
}

void vfio_container_close(struct vfio_container *c)
{
	if (!c)
		return;
	/* Closing the groups and container ends the domain and unpins guest RAM. */
	for (unsigned int i = 0; i < c->ngroups; i++)
		close(c->group[i].fd);
	close(c->fd);
	free(c);
}

/*
 * The IOMMU cannot translate some IOVA ranges for this group (the MSI
 * doorbell at 0xFEE00000 on x86, RMRRs): guest RAM there could not be a
 * DMA target. kvmio's RAM never covers the 32-bit hole, so this fails only
 * on unusual platforms, and says which range is in the way.
 */
static int check_reserved(struct vm *vm, int group)
{
	struct vfio_resv resv[MAX_RESV];
	int n = vfio_sysfs_resv("", group, resv, MAX_RESV);

	if (n == -ENOENT)
		return 0;	/* older kernels have no file: nothing to check against */
	if (n < 0) {
		pr_err("IOMMU group %d: reading reserved_regions: %s", group, strerror(-n));
		return n;
	}
	for (int i = 0; i < n; i++) {
		for (unsigned int j = 0; j < vm->mem.nr; j++) {
			const struct mem_region *r = &vm->mem.region[j];

			if (resv[i].start < r->gpa + r->size && r->gpa <= resv[i].end &&
			    strcmp(resv[i].type, "direct-relaxable")) {
				pr_err("IOMMU group %d reserves 0x%llx-0x%llx (%s), which is guest RAM "
				       "(0x%llx-0x%llx); the device could not DMA there: give the guest "
				       "less memory", group, (unsigned long long)resv[i].start,
				       (unsigned long long)resv[i].end, resv[i].type,
				       (unsigned long long)r->gpa,
				       (unsigned long long)(r->gpa + r->size - 1));
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* All of guest RAM, iova = guest physical address, read and write. */
static int map_ram(struct vfio_container *c, struct vm *vm)
{
	for (unsigned int i = 0; i < vm->mem.nr; i++) {
		const struct mem_region *r = &vm->mem.region[i];
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)r->hva,
			.iova = r->gpa,
			.size = r->size,
		};

		if (ioctl(c->fd, VFIO_IOMMU_MAP_DMA, &map) < 0) {
			int err = errno;

			if (err == ENOMEM)
				vfio_explain_memlock(vm->mem.ram_size);
			else
				pr_err("mapping guest RAM 0x%llx-0x%llx for DMA: %s",
				       (unsigned long long)r->gpa,
				       (unsigned long long)(r->gpa + r->size - 1), strerror(err));
			return -err;
		}
	}
	return 0;
}

int vfio_group_attach(struct vfio_container *c, struct vm *vm, const char *bdf, int group)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[32];
	int fd, ret;

	for (unsigned int i = 0; i < c->ngroups; i++)
		if (c->group[i].num == group)
			return 0;
	if (c->ngroups == VM_MAX_VFIO)
		return -ENOSPC;
	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (errno == EACCES || errno == EPERM)
			vfio_explain_access(bdf, group);
		else if (errno == EBUSY)
			vfio_explain_busy(bdf, group);
		else if (errno == ENOENT)
			vfio_explain_not_bound("", bdf, "");
		else
			pr_err("%s: cannot open %s: %s", bdf, path, strerror(errno));
		return ret;
	}
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st) < 0) {
		ret = -errno;
		pr_err("%s: VFIO_GROUP_GET_STATUS on %s: %s", bdf, path, strerror(errno));
		goto err;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		vfio_explain_not_viable("", bdf, group);
		ret = -EBUSY;
		goto err;
	}
	ret = check_reserved(vm, group);
	if (ret)
		goto err;
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &c->fd) < 0) {
		ret = -errno;
		pr_err("%s: adding IOMMU group %d to the container: %s", bdf, group, strerror(errno));
		goto err;
	}
	c->group[c->ngroups].num = group;
	c->group[c->ngroups].fd = fd;
	c->ngroups++;
	/* The IOMMU model is set once the container has a group, and RAM mapped once. */
	if (c->ngroups == 1 && ioctl(c->fd, VFIO_SET_IOMMU, c->iommu_type) < 0) {
		ret = -errno;
		pr_err("%s: VFIO_SET_IOMMU: %s", bdf, strerror(errno));
		return ret;	/* the group stays with the container; closed with it */
	}
	/* With --iommu the shadow maps what the guest's IOMMU gives (vfio_container_shadow). */
	if (!c->dma_mapped && !vm->cfg->iommu) {
		ret = map_ram(c, vm);
		if (ret)
			return ret;
		c->dma_mapped = true;
	}
	return 0;
err:
	close(fd);
	return ret;
}

int vfio_group_device_fd(struct vfio_container *c, int group, const char *bdf,
			 const char *vf_token)
{
	char name[VFIO_BDF_LEN + 64];

	/* vfio-pci takes the token as an option after the name (vfio_pci_core_match). */
	if (*vf_token)
		snprintf(name, sizeof(name), "%s vf_token=%s", bdf, vf_token);
	else
		snprintf(name, sizeof(name), "%s", bdf);
	for (unsigned int i = 0; i < c->ngroups; i++) {
		if (c->group[i].num != group)
			continue;
		int fd = ioctl(c->group[i].fd, VFIO_GROUP_GET_DEVICE_FD, name);

		if (fd < 0) {
			int err = errno;

			pr_err("%s: getting the device from IOMMU group %d: %s", bdf, group,
			       strerror(err));
			vfio_explain_device_fd("", bdf, err, *vf_token);
			return -err;
		}
		return fd;
	}
	return -ENOENT;
}

int vfio_container_p2p(struct vfio_device *vd, uint64_t iova, uint64_t size, void *hva, bool map)
{
	struct vfio_container *c = vd->container;
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)hva, .iova = iova, .size = size,
	};
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = size };

	/*
	 * With --iommu the guest maps what its devices reach, and the shadow
	 * mirrors only guest RAM: a BAR stays out, as QEMU's vIOMMU has it.
	 */
	if (!c || vd->vm->cfg->iommu)
		return -EOPNOTSUPP;
	if (map)
		return ioctl(c->fd, VFIO_IOMMU_MAP_DMA, &m) < 0 ? -errno : 0;
	if (ioctl(c->fd, VFIO_IOMMU_UNMAP_DMA, &u) < 0) {
		pr_warn("%s: unmapping BAR piece at 0x%llx from the IOMMU: %s", vd->name,
			(unsigned long long)iova, strerror(errno));
		return -errno;
	}
	return 0;
}

/* ---- --iommu: the container as a shadow of the guest's mappings ---------- */

static int shadow_map(void *opaque, uint64_t iova, void *hva, uint64_t len, unsigned int perm)
{
	struct vfio_container *c = opaque;
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = (perm & DMA_READ ? VFIO_DMA_MAP_FLAG_READ : 0) |
			 (perm & DMA_WRITE ? VFIO_DMA_MAP_FLAG_WRITE : 0),
		.vaddr = (uintptr_t)hva,
		.iova = iova,
		.size = len,
	};

	int err;

	if (ioctl(c->fd, VFIO_IOMMU_MAP_DMA, &map) == 0)
		return 0;
	err = errno;
	if (err == ENOSPC) {
		static struct ratelimit rl;

		/* vfio_iommu_type1 holds 65535 mappings per container by default. */
		if (ratelimit_ok(&rl, 1))
			pr_warn("VFIO: the container holds as many mappings as vfio_iommu_type1 allows; "
				"raise it with: modprobe vfio_iommu_type1 dma_entry_limit=N "
				"(before any VM uses it)");
	}
	return -err;
}

static int shadow_unmap(void *opaque, uint64_t iova, uint64_t len)
{
	struct vfio_container *c = opaque;
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap), .iova = iova, .size = len };

	if (ioctl(c->fd, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0)
		return -errno;
	return unmap.size == len ? 0 : -EIO;
}

static const struct shadow_ops shadow_ops = { .map = shadow_map, .unmap = shadow_unmap };

int vfio_container_shadow(struct vfio_container *c, struct vfio_device *vd)
{
	int ret;

	if (c->shadow.src) {
		/* One host domain per group: the group's other functions DMA through its mappings. */
		pr_warn("%s shares IOMMU group %d with %s: its DMA goes through the mappings the "
			"guest gives %s", vd->name, vd->group, c->shadow.name, c->shadow.name);
		return 0;
	}
	/* With the unit's lock: a hot-added device's first sync and invalidations do not interleave. */
	iommu_lock(c->vm);
	shadow_init(&c->shadow, &vd->pci.dma, &shadow_ops, c, vd->name, SHADOW_MAX_LEAVES);
	/* Translation is off at reset: this maps all of RAM, as without --iommu. */
	ret = shadow_sync(&c->shadow, 0, ~0ULL);
	iommu_unlock(c->vm);
	if (ret == -ENOMEM) {
		unsigned int n = 0;

		for (struct vfio_container *o = c; o; o = o->next)
			n++;
		vfio_explain_memlock(c->vm->mem.ram_size * n);
	} else if (ret) {
		pr_err("%s: mapping guest RAM for DMA: %s", vd->name, strerror(-ret));
	}
	return ret;
}

void vfio_container_unshadow(struct vfio_container *c, struct vfio_device *vd)
{
	if (!c || c->shadow.src != &vd->pci.dma)
		return;
	pr_info("%s: shadowed the guest's DMA mappings: %llu maps, %llu unmaps, %llu failed, "
		"%zu mapped at the end", vd->name, (unsigned long long)c->shadow.maps,
		(unsigned long long)c->shadow.unmaps, (unsigned long long)c->shadow.errors,
		c->shadow.n);
	/* What stays mapped goes with the container; it must not point into @vd. */
	iommu_lock(c->vm);
	shadow_destroy(&c->shadow);
	iommu_unlock(c->vm);
}

/* The container that holds @group already, or NULL. */
static struct vfio_container *holding(struct vm *vm, int group)
{
	for (struct vfio_container *c = vm->vfio_container; c; c = c->next)
		for (unsigned int i = 0; i < c->ngroups; i++)
			if (c->group[i].num == group)
				return c;
	return NULL;
}

int vfio_container_get(struct vm *vm, int group, struct vfio_container **out)
{
	/* Without --iommu every group shares the one container; with it, each has its own. */
	struct vfio_container *c = vm->cfg->iommu ? holding(vm, group) : vm->vfio_container;
	int ret;

	if (!c) {
		ret = vfio_container_open(vm, &c);
		if (ret)
			return ret;
		c->next = vm->vfio_container;
		vm->vfio_container = c;
	}
	*out = c;
	return 0;
}

void vfio_group_release(struct vm *vm, struct vfio_container *c, int group)
{
	struct vfio_container **pp;
	unsigned int i;

	for (i = 0; i < c->ngroups && c->group[i].num != group; i++)
		;
	if (i == c->ngroups)
		return;
	/* The group leaves the container: VFIO unsets it when the fd closes. */
	close(c->group[i].fd);
	c->group[i] = c->group[--c->ngroups];
	if (c->ngroups)
		return;
	/* Its last group gone, the container goes: the domain, its mappings, the pinned RAM. */
	for (pp = &vm->vfio_container; *pp && *pp != c; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = c->next;
	vfio_container_close(c);
}

void vfio_containers_close(struct vm *vm)
{
	while (vm->vfio_container) {
		struct vfio_container *c = vm->vfio_container;

		vm->vfio_container = c->next;
		vfio_container_close(c);
	}
}
