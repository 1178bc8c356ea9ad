package org.gridlight.widget.core

/**
 * The id of a broker event, `"<ms>-<seq>"` (a Redis Streams id): [ms] is the event's time in
 * milliseconds since the epoch, [seq] its position within that millisecond. Ids order
 * numerically as (ms, seq) pairs, so `"10-0"` is newer than `"9-5"`.
 */
data class StreamId(val ms: Long, val seq: Long) : Comparable<StreamId> {
    init {
        require(ms >= 0 && seq >= 0) { "stream id parts must be non-negative, got $ms-$seq" }
    }

    override fun compareTo(other: StreamId): Int = compareValuesBy(this, other, StreamId::ms, StreamId::seq)

    override fun toString(): String = "$ms-$seq"

    companion object {
        private val PATTERN = Regex("""(0|[1-9][0-9]{0,18})-(0|[1-9][0-9]{0,18})""")

        /** Parse `"<ms>-<seq>"` (decimal, no sign, no leading zeros), or null when malformed. */
        fun parseOrNull(text: String): StreamId? {
            val match = PATTERN.matchEntire(text) ?: return null
            val ms = match.groupValues[1].toLongOrNull() ?: return null
            val seq = match.groupValues[2].toLongOrNull() ?: return null
            return StreamId(ms, seq)
        }

        /** Parse `"<ms>-<seq>"`. @throws IllegalArgumentException naming [text] when malformed. */
        fun parse(text: String): StreamId =
            parseOrNull(text) ?: throw IllegalArgumentException("stream id must look like \"1763792750000-0\", got \"$text\"")
    }
}
