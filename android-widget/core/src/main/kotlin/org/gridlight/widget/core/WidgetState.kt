package org.gridlight.widget.core

import java.time.Instant

/**
 * One widget payload from the server (`GET /api/v1/households/{h}/widget` or an FCM push),
 * validated. Field names follow the wire names with their units.
 *
 * @property powerKw average power per channel over the last interval [kW]; null means the meter
 *   is unavailable (shown as "—", never as 0). Ordered as the server sent them.
 * @property level traffic-light level per channel; null when the channel has no current value.
 * @property intervalS the averaging interval the values reflect [s].
 * @property serverStale the server's own `stale` flag (no reading arrived recently).
 */
data class WidgetSnapshot(
    val version: Int,
    val household: String,
    val name: String,
    val asOf: Instant,
    val seq: StreamId,
    val intervalS: Int,
    val powerKw: Map<String, Double?>,
    val level: Map<String, Level?>,
    val worst: Level?,
    val message: String,
    val serverStale: Boolean,
)

/** What the widget shows. Rendered with an exhaustive `when`. */
sealed interface WidgetState {
    /** Nothing fetched yet. */
    data object Loading : WidgetState

    /**
     * A good state. [etag] is the server's `ETag` for it (null when it came by push), sent back
     * as `If-None-Match` on the next fetch.
     */
    data class Available(val snapshot: WidgetSnapshot, val etag: String?) : WidgetState

    /**
     * The last fetch or push failed; [reason] says why in words fit for the widget. [lastGood]
     * is the last good state, kept so the widget can still show it (marked stale).
     */
    data class Unavailable(val reason: String, val lastGood: Available? = null) : WidgetState
}

/** The good state inside this one, if any: itself when available, else the one kept on error. */
val WidgetState.lastGood: WidgetState.Available?
    get() =
        when (this) {
            WidgetState.Loading -> null
            is WidgetState.Available -> this
            is WidgetState.Unavailable -> lastGood
        }
