/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_HW_RTC_H
#define KVMIO_HW_RTC_H

/*
 * MC146818 CMOS RTC register model, free of threads and KVM: every function
 * takes the host's UTC wall-clock time as @now_ns (CLOCK_REALTIME) so unit
 * tests can drive it. rtc.c wraps it in a lock, a timer thread and IRQ 8.
 */

#include <stdbool.h>
#include <stdint.h>

#define RTC_NR_REGS	128

#define RTC_SECONDS		0x00
#define RTC_SECONDS_ALARM	0x01
#define RTC_MINUTES		0x02
#define RTC_MINUTES_ALARM	0x03
#define RTC_HOURS		0x04
#define RTC_HOURS_ALARM		0x05
#define RTC_DAY_OF_WEEK		0x06
#define RTC_DAY_OF_MONTH	0x07
#define RTC_MONTH		0x08
#define RTC_YEAR		0x09
#define RTC_REG_A		0x0A
#define RTC_REG_B		0x0B
#define RTC_REG_C		0x0C
#define RTC_REG_D		0x0D
#define RTC_CENTURY		0x32

#define RTC_A_UIP	0x80
#define RTC_B_SET	0x80
#define RTC_B_PIE	0x40
#define RTC_B_AIE	0x20
#define RTC_B_UIE	0x10
#define RTC_B_SQWE	0x08
#define RTC_B_DM	0x04	/* 1: binary, 0: BCD */
#define RTC_B_24H	0x02
#define RTC_B_DSE	0x01
#define RTC_C_IRQF	0x80
#define RTC_C_PF	0x40
#define RTC_C_AF	0x20
#define RTC_C_UF	0x10
#define RTC_D_VRT	0x80

struct rtc_state {
	uint8_t cmos[RTC_NR_REGS];
	uint8_t index;
	int64_t offset_s;	/* guest RTC time minus host UTC time */
	int64_t last_sec;	/* guest second of the last update cycle seen */
	int64_t last_period;	/* periodic tick index last seen (now_ns / period) */
};

/*
 * rtc_state_init - power-on contents: time = host UTC, register A 0x26,
 * B 0x02 (24-hour BCD), D VRT, and QEMU's memory-size bytes for @ram_size
 * bytes of RAM of which @below_4g lie under 4 GiB.
 */
void rtc_state_init(struct rtc_state *s, uint64_t ram_size, uint64_t below_4g,
		    int64_t now_ns);

/*
 * rtc_encode_time - write time @t (seconds since the epoch, UTC) into the
 * time registers of @cmos (0x00-0x09 but the alarms, and 0x32) in the format
 * register B of @cmos selects (BCD/binary, 12/24-hour).
 */
void rtc_encode_time(uint8_t *cmos, int64_t t);

/* rtc_decode_time - the inverse: the time the registers of @cmos hold. */
int64_t rtc_decode_time(const uint8_t *cmos);

/*
 * rtc_update - run the update cycles and periodic ticks that happened up to
 * @now_ns: sets UF and AF (alarm match) once per new second, PF once per new
 * period. Flags are set whatever the enable bits say, as on the chip.
 */
void rtc_update(struct rtc_state *s, int64_t now_ns);

/* rtc_reg_read/rtc_reg_write - CMOS data port access to register @reg (0-127). */
uint8_t rtc_reg_read(struct rtc_state *s, unsigned int reg, int64_t now_ns);
void rtc_reg_write(struct rtc_state *s, unsigned int reg, uint8_t val, int64_t now_ns);

/* rtc_irq_pending - IRQF: a flag in register C with its enable set in B. */
bool rtc_irq_pending(const struct rtc_state *s);

/*
 * rtc_next_event_ns - when rtc_update next has something to do that can
 * raise the interrupt, or -1 if nothing can (all disabled, or IRQF already
 * set: the line stays up until register C is read).
 */
int64_t rtc_next_event_ns(const struct rtc_state *s, int64_t now_ns);

#endif
