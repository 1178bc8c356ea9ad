package org.gridlight.widget.core

import java.time.Instant
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import java.util.Locale

/** Text for the widget's values, in the device's locale and time zone (both injected). */
class Format(private val zone: ZoneId, private val locale: Locale) {
    /** Shown for a channel whose meter is unavailable; never "0". */
    val unavailable: String get() = UNAVAILABLE

    /** `"2.31 kW"`; [UNAVAILABLE] for null (meter unavailable) or a non-finite value. */
    fun powerKw(powerKw: Double?): String {
        if (powerKw == null || !powerKw.isFinite()) return UNAVAILABLE
        // Round half away from zero at two decimals, and never print "-0.00".
        val rounded = Math.round(powerKw * 100.0) / 100.0
        val shown = if (rounded == 0.0) 0.0 else rounded
        return String.format(locale, "%.2f kW", shown)
    }

    /**
     * When the state was measured, in the device's zone: `"06:25"` if that is today at [now],
     * `"21 Nov 06:25"` on another day of the same year, `"21 Nov 2025 06:25"` otherwise.
     */
    fun updatedAt(asOf: Instant, now: Instant): String {
        val local = asOf.atZone(zone)
        val today = now.atZone(zone)
        val pattern =
            when {
                local.toLocalDate() == today.toLocalDate() -> "HH:mm"
                local.year == today.year -> "d MMM HH:mm"
                else -> "d MMM yyyy HH:mm"
            }
        return DateTimeFormatter.ofPattern(pattern, locale).format(local)
    }

    companion object {
        /** Em dash, shown instead of a value that does not exist. */
        const val UNAVAILABLE: String = "\u2014"
    }
}
