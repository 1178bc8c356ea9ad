package org.gridlight.widget.core

/**
 * Serialises a [WidgetState] for the app's DataStore file, as JSON:
 * `{"codec":1,"kind":"available","etag":"…","snapshot":{widget JSON}}`, `{"codec":1,"kind":"loading"}`,
 * or `{"codec":1,"kind":"unavailable","reason":"…","last_good":{"etag":…,"snapshot":{…}}|null}`.
 */
object StateCodec {
    const val CODEC_VERSION: Int = 1

    fun encode(state: WidgetState): String {
        val map: Map<String, Any?> =
            when (state) {
                WidgetState.Loading -> linkedMapOf("codec" to CODEC_VERSION, "kind" to "loading")
                is WidgetState.Available -> linkedMapOf("codec" to CODEC_VERSION, "kind" to "available") + available(state)
                is WidgetState.Unavailable ->
                    linkedMapOf(
                        "codec" to CODEC_VERSION,
                        "kind" to "unavailable",
                        "reason" to state.reason,
                        "last_good" to state.lastGood?.let(::available),
                    )
            }
        return Json.write(map)
    }

    /** @throws WidgetFormatException when [text] was not written by [encode]. */
    fun decode(text: String): WidgetState {
        val root =
            try {
                Json.parse(text)
            } catch (err: JsonException) {
                throw WidgetFormatException("stored widget state is not JSON: ${err.message}")
            }
        if (root !is Map<*, *>) throw WidgetFormatException("stored widget state is not an object")
        val codec = root["codec"]
        if (codec != CODEC_VERSION.toDouble()) throw WidgetFormatException("stored widget state has codec $codec, expected $CODEC_VERSION")
        return when (val kind = root["kind"]) {
            "loading" -> WidgetState.Loading
            "available" -> available(root)
            "unavailable" -> {
                val reason = root["reason"] as? String ?: throw WidgetFormatException("stored unavailable state has no reason")
                val lastGood =
                    when (val value = root["last_good"]) {
                        null -> null
                        is Map<*, *> -> available(value)
                        else -> throw WidgetFormatException("stored last_good is not an object")
                    }
                WidgetState.Unavailable(reason, lastGood)
            }
            else -> throw WidgetFormatException("stored widget state has unknown kind $kind")
        }
    }

    private fun available(state: WidgetState.Available): Map<String, Any?> =
        linkedMapOf("etag" to state.etag, "snapshot" to WidgetJson.toMap(state.snapshot))

    private fun available(map: Map<*, *>): WidgetState.Available {
        val snapshot = map["snapshot"] as? Map<*, *> ?: throw WidgetFormatException("stored state has no snapshot")
        val etag =
            when (val value = map["etag"]) {
                null -> null
                is String -> value
                else -> throw WidgetFormatException("stored etag is not a string")
            }
        return WidgetState.Available(WidgetJson.fromMap(snapshot), etag)
    }
}
