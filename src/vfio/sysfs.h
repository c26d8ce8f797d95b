/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_VFIO_SYSFS_H
#define KVMIO_VFIO_SYSFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * What sysfs says about a host PCI device that kvmio is asked to assign:
 * its driver, its IOMMU group and the group's members and reserved regions,
 * its BARs, interrupts and reset method. Used by `kvmio check-device` and
 * to turn VFIO's errnos into one clear line (which module to load, how to
 * bind the device, which other devices block the group).
 *
 * Every function takes @root, prepended to every path: "" for the running
 * system, a directory holding a fake sys/ tree for the unit tests.
 */

#define VFIO_BDF_LEN	13	/* "dddd:bb:dd.f" + NUL */

/*
 * vfio_bdf_parse - "DDDD:BB:DD.F" or "BB:DD.F" (hex, any case) into the
 * canonical lower-case "dddd:bb:dd.f" (domain 0000 when omitted). Pure.
 * Returns 0 or -EINVAL (wrong shape, device > 0x1f, function > 7).
 */
int vfio_bdf_parse(const char *s, char out[VFIO_BDF_LEN]);

/*
 * vfio_sysfs_group - the IOMMU group number of @bdf, from the
 * /sys/bus/pci/devices/BDF/iommu_group link. -ENODEV: no such device;
 * -ENOENT: the device has no group (no IOMMU, or it is off).
 */
int vfio_sysfs_group(const char *root, const char *bdf);

/*
 * vfio_sysfs_driver - the name of the driver bound to @bdf in @buf ("" when
 * none). Returns 0, -ENODEV (no such device) or -ENAMETOOLONG.
 */
int vfio_sysfs_driver(const char *root, const char *bdf, char *buf, size_t len);

/*
 * vfio_sysfs_link - the last component of the target of @bdf's link @name
 * ("driver", "physfn", "virtfn0") into @buf. vfio_sysfs_uint - @bdf's
 * decimal attribute @name ("sriov_numvfs"). 0 or negative errno
 * (-ENODEV: no such device, -ENOENT: no such link or attribute).
 */
int vfio_sysfs_link(const char *root, const char *bdf, const char *name, char *buf, size_t len);
int vfio_sysfs_uint(const char *root, const char *bdf, const char *name, unsigned int *out);

/*
 * SR-IOV (sriov.c). A virtual function is assigned like any function, but
 * when its physical function is bound to vfio-pci too, vfio-pci opens it
 * only with the VF token the PF's user set (VFIO_DEVICE_FEATURE_PCI_VF_TOKEN),
 * and refuses a token when the PF has another driver.
 */
struct vfio_sriov_info {
	bool is_vf;
	char pf[VFIO_BDF_LEN];		/* is_vf: the physical function */
	char pf_drv[64];		/* its driver, "" for none */
	int vf_index;			/* is_vf: N of the PF's virtfnN, -1 unknown */
	bool is_pf;			/* sriov_totalvfs is there and not 0 */
	unsigned int total_vfs, num_vfs;
};

/* vfio_sysfs_sriov - what sysfs says about @bdf's SR-IOV role. 0 or negative errno. */
int vfio_sysfs_sriov(const char *root, const char *bdf, struct vfio_sriov_info *out);

/* vfio_report_sriov - check-device's "SR-IOV:" line (none for a function without SR-IOV). */
void vfio_report_sriov(FILE *out, const char *root, const char *bdf, int label_w);

/*
 * vfio_explain_device_fd - VFIO_GROUP_GET_DEVICE_FD failed with @err: for
 * a VF, one line on the token (needed, not wanted, or wrong) and how to
 * give it; nothing for other devices (the caller printed the errno).
 */
void vfio_explain_device_fd(const char *root, const char *bdf, int err, bool token_given);

/*
 * vfio_uuid_valid - @s is a UUID as vfio-pci parses a VF token
 * (8-4-4-4-12 hex digits). Pure.
 */
bool vfio_uuid_valid(const char *s);

/* A reserved IOVA range of a group (sys/kernel/iommu_groups/N/reserved_regions). */
struct vfio_resv {
	uint64_t start, end;	/* inclusive, as sysfs prints them */
	char type[24];		/* "msi", "direct", "direct-relaxable", "reserved" */
};

/*
 * vfio_parse_resv - parse the text of a reserved_regions file ("0x... 0x...
 * TYPE" per line) into @out (at most @max). Pure. Returns the number of
 * ranges, -EINVAL for a malformed line, or -ENOSPC when there are more than
 * @max (a range left out would be mapped over).
 * vfio_sysfs_resv - the same, read from group @group's file.
 */
