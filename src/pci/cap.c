// SPDX-License-Identifier: Apache-2.0
/*
 * The capability walk, alone in its file: pure, so that users of config
 * snapshots (check-device's sysfs parser, fuzzers) can link it without the
 * PCI host and the VM behind it.
 */
#include <linux/pci_regs.h>

#include "pci/pci.h"

unsigned int pci_cap_find(const uint8_t *cfg, uint8_t id)
{
	unsigned int pos = cfg[PCI_CAPABILITY_LIST] & ~3u;

	if (!(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST))
		return 0;
	for (unsigned int hops = 0; hops < PCI_CAP_MAX_HOPS; hops++) {
		if (pos < 0x40 || pos > PCI_CFG_LEGACY_SIZE - 2)
			return 0;
		if (cfg[pos] == id)
			return pos;
		pos = cfg[pos + 1] & ~3u;
	}
	return 0;
}
