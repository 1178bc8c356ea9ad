package org.gridlight.widget.core

import java.time.Instant

/** One channel's line on the widget: `"Overall  2.31 kW"` with a dot in [level]'s colour. */
data class ChannelLine(val channel: String, val powerText: String, val level: Level?)

/**
 * Everything the widget draws, already decided: the Glance composable only lays it out.
 *
 * @property updatedText time of the last update in the device's zone, null when there is none.
 * @property note a short remark under the values: "stale", or why the last refresh failed.
 * @property stale whether the values are too old to trust (drawn greyed).
 */
data class WidgetView(
    val title: String,
    val updatedText: String?,
    val lines: List<ChannelLine>,
    val message: String,
    val note: String?,
    val stale: Boolean,
    val colors: WidgetColors,
)

/** Turns a [WidgetState] into a [WidgetView] at a given moment. */
object WidgetPresenter {
    /** Title used before the household's name is known. */
    const val APP_TITLE: String = "Gridlight"

    /** Note shown on stale values. */
    const val STALE_NOTE: String = "stale"

    /** Channels shown first, in this order; other channels follow in the server's order. */
    val PREFERRED_CHANNELS: List<String> = listOf("Overall", "AC", "Geyser")

    /** At most this many channel lines fit on the widget. */
    const val MAX_LINES: Int = 4

    fun present(state: WidgetState, now: Instant, format: Format): WidgetView =
        when (state) {
            WidgetState.Loading ->
                WidgetView(APP_TITLE, null, emptyList(), "", "Loading\u2026", false, Colors.forWidget(null, false))
            is WidgetState.Available -> presentSnapshot(state.snapshot, now, format, error = null)
            is WidgetState.Unavailable -> {
                val lastGood = state.lastGood
                if (lastGood == null) {
                    WidgetView(APP_TITLE, null, emptyList(), "", state.reason, false, Colors.forWidget(null, false))
                } else {
                    presentSnapshot(lastGood.snapshot, now, format, error = state.reason)
                }
            }
        }

    private fun presentSnapshot(snapshot: WidgetSnapshot, now: Instant, format: Format, error: String?): WidgetView {
        val stale = Staleness.isStale(snapshot, now)
        val channels = orderedChannels(snapshot).take(MAX_LINES)
        val lines = channels.map { ChannelLine(it, format.powerKw(snapshot.powerKw[it]), snapshot.level[it]) }
        val note =
            when {
                error != null && stale -> "$STALE_NOTE \u00B7 $error"
                error != null -> error
                stale -> STALE_NOTE
                else -> null
            }
        return WidgetView(
            title = snapshot.name,
            updatedText = format.updatedAt(snapshot.asOf, now),
            lines = lines,
            message = snapshot.message,
            note = note,
            stale = stale,
            colors = Colors.forWidget(snapshot.worst, stale),
        )
    }

    /** Channels of [snapshot] (from `power_kw` and `level`), preferred ones first. */
    fun orderedChannels(snapshot: WidgetSnapshot): List<String> {
        val all = LinkedHashSet<String>().apply {
            addAll(snapshot.powerKw.keys)
            addAll(snapshot.level.keys)
        }
        val preferred = PREFERRED_CHANNELS.filter { it in all }
        return preferred + all.filter { it !in PREFERRED_CHANNELS }
    }
}
