package org.gridlight.widget.core

/** What to do with one FCM data message. */
sealed interface PushResult {
    /** Store [state] and update the widget. */
    data class Apply(val state: WidgetState.Available) : PushResult

    /** Drop the message; [reason] is for the log. */
    data class Ignore(val reason: String) : PushResult
}

/**
 * Handles FCM data messages of the shape (all values strings):
 * `{"type": "widget_state", "household": "A", "seq": "1763792750000-0", "state": "<widget JSON>"}`.
 *
 * A message for another household, of another type, malformed, or not newer than the stored
 * state (ids compare as `ms-seq` pairs) is ignored: FCM may deliver late and out of order.
 */
object PushHandler {
    const val TYPE_WIDGET_STATE: String = "widget_state"

    fun handle(data: Map<String, String>, household: String, current: WidgetState): PushResult {
        val type = data["type"]
        if (type != TYPE_WIDGET_STATE) return PushResult.Ignore("not a widget state message (type=$type)")
        val to = data["household"]
        if (to != household) return PushResult.Ignore("message for household \"$to\", widget shows \"$household\"")
        val seqText = data["seq"] ?: return PushResult.Ignore("message has no seq")
        val seq = StreamId.parseOrNull(seqText) ?: return PushResult.Ignore("bad seq \"$seqText\"")
        val stateText = data["state"] ?: return PushResult.Ignore("message has no state")
        val snapshot =
            try {
                WidgetJson.parse(stateText)
            } catch (err: WidgetFormatException) {
                return PushResult.Ignore("bad state: ${err.message}")
            }
        if (snapshot.seq != seq) return PushResult.Ignore("seq $seq does not match the state's seq ${snapshot.seq}")
        if (snapshot.household != household) {
            return PushResult.Ignore("state for household \"${snapshot.household}\", widget shows \"$household\"")
        }
        val stored = current.lastGood?.snapshot?.seq
        if (stored != null && seq <= stored) return PushResult.Ignore("seq $seq is not newer than the stored $stored")
        return PushResult.Apply(WidgetState.Available(snapshot, etag = null))
    }
}
