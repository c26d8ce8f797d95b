// SPDX-License-Identifier: Apache-2.0
/*
 * An assigned device's expansion ROM: from the device or from a file
 * (rom=PATH), kept in read-only memory and mapped at the ROM BAR. See vfio.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "vfio/vfio.h"
#include "vm.h"

static struct ratelimit rom_rl;

/*
 * The expansion ROM. It does not change, and each read of VFIO's ROM
 * region maps and unmaps the ROM on the host (a firmware image read 4
 * bytes at a time took a minute in the rig): it is read once into
 * read-only memory, which the ROM BAR maps as a read-only KVM memory slot
 * while the guest decodes it, so the guest's reads do not exit at all.
 * Past the image the ROM reads all-ones. A ROM of less than a page stays
 * trapped (a slot is whole pages), served from the copy.
 */
#define VFIO_ROM_MAX	(16 * MiB)	/* the largest ROM BAR: 24 address bits (PCI 3.0 6.2.5.2) */

static uint64_t rom_map_size(uint64_t bar_size)
{
	return ALIGN_UP(bar_size, (uint64_t)sysconf(_SC_PAGESIZE));
}

/* Room for a ROM BAR of @bar_size bytes, all-ones. */
static uint8_t *rom_alloc(uint64_t bar_size)
{
	void *p = mmap(NULL, rom_map_size(bar_size), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0xff, bar_size);
	return p;
}

void vfio_rom_free(struct vfio_device *vd)
{
	if (vd->rom_slot >= 0)
		vm_unmap_mmio(vd->vm, vd->rom_slot);
	vd->rom_slot = -1;
	if (vd->rom)
		munmap(vd->rom, rom_map_size(vd->rom_size));
	vd->rom = NULL;
}

/* rom=PATH, as QEMU's romfile=: the BAR is the file's size rounded up to a power of two. */
static int rom_from_file(struct vfio_device *vd, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;
	uint64_t size;

	if (fd < 0) {
		ret = -errno;
		pr_err("%s: rom=%s: %s", vd->name, path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > VFIO_ROM_MAX) {
		pr_err("%s: rom=%s: expected a regular file of 1 byte to 16 MiB (a ROM BAR's "
		       "largest size)", vd->name, path);
		close(fd);
		return -EINVAL;
	}
	size = (uint64_t)st.st_size;
	vd->rom_size = size <= 2048 ? 2048 : 1ULL << (64 - __builtin_clzll(size - 1));
	vd->rom = rom_alloc(vd->rom_size);
	if (!vd->rom) {
		close(fd);
		return -ENOMEM;
	}
	ret = pread_full(fd, vd->rom, size, 0) == (ssize_t)size ? 0 : -EIO;
	close(fd);
	if (ret) {
		pr_err("%s: rom=%s: short read", vd->name, path);
		vfio_rom_free(vd);
	}
	return ret;
}

/* The device's own ROM, if it has one and it fits a ROM BAR. */
static void rom_from_device(struct vfio_device *vd)
{
	const struct vfio_region *r = &vd->region[VFIO_PCI_ROM_REGION_INDEX];
	ssize_t done;

	if (!r->size)
		return;
	if (r->size > VFIO_ROM_MAX || r->size < 2048 || (r->size & (r->size - 1))) {
		pr_warn("%s: expansion ROM of 0x%llx bytes is not a size a ROM BAR can have "
			"(2 KiB to 16 MiB, a power of two): not offered to the guest (rom=PATH "
			"gives it one from a file)", vd->name, (unsigned long long)r->size);
		return;
	}
	vd->rom_size = r->size;
	vd->rom = rom_alloc(r->size);
	if (!vd->rom)
		return;
	done = pread_full(vd->fd, vd->rom, r->size, (off_t)r->offset);
	/* Nothing readable (the kernel found no valid image): read per access, all-ones. */
	if (done <= 0)
		vfio_rom_free(vd);
}

int vfio_rom_load(struct vfio_device *vd)
{
	int ret = 0;

	if (vd->rom_path)
		ret = rom_from_file(vd, vd->rom_path);
	else
		rom_from_device(vd);
	if (!ret && vd->rom)
		mprotect(vd->rom, rom_map_size(vd->rom_size), PROT_READ);
	return ret;
}

void vfio_rom_update(struct vfio_device *vd, bool decoded, uint64_t addr)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);

	if (vd->rom_slot >= 0) {
		vm_unmap_mmio(vd->vm, vd->rom_slot);
		vd->rom_slot = -1;
	}
	if (!decoded || !vd->rom || vd->rom_size % pg)
		return;
	vd->rom_slot = vm_map_mmio(vd->vm, addr, vd->rom_size, vd->rom, true);
	if (vd->rom_slot < 0) {
		if (ratelimit_ok(&rom_rl, 5))
			pr_warn("%s: ROM at 0x%llx: read-only slot: %s; trapping it", vd->name,
				(unsigned long long)addr, strerror(-vd->rom_slot));
		vd->rom_slot = -1;
	}
}

