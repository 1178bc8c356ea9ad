package org.gridlight.widget.core

import java.time.OffsetDateTime
import java.time.ZoneOffset
import java.time.format.DateTimeFormatter
import java.time.format.DateTimeParseException

/** A widget payload that is valid JSON but not a valid widget state; the message names the field. */
class WidgetFormatException(message: String) : Exception(message)

/**
 * Reads and writes the widget payload (the contract in `android-widget/README.md`):
 *
 * ```
 * {"version":1,"household":"A","name":"Household A (day worker)","as_of":"2026-11-22T06:25:55Z",
 *  "seq":"1763792750000-0","interval_s":60,"power_kw":{"Overall":2.31,"AC":1.5,"Geyser":null},
 *  "level":{"Overall":"yellow","AC":"green","Geyser":null},"worst":"yellow",
 *  "message":"Above usual use","stale":false}
 * ```
 *
 * Unknown fields are ignored, so a newer server (`version` > 1) that adds fields still works.
 * `name` defaults to the household id, `message` to "", `stale` to false, `level` to none and
 * `worst` to the worst of `level`.
 */
object WidgetJson {
    /** Highest payload version this code was written for; higher ones are read as this one. */
    const val SUPPORTED_VERSION: Int = 1

    /** Parse [text]. @throws WidgetFormatException naming the bad field or the JSON error. */
    fun parse(text: String): WidgetSnapshot {
        val root =
            try {
                Json.parse(text)
            } catch (err: JsonException) {
                throw WidgetFormatException("not JSON: ${err.message}")
            }
        if (root !is Map<*, *>) throw WidgetFormatException("expected a JSON object, got ${typeName(root)}")
        return fromMap(root)
    }

    /** Build a snapshot from an already-parsed JSON object. @throws WidgetFormatException */
    fun fromMap(root: Map<*, *>): WidgetSnapshot {
        val version = int(root, "version")
        if (version < 1) throw WidgetFormatException("\"version\" must be 1 or more, got $version")
        val household = string(root, "household")
        if (household.isEmpty()) throw WidgetFormatException("\"household\" must not be empty")
        val name = optionalString(root, "name") ?: household
        val asOfText = string(root, "as_of")
        val asOf =
            try {
                OffsetDateTime.parse(asOfText, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant()
            } catch (err: DateTimeParseException) {
                throw WidgetFormatException("\"as_of\" must be an ISO 8601 time with offset, got \"$asOfText\"")
            }
        val seqText = string(root, "seq")
        val seq =
            StreamId.parseOrNull(seqText)
                ?: throw WidgetFormatException("\"seq\" must look like \"1763792750000-0\", got \"$seqText\"")
        val intervalS = int(root, "interval_s")
        if (intervalS <= 0) throw WidgetFormatException("\"interval_s\" must be positive, got $intervalS")
        val powerKw = LinkedHashMap<String, Double?>()
        for ((channel, value) in obj(root, "power_kw")) {
            powerKw[channel as String] =
                when (value) {
                    null -> null
                    is Double -> value
                    else -> throw WidgetFormatException("\"power_kw.$channel\" must be a number or null, got ${typeName(value)}")
                }
        }
        val level = LinkedHashMap<String, Level?>()
        for ((channel, value) in optionalObj(root, "level") ?: emptyMap<String, Any?>()) {
            level[channel as String] = levelOrNull(value, "level.$channel")
        }
        val worst = if (root.containsKey("worst")) levelOrNull(root["worst"], "worst") else Level.worstOf(level.values)
        val message = optionalString(root, "message") ?: ""
        val stale =
            when (val value = root["stale"]) {
                null -> false
                is Boolean -> value
                else -> throw WidgetFormatException("\"stale\" must be true or false, got ${typeName(value)}")
            }
        return WidgetSnapshot(version, household, name, asOf, seq, intervalS, powerKw, level, worst, message, stale)
    }

    /** The payload for [snapshot] in the wire format, compact; [parse] reads it back equal. */
    fun write(snapshot: WidgetSnapshot): String = Json.write(toMap(snapshot))

    /** [snapshot] as a JSON-ready map in wire order. */
    fun toMap(snapshot: WidgetSnapshot): Map<String, Any?> =
        linkedMapOf(
            "version" to snapshot.version,
            "household" to snapshot.household,
            "name" to snapshot.name,
            "as_of" to DateTimeFormatter.ISO_INSTANT.format(snapshot.asOf.atOffset(ZoneOffset.UTC)),
            "seq" to snapshot.seq.toString(),
            "interval_s" to snapshot.intervalS,
            "power_kw" to snapshot.powerKw,
            "level" to snapshot.level.mapValues { it.value?.wire },
            "worst" to snapshot.worst?.wire,
            "message" to snapshot.message,
            "stale" to snapshot.serverStale,
        )

    private fun levelOrNull(value: Any?, field: String): Level? =
        when (value) {
            null -> null
            is String ->
                Level.fromWire(value)
                    ?: throw WidgetFormatException(
                        "\"$field\" must be one of ${Level.entries.joinToString { it.wire }} or null, got \"$value\"",
                    )
            else -> throw WidgetFormatException("\"$field\" must be a level string or null, got ${typeName(value)}")
        }

    private fun string(root: Map<*, *>, field: String): String =
        optionalString(root, field) ?: throw WidgetFormatException("missing \"$field\"")

    private fun optionalString(root: Map<*, *>, field: String): String? =
        when (val value = root[field]) {
            null -> null
            is String -> value
            else -> throw WidgetFormatException("\"$field\" must be a string, got ${typeName(value)}")
        }

    private fun int(root: Map<*, *>, field: String): Int {
        val value = root[field] ?: throw WidgetFormatException("missing \"$field\"")
        if (value !is Double || value != Math.rint(value) || value > Int.MAX_VALUE || value < Int.MIN_VALUE) {
            throw WidgetFormatException("\"$field\" must be an integer, got ${describe(value)}")
        }
        return value.toInt()
    }

    private fun obj(root: Map<*, *>, field: String): Map<*, *> =
        optionalObj(root, field) ?: throw WidgetFormatException("missing \"$field\"")

    private fun optionalObj(root: Map<*, *>, field: String): Map<*, *>? =
        when (val value = root[field]) {
            null -> null
            is Map<*, *> -> value
            else -> throw WidgetFormatException("\"$field\" must be an object, got ${typeName(value)}")
        }

    private fun describe(value: Any?): String = if (value is Double) value.toString() else typeName(value)

    internal fun typeName(value: Any?): String =
        when (value) {
            null -> "null"
            is String -> "a string"
            is Double -> "a number"
            is Boolean -> "a boolean"
            is List<*> -> "an array"
            is Map<*, *> -> "an object"
            else -> value::class.simpleName ?: "a value"
        }
}
