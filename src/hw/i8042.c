// SPDX-License-Identifier: Apache-2.0
/*
 * i8042 keyboard controller at ports 0x60/0x64, IRQ 1 (keyboard) and 12 (AUX).
 *
 * Enough of the controller and of a PS/2 keyboard and mouse for Linux's
 * i8042, atkbd and psmouse probes (drivers/input/serio/i8042.c) to succeed
 * without timeouts: self-tests, the command byte, AUX loopback (which Linux
 * also uses to test IRQ 12 delivery and to rule out a MUX controller), and
 * device commands answered with ACK. No key or mouse input is ever generated.
 * Pulsing the reset line (command 0xFE) reboots the VM.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hw/i8042.h"
#include "util.h"
#include "vm.h"

#define PS2_ACK		0xFA
#define PS2_RESEND	0xFE
#define PS2_BAT_OK	0xAA

static void queue_byte(struct i8042_state *s, uint8_t byte, bool aux)
{
	static struct ratelimit rl;
	unsigned int i;

	if (s->q_count >= I8042_QUEUE_LEN) {
		/* A guest that never reads 0x60 only loses its own replies. */
		if (ratelimit_ok(&rl, 1))
			pr_debug("i8042: output queue full, dropping 0x%02x", byte);
		return;
	}
	i = (s->q_head + s->q_count) % I8042_QUEUE_LEN;
	s->queue[i].byte = byte;
	s->queue[i].aux = aux;
	s->q_count++;
}

static void kbd_reply(struct i8042_state *s, uint8_t byte)
{
	queue_byte(s, byte, false);
}

static void aux_reply(struct i8042_state *s, uint8_t byte)
{
	queue_byte(s, byte, true);
}

/* Keyboard commands (PS/2 keyboard, IBM Technical Reference). */
static void kbd_write(struct i8042_state *s, uint8_t val)
{
	/* A command byte (>= 0xED) while a parameter is due starts over. */
	if (s->kbd_cmd && val < 0xED) {
		uint8_t cmd = s->kbd_cmd;

		s->kbd_cmd = 0;
		kbd_reply(s, PS2_ACK);
		if (cmd == 0xF0 && val == 0)	/* get scan code set */
			kbd_reply(s, (s->ctr & I8042_CTR_XLATE) ? 0x41 : 0x02);
		return;
	}
	s->kbd_cmd = 0;
	switch (val) {
	case 0xED:	/* set LEDs */
	case 0xF0:	/* get/set scan code set */
	case 0xF3:	/* set typematic rate */
		kbd_reply(s, PS2_ACK);
		s->kbd_cmd = val;
		break;
	case 0xEE:	/* echo */
		kbd_reply(s, 0xEE);
		break;
	case 0xF2:	/* identify: MF2 keyboard, as translated or not */
		kbd_reply(s, PS2_ACK);
		kbd_reply(s, 0xAB);
		kbd_reply(s, (s->ctr & I8042_CTR_XLATE) ? 0x41 : 0x83);
		break;
	case 0xF4:
		s->kbd_scanning = true;
		kbd_reply(s, PS2_ACK);
		break;
	case 0xF5:
		s->kbd_scanning = false;
		kbd_reply(s, PS2_ACK);
		break;
	case 0xF6: case 0xF7: case 0xF8: case 0xF9:
	case 0xFA: case 0xFB: case 0xFC: case 0xFD: case 0xFE:
		kbd_reply(s, PS2_ACK);
		break;
	case 0xFF:	/* reset: ACK, then the self-test result */
		s->kbd_scanning = true;
		kbd_reply(s, PS2_ACK);
		kbd_reply(s, PS2_BAT_OK);
		break;
	default:
		kbd_reply(s, PS2_RESEND);
	}
}

static void aux_defaults(struct i8042_state *s)
{
	s->aux_reporting = false;
	s->aux_remote = false;
	s->aux_scale21 = false;
	s->aux_rate = 100;
	s->aux_resolution = 2;
}

