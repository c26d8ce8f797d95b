/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_HW_I8042_H
#define KVMIO_HW_I8042_H

/*
 * i8042 keyboard controller with a PS/2 keyboard and mouse that answer
 * commands but never send input. Pure model; i8042.c adds the lock, the
 * ports and IRQ 1/12.
 */

#include <stdbool.h>
#include <stdint.h>

#define I8042_QUEUE_LEN	16

/* Status register (port 0x64, read). */
#define I8042_STR_OBF		0x01
#define I8042_STR_IBF		0x02
#define I8042_STR_SYS		0x04
#define I8042_STR_CMD		0x08	/* last write went to 0x64 */
#define I8042_STR_UNLOCKED	0x10
#define I8042_STR_AUXDATA	0x20

/* Controller command byte ("CTR"). */
#define I8042_CTR_KBDINT	0x01
#define I8042_CTR_AUXINT	0x02
#define I8042_CTR_SYS		0x04
#define I8042_CTR_KBDDIS	0x10
#define I8042_CTR_AUXDIS	0x20
#define I8042_CTR_XLATE		0x40

enum i8042_action {
	I8042_ACT_NONE,
	I8042_ACT_RESET,	/* the guest pulsed the CPU reset line */
};

struct i8042_state {
	uint8_t ctr;
	uint8_t status;		/* SYS and CMD; OBF and AUXDATA come from the queue */
	uint8_t outport;
	uint8_t pending_cmd;	/* controller command waiting for its data byte */
	uint8_t kbd_cmd;	/* keyboard command waiting for its parameter */
	uint8_t aux_cmd;	/* mouse command waiting for its parameter */
	uint8_t last_read;	/* 0x60 returns it again when the queue is empty */
	bool kbd_scanning;
	bool aux_reporting, aux_remote, aux_scale21;
	uint8_t aux_rate, aux_resolution;
	struct {
		uint8_t byte;
		bool aux;
	} queue[I8042_QUEUE_LEN];
	unsigned int q_head, q_count;
};

/* i8042_state_init - power-on state, as a PC BIOS leaves the controller. */
void i8042_state_init(struct i8042_state *s);

/* i8042_read/i8042_write - access port @port (I8042_DATA_PORT or I8042_CMD_PORT). */
uint8_t i8042_read(struct i8042_state *s, unsigned int port);
enum i8042_action i8042_write(struct i8042_state *s, unsigned int port, uint8_t val);

/*
 * i8042_irq_levels - IRQ 1 and IRQ 12 as the output buffer and CTR drive
 * them. The lines follow OBF, so the caller must also drop a high line for
 * each byte read from 0x60 before raising it again for the next one.
 */
void i8042_irq_levels(const struct i8042_state *s, int *kbd, int *aux);

#endif
