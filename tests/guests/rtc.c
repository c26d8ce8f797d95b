// SPDX-License-Identifier: Apache-2.0
/*
 * The MC146818 RTC through CMOS ports 0x70/0x71, read the way Linux's
 * mc146818_get_time() does: wait for UIP clear, read, honour register B's
 * DM (binary/BCD) and 24/12-hour bits. The time, converted to a Unix epoch
 * by the guest, must match hosttime=EPOCH that run.sh put on the command
 * line, and the seconds must advance.
 */
#include "guest.h"

#define SLACK_S		10	/* start-up plus one second of RTC granularity, generously */

struct rtc_time { unsigned int sec, min, hour, mday, mon, year; };

static uint8_t cmos_read(uint8_t reg)
{
	outb(CMOS_INDEX, reg);
	return inb(CMOS_DATA);
}

static bool uip_wait(void)
{
	for (int i = 0; i < 200000; i++)
		if (!(cmos_read(0x0A) & 0x80))
			return true;
	return false;
}

static unsigned int bcd(uint8_t v, bool binary, const char *what)
{
	if (binary)
		return v;
	GUEST_ASSERT_MSG((v & 0x0F) <= 9 && (v >> 4) <= 9, "%s 0x%x is not BCD", what, v);
	return (v >> 4) * 10 + (v & 0x0F);
}

static void rtc_read(struct rtc_time *t)
{
	uint8_t raw[2][7];
	int tries = 0;

	/* Read twice until both reads agree: an update may land between registers. */
	do {
		GUEST_ASSERT_MSG(++tries < 10, "RTC never reads the same twice");
		for (int k = 0; k < 2; k++) {
			GUEST_ASSERT_MSG(uip_wait(), "UIP never clears");
			raw[k][0] = cmos_read(0x00);
			raw[k][1] = cmos_read(0x02);
			raw[k][2] = cmos_read(0x04);
			raw[k][3] = cmos_read(0x07);
			raw[k][4] = cmos_read(0x08);
			raw[k][5] = cmos_read(0x09);
			raw[k][6] = cmos_read(0x32);	/* century (FADT CENTURY, ACPI 5.2.9) */
		}
	} while (memcmp(raw[0], raw[1], sizeof(raw[0])));

	uint8_t b = cmos_read(0x0B);
	bool binary = b & 0x04, h24 = b & 0x02;
	uint8_t hour = raw[0][2];
	bool pm = !h24 && (hour & 0x80);

	t->sec = bcd(raw[0][0], binary, "seconds");
	t->min = bcd(raw[0][1], binary, "minutes");
	t->hour = bcd(hour & (h24 ? 0xFF : 0x7F), binary, "hours");
	t->mday = bcd(raw[0][3], binary, "day");
	t->mon = bcd(raw[0][4], binary, "month");
	t->year = bcd(raw[0][5], binary, "year");
	if (!h24) {
		GUEST_ASSERT_MSG(t->hour >= 1 && t->hour <= 12, "12-hour clock reads %u", t->hour);
		t->hour = t->hour % 12 + (pm ? 12 : 0);
	}
	unsigned int century = 20;
	uint8_t c = raw[0][6];

	if (binary ? (c >= 19 && c <= 21) : (c == 0x19 || c == 0x20 || c == 0x21))
		century = bcd(c, binary, "century");
	t->year += century * 100;

	GUEST_ASSERT_MSG(t->sec < 60 && t->min < 60 && t->hour < 24 && t->mday >= 1 &&
			 t->mday <= 31 && t->mon >= 1 && t->mon <= 12,
			 "invalid time %u-%u-%u %u:%u:%u (B=0x%x)", t->year, t->mon, t->mday,
			 t->hour, t->min, t->sec, b);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned int yoe = (unsigned int)(y - era * 400);
	unsigned int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static int64_t rtc_epoch(const struct rtc_time *t)
{
	return days_from_civil(t->year, t->mon, t->mday) * 86400 +
	       t->hour * 3600 + t->min * 60 + t->sec;
}

void guest_main(void)
{
	char arg[32];
	uint64_t host;
	struct rtc_time t;

	irq_init();	/* delay_us() below sleeps on the LAPIC timer */
	GUEST_ASSERT_MSG(cmdline_get("hosttime", arg, sizeof(arg)) && parse_u64(arg, &host),
			 "no hosttime=EPOCH on the command line");
	GUEST_ASSERT_EQ(days_from_civil(2000, 3, 1), 11017);	/* self-check of the conversion */

	rtc_read(&t);
	int64_t guest = rtc_epoch(&t), diff = guest - (int64_t)host;

	GUEST_SYNC("rtc: %u-%02u-%02u %02u:%02u:%02u B=0x%x epoch %ld host %lu diff %ld",
		   t.year, t.mon, t.mday, t.hour, t.min, t.sec, cmos_read(0x0B), guest, host, diff);
	GUEST_ASSERT_MSG(diff >= -SLACK_S && diff <= SLACK_S,
			 "RTC is %ld s off the host clock (UTC expected)", diff);

	/* The clock runs: the seconds change within a bounded wait (~1 s). */
	unsigned int sec0 = t.sec;
	struct rtc_time t2;
	int n;

	for (n = 0; n < 40; n++) {
		delay_us(50000);
		rtc_read(&t2);
		if (t2.sec != sec0)
			break;
	}
	GUEST_ASSERT_MSG(t2.sec != sec0, "RTC seconds stuck at %u for ~2 s", sec0);
	GUEST_SYNC("rtc: seconds advanced %u -> %u after %d x 50 ms", sec0, t2.sec, n + 1);
}