/* Mouse commands (PS/2 mouse), sent through controller command 0xD4. */
static void aux_write(struct i8042_state *s, uint8_t val)
{
	if (s->aux_cmd && val < 0xE6) {
		if (s->aux_cmd == 0xF3)
			s->aux_rate = val;
		else
			s->aux_resolution = val & 3;
		s->aux_cmd = 0;
		aux_reply(s, PS2_ACK);
		return;
	}
	s->aux_cmd = 0;
	switch (val) {
	case 0xE6:
	case 0xE7:
		s->aux_scale21 = val == 0xE7;
		aux_reply(s, PS2_ACK);
		break;
	case 0xE8:	/* set resolution */
	case 0xF3:	/* set sample rate */
		s->aux_cmd = val;
		aux_reply(s, PS2_ACK);
		break;
	case 0xE9:	/* status request: ACK and three status bytes */
		aux_reply(s, PS2_ACK);
		aux_reply(s, (s->aux_remote ? 0x40 : 0) | (s->aux_reporting ? 0x20 : 0) |
			     (s->aux_scale21 ? 0x10 : 0));
		aux_reply(s, s->aux_resolution);
		aux_reply(s, s->aux_rate);
		break;
	case 0xEA:
	case 0xF0:
		s->aux_remote = val == 0xF0;
		aux_reply(s, PS2_ACK);
		break;
	case 0xEB:	/* read data: one motionless packet */
		aux_reply(s, PS2_ACK);
		aux_reply(s, 0x08);
		aux_reply(s, 0x00);
		aux_reply(s, 0x00);
		break;
	case 0xEC:
	case 0xEE:
	case 0xFE:
		aux_reply(s, PS2_ACK);
		break;
	case 0xF2:	/* get ID: a plain PS/2 mouse */
		aux_reply(s, PS2_ACK);
		aux_reply(s, 0x00);
		break;
	case 0xF4:
	case 0xF5:
		s->aux_reporting = val == 0xF4;
		aux_reply(s, PS2_ACK);
		break;
	case 0xF6:
		aux_defaults(s);
		aux_reply(s, PS2_ACK);
		break;
	case 0xFF:	/* reset: ACK, self-test passed, device ID */
		aux_defaults(s);
		aux_reply(s, PS2_ACK);
		aux_reply(s, PS2_BAT_OK);
		aux_reply(s, 0x00);
		break;
	default:
		aux_reply(s, PS2_RESEND);
	}
}

static void set_ctr(struct i8042_state *s, uint8_t val)
{
	s->ctr = val;
	s->status = (s->status & ~I8042_STR_SYS) | (val & I8042_CTR_SYS);
}

static enum i8042_action write_command(struct i8042_state *s, uint8_t cmd)
{
	static struct ratelimit rl;

	s->pending_cmd = 0;
	switch (cmd) {
	case 0x20:
		kbd_reply(s, s->ctr);
		break;
	case 0x60:	/* write CTR */
	case 0xD1:	/* write output port */
	case 0xD2:	/* write keyboard output buffer */
	case 0xD3:	/* write AUX output buffer (AUX loopback) */
	case 0xD4:	/* write to AUX device */
		s->pending_cmd = cmd;
		break;
	case 0xA7:
		s->ctr |= I8042_CTR_AUXDIS;
		break;
	case 0xA8:
		s->ctr &= ~I8042_CTR_AUXDIS;
		break;
	case 0xA9:	/* AUX interface test: no error */
	case 0xAB:	/* keyboard interface test: no error */
		kbd_reply(s, 0x00);
		break;
	case 0xAA:	/* controller self-test */
		s->status |= I8042_STR_SYS;
		kbd_reply(s, 0x55);
		break;
	case 0xAD:
		s->ctr |= I8042_CTR_KBDDIS;
		break;
	case 0xAE:
		s->ctr &= ~I8042_CTR_KBDDIS;
		break;
	case 0xC0:	/* input port: keyboard not inhibited */
		kbd_reply(s, 0x80);
		break;
	case 0xD0:
		kbd_reply(s, s->outport);
		break;
	case 0xE0:	/* test inputs */
		kbd_reply(s, 0x00);
		break;
	default:
		if (cmd >= 0xF0) {
			/* Pulse output lines whose bit is 0; bit 0 is CPU reset. */
			if (!(cmd & 1))
				return I8042_ACT_RESET;
			break;
		}
		if (ratelimit_ok(&rl, 2))
			pr_debug("i8042: unhandled command 0x%02x", cmd);
	}
	return I8042_ACT_NONE;
}

static enum i8042_action write_data(struct i8042_state *s, uint8_t val)
{
	uint8_t cmd = s->pending_cmd;

	s->pending_cmd = 0;
	switch (cmd) {
	case 0x60:
		set_ctr(s, val);
		break;
	case 0xD1:
		s->outport = val;
		if (!(val & 1))
			return I8042_ACT_RESET;	/* output port bit 0 is CPU reset */
		break;
	case 0xD2:
		kbd_reply(s, val);
		break;
	case 0xD3:
		aux_reply(s, val);
		break;
	case 0xD4:
		aux_write(s, val);
		break;
	default:
		/* Sending to the keyboard re-enables its interface, as QEMU does. */
		s->ctr &= ~I8042_CTR_KBDDIS;
		kbd_write(s, val);
	}
	return I8042_ACT_NONE;
}

void i8042_state_init(struct i8042_state *s)
{
	memset(s, 0, sizeof(*s));
	/* What a PC BIOS leaves: interrupts on, translation on, POST passed. */
	s->ctr = I8042_CTR_KBDINT | I8042_CTR_AUXINT | I8042_CTR_SYS | I8042_CTR_XLATE;
	s->status = I8042_STR_SYS | I8042_STR_UNLOCKED;
	s->outport = 0xCF;	/* reset line high, A20 on, both clocks/data idle */
	s->kbd_scanning = true;
	aux_defaults(s);
}

uint8_t i8042_read(struct i8042_state *s, unsigned int port)
{
	if (port == I8042_CMD_PORT) {
		uint8_t st = s->status;

		if (s->q_count) {
			st |= I8042_STR_OBF;
			if (s->queue[s->q_head].aux)
				st |= I8042_STR_AUXDATA;
		}
		return st;
	}
	if (port != I8042_DATA_PORT)
		return 0xFF;
	if (s->q_count) {
		s->last_read = s->queue[s->q_head].byte;
		s->q_head = (s->q_head + 1) % I8042_QUEUE_LEN;
		s->q_count--;
	}
	return s->last_read;
}

