/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_GUEST_ACPI_H
#define KVMIO_GUEST_ACPI_H

/* FADT fields the power guests check (ACPI 6.5, table 5.9). */
#define FADT_DSDT		40	/* u32 */
#define FADT_PM1A_CNT_BLK	64	/* u32 */
#define FADT_PM1_CNT_LEN	89	/* u8 */
#define FADT_FLAGS		112	/* u32 */
#define FADT_RESET_REG		116	/* GAS: space, width, offset, access, u64 address */
#define FADT_RESET_VALUE	128	/* u8 */
#define FADT_X_DSDT		140	/* u64 */
#define FADT_F_RESET_REG_SUP	(1u << 10)
#define FADT_F_HW_REDUCED	(1u << 20)

#endif
