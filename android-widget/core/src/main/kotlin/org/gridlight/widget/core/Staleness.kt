package org.gridlight.widget.core

import java.time.Clock
import java.time.Duration
import java.time.Instant

/**
 * When a widget state is too old to trust. A state is stale when the server says so (its
 * `stale` flag) or when, by the device clock, more than [MISSED_INTERVALS] intervals plus
 * [GRACE] have passed since `as_of`: FCM pushes and periodic work both can be late, so a few
 * missed intervals are normal, but beyond that the colour no longer means anything.
 */
object Staleness {
    /** How many intervals may pass without a newer state before it counts as stale. */
    const val MISSED_INTERVALS: Long = 3

    /** Extra slack on top of the missed intervals, for delivery delay and clock skew. */
    val GRACE: Duration = Duration.ofMinutes(2)

    /** The moment [snapshot] turns stale by age: `as_of + 3 × interval_s + 2 min`. */
    fun staleAfter(snapshot: WidgetSnapshot): Instant =
        snapshot.asOf.plusSeconds(MISSED_INTERVALS * snapshot.intervalS).plus(GRACE)

    /** Whether [snapshot] is stale at [now] (a device clock ahead of the server is fine). */
    fun isStale(snapshot: WidgetSnapshot, now: Instant): Boolean = snapshot.serverStale || now.isAfter(staleAfter(snapshot))

    /** Whether [snapshot] is stale by [clock]. */
    fun isStale(snapshot: WidgetSnapshot, clock: Clock): Boolean = isStale(snapshot, clock.instant())
}