enum i8042_action i8042_write(struct i8042_state *s, unsigned int port, uint8_t val)
{
	if (port == I8042_CMD_PORT) {
		s->status |= I8042_STR_CMD;
		return write_command(s, val);
	}
	if (port != I8042_DATA_PORT)
		return I8042_ACT_NONE;
	s->status &= ~I8042_STR_CMD;
	return write_data(s, val);
}

void i8042_irq_levels(const struct i8042_state *s, int *kbd, int *aux)
{
	*kbd = 0;
	*aux = 0;
	if (!s->q_count)
		return;
	if (s->queue[s->q_head].aux)
		*aux = (s->ctr & I8042_CTR_AUXINT) != 0;
	else
		*kbd = (s->ctr & I8042_CTR_KBDINT) != 0;
}

/* ---- VM glue ------------------------------------------------------------ */

struct i8042 {
	pthread_mutex_t lock;
	struct vm *vm;
	struct i8042_state st;
	int kbd_level, aux_level;
};

/* One VM per process: struct vm has no slot for the controller. */
static void i8042_io(struct i8042 *k, unsigned int port, uint8_t *data,
		     unsigned int len, bool is_write)
{
	enum i8042_action act = I8042_ACT_NONE;
	int kbd, aux;

	if (!len)
		return;
	pthread_mutex_lock(&k->lock);
	/* One-byte ports: a wider access touches the register once. */
	if (is_write)
		act = i8042_write(&k->st, port, data[0]);
	else
		data[0] = i8042_read(&k->st, port);
	for (unsigned int i = 1; i < len && !is_write; i++)
		data[i] = 0xFF;

	/*
	 * The IRQ lines follow OBF, which drops when the guest reads 0x60 and
	 * rises again when the controller loads the next queued byte. The
	 * lines are ISA edge-triggered and Linux's handler reads one byte per
	 * interrupt, so each further byte needs its own low-high edge.
	 */
	if (!is_write && port == I8042_DATA_PORT) {
		if (k->kbd_level) {
			k->kbd_level = 0;
			vm_irq_line(k->vm, I8042_KBD_IRQ, 0);
		}
		if (k->aux_level) {
			k->aux_level = 0;
			vm_irq_line(k->vm, I8042_AUX_IRQ, 0);
		}
	}
	i8042_irq_levels(&k->st, &kbd, &aux);
	if (kbd != k->kbd_level) {
		k->kbd_level = kbd;
		vm_irq_line(k->vm, I8042_KBD_IRQ, kbd);
	}
	if (aux != k->aux_level) {
		k->aux_level = aux;
		vm_irq_line(k->vm, I8042_AUX_IRQ, aux);
	}
	pthread_mutex_unlock(&k->lock);

	if (act == I8042_ACT_RESET) {
		pr_info("i8042: guest pulsed the reset line");
		vm_request_stop(k->vm, VM_STOP_REBOOT);
	}
}

static void i8042_data_io(void *opaque, uint64_t off, uint8_t *data,
			  unsigned int len, bool is_write)
{
	i8042_io(opaque, I8042_DATA_PORT, data, len, is_write);
}

static void i8042_cmd_io(void *opaque, uint64_t off, uint8_t *data,
			 unsigned int len, bool is_write)
{
	i8042_io(opaque, I8042_CMD_PORT, data, len, is_write);
}

static int i8042_dev_init(struct vm *vm)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int ret;

	if (!k)
		return -ENOMEM;
	k->vm = vm;
	pthread_mutex_init(&k->lock, NULL);
	i8042_state_init(&k->st);

	ret = bus_register(&vm->bus, BUS_PIO, I8042_DATA_PORT, 1, i8042_data_io, k, "i8042 data");
	if (ret)
		goto err_free;
	ret = bus_register(&vm->bus, BUS_PIO, I8042_CMD_PORT, 1, i8042_cmd_io, k, "i8042 cmd");
	if (ret)
		goto err_unregister;
	vm->i8042 = k;
	return 0;

err_unregister:
	bus_unregister(&vm->bus, BUS_PIO, I8042_DATA_PORT);
err_free:
	pthread_mutex_destroy(&k->lock);
	free(k);
	return ret;
}

/* Called after the vCPUs have stopped. */
static void i8042_dev_exit(struct vm *vm)
{
	struct i8042 *k = vm->i8042;

	if (!k)
		return;
	bus_unregister(&vm->bus, BUS_PIO, I8042_CMD_PORT);
	bus_unregister(&vm->bus, BUS_PIO, I8042_DATA_PORT);
	vm->i8042 = NULL;
	pthread_mutex_destroy(&k->lock);
	free(k);
}

const struct vm_device_ops i8042_dev_ops = {
	.name = "i8042",
	.init = i8042_dev_init,
	.exit = i8042_dev_exit,
};