int vfio_parse_resv(const char *text, struct vfio_resv *out, unsigned int max);
int vfio_sysfs_resv(const char *root, int group, struct vfio_resv *out, unsigned int max);

/* BAR0-5 and the ROM, from the first lines of sysfs's `resource` file. */
#define VFIO_NR_RESOURCES	7
struct vfio_bar_info {
	uint64_t start;
	uint64_t size;		/* 0: not implemented */
	uint64_t flags;		/* struct resource flags (IORESOURCE_*) */
};

/*
 * vfio_parse_resource - the text of a `resource` file ("0x%016llx 0x%016llx
 * 0x%016llx" start end flags per line) into @out; lines past the ROM are
 * ignored. Pure. Returns 0, or -EINVAL for fewer than 7 lines or a
 * malformed one.
 */
int vfio_parse_resource(const char *text, struct vfio_bar_info out[VFIO_NR_RESOURCES]);

/* Interrupts a device offers, as its config space describes them. */
struct vfio_intr_info {
	uint8_t pin;			/* 0: no INTx; 1-4: INTA-INTD */
	bool caps_read;			/* false: config shorter than 256 bytes (sysfs
					 * gives non-root readers 64), MSI/MSI-X unknown */
	bool msi, msi_64bit, msi_maskable;
	unsigned int msi_vectors;	/* multiple message capable, 1-32 */
	bool msix;
	unsigned int msix_vectors;	/* table size */
	uint8_t msix_table_bir, msix_pba_bir;
	uint32_t msix_table_off, msix_pba_off;
};

/*
 * vfio_parse_intr - INTx pin, MSI and MSI-X capabilities from the first
 * @len bytes of config space @cfg (a bounded capability walk: loops end).
 * Pure. Returns 0, or -EINVAL when @len is below the 64-byte header.
 */
int vfio_parse_intr(const uint8_t *cfg, size_t len, struct vfio_intr_info *out);

/*
 * One clear error line (pr_err), with what to do, for each reason a device
 * cannot be opened. @bdf canonical.
 *   vfio_explain_no_vfio:    /dev/vfio/vfio missing (modprobe vfio-pci vfio_iommu_type1)
 *   vfio_explain_no_iommu_model: VFIO_CHECK_EXTENSION has no type1 (modprobe vfio_iommu_type1)
 *   vfio_explain_no_device:  no /sys/bus/pci/devices/BDF (lspci -D lists the devices)
 *   vfio_explain_no_group:   no IOMMU group (enable VT-d / AMD-Vi in the firmware; intel_iommu=on
 *                            on Intel; AMD's is on unless amd_iommu=off or iommu=off)
 *   vfio_explain_not_bound:  bound to @driver or to none; the two echo lines to bind it to vfio-pci
 *   vfio_explain_not_viable: the group's other members that are not bound to vfio-pci (or
 *                            pci-stub / no driver), each with its driver
 *   vfio_explain_access:     permission denied on /dev/vfio/N (run as root, or chown/udev rule)
 *   vfio_explain_busy:       group /dev/vfio/N in use by another process
 *   vfio_explain_memlock:    RLIMIT_MEMLOCK (current soft limit) is below @need bytes: the
 *                            ulimit -l value (KiB) or the limits.conf line that would do
 */
void vfio_explain_no_vfio(void);
void vfio_explain_no_iommu_model(void);
void vfio_explain_no_device(const char *bdf);
void vfio_explain_no_group(const char *bdf);
void vfio_explain_not_bound(const char *root, const char *bdf, const char *driver);
void vfio_explain_not_viable(const char *root, const char *bdf, int group);
void vfio_explain_access(const char *bdf, int group);
void vfio_explain_busy(const char *bdf, int group);
void vfio_explain_memlock(uint64_t need);

/*
 * vfio_check_device - `kvmio check-device BDF`: print to @out, without
 * starting a VM or opening the device, whether @bdf (any form
 * vfio_bdf_parse takes) can be assigned and why not: vendor:device and
 * class, driver binding, IOMMU group and its members (with drivers), IOMMU
 * present, /dev/vfio/vfio and the group node, reset method, BARs with sizes
 * and types, ROM, INTx pin, MSI (vectors, 64-bit, maskable) and MSI-X
 * (table size, BAR). Ends with one verdict line. Returns 0 when the device
 * can be assigned, 1 when it cannot, 2 for a malformed BDF.
 */
int vfio_check_device(const char *root, const char *bdf, FILE *out);

#endif
