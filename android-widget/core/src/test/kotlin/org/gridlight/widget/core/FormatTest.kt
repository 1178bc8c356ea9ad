package org.gridlight.widget.core

import org.junit.Test
import java.time.Instant
import java.time.ZoneId
import java.util.Locale
import kotlin.test.assertEquals

class FormatTest {
    private val kolkata = Format(ZoneId.of("Asia/Kolkata"), Locale.UK)

    @Test fun `power with two decimals and its unit`() {
        assertEquals("2.31 kW", kolkata.powerKw(2.31))
        assertEquals("1.50 kW", kolkata.powerKw(1.5))
        assertEquals("0.00 kW", kolkata.powerKw(0.0), "a real zero is shown as zero")
        assertEquals("0.00 kW", kolkata.powerKw(-0.001), "no negative zero")
        assertEquals("-0.25 kW", kolkata.powerKw(-0.25), "export is negative")
        assertEquals("0.13 kW", kolkata.powerKw(0.125), "half rounds up")
        assertEquals("12.35 kW", kolkata.powerKw(12.345))
        assertEquals("1234.50 kW", kolkata.powerKw(1234.5))
    }

    @Test fun `unavailable is a dash, never zero`() {
        assertEquals("\u2014", kolkata.powerKw(null))
        assertEquals("\u2014", kolkata.powerKw(Double.NaN))
        assertEquals("\u2014", kolkata.powerKw(Double.POSITIVE_INFINITY))
        assertEquals(Format.UNAVAILABLE, kolkata.unavailable)
    }

    @Test fun `decimal separator follows the locale`() {
        assertEquals("2,31 kW", Format(ZoneId.of("Europe/Paris"), Locale.FRANCE).powerKw(2.31))
    }

    @Test fun `update time in the device zone`() {
        val asOf = Instant.parse("2026-11-22T06:25:55Z")
        assertEquals("11:55", kolkata.updatedAt(asOf, Instant.parse("2026-11-22T07:00:00Z")))
        val paris = Format(ZoneId.of("Europe/Paris"), Locale.UK)
        assertEquals("07:25", paris.updatedAt(asOf, Instant.parse("2026-11-22T07:00:00Z")))
    }

    @Test fun `update time shows the date when not today in the device zone`() {
        val asOf = Instant.parse("2026-11-21T20:00:00Z") // 01:30 on the 22nd in Kolkata
        assertEquals("01:30", kolkata.updatedAt(asOf, Instant.parse("2026-11-22T06:00:00Z")))
        assertEquals("21 Nov 20:00", Format(ZoneId.of("UTC"), Locale.UK).updatedAt(asOf, Instant.parse("2026-11-22T06:00:00Z")))
        assertEquals("21 Nov 2026 20:00", Format(ZoneId.of("UTC"), Locale.UK).updatedAt(asOf, Instant.parse("2027-01-02T00:00:00Z")))
    }
}
