package org.gridlight.widget.core

/**
 * A small strict JSON (RFC 8259) reader and writer for the widget's payloads.
 *
 * The core module cannot use Android's `org.json` and has no dependencies beyond the Kotlin
 * standard library, so it carries its own. Values map to Kotlin as:
 * object → [Map] (insertion ordered), array → [List], string → [String], number → [Double],
 * `true`/`false` → [Boolean], `null` → `null`.
 *
 * Strict means: exactly one value per document (whitespace around it only), no trailing commas,
 * no comments, no leading zeros, no `NaN`/`Infinity`, no raw control characters in strings, no
 * lone surrogates, no duplicate keys, and nesting at most [MAX_DEPTH] deep. Anything else raises
 * [JsonException] naming the offset and what was expected.
 */
object Json {
    /** Deepest nesting of arrays and objects [parse] accepts. */
    const val MAX_DEPTH: Int = 64

    /** Parse [text] as one JSON value. @throws JsonException when [text] is not strict JSON. */
    fun parse(text: String): Any? = Reader(text).document()

    /** Serialise [value] (the types [parse] returns, plus [Int]/[Long]/[Float]) compactly. */
    fun write(value: Any?): String = StringBuilder().also { appendValue(it, value) }.toString()

    private fun appendValue(out: StringBuilder, value: Any?) {
        when (value) {
            null -> out.append("null")
            is String -> appendString(out, value)
            is Boolean -> out.append(value)
            is Int, is Long -> out.append(value)
            is Double -> appendDouble(out, value)
            is Float -> appendDouble(out, value.toDouble())
            is Map<*, *> -> {
                out.append('{')
                var first = true
                for ((key, item) in value) {
                    require(key is String) { "JSON object keys must be strings, got $key" }
                    if (!first) out.append(',')
                    first = false
                    appendString(out, key)
                    out.append(':')
                    appendValue(out, item)
                }
                out.append('}')
            }
            is List<*> -> {
                out.append('[')
                value.forEachIndexed { i, item ->
                    if (i > 0) out.append(',')
                    appendValue(out, item)
                }
                out.append(']')
            }
            else -> throw IllegalArgumentException("cannot write ${value::class.simpleName} as JSON")
        }
    }

    private fun appendDouble(out: StringBuilder, value: Double) {
        require(value.isFinite()) { "JSON cannot represent $value" }
        if (value == Math.rint(value) && kotlin.math.abs(value) < 1e15) {
            out.append(value.toLong())
        } else {
            out.append(value)
        }
    }

    private fun appendString(out: StringBuilder, value: String) {
        out.append('"')
        for (c in value) {
            when (c) {
                '"' -> out.append("\\\"")
                '\\' -> out.append("\\\\")
                '\n' -> out.append("\\n")
                '\r' -> out.append("\\r")
                '\t' -> out.append("\\t")
                '\b' -> out.append("\\b")
                '\u000C' -> out.append("\\f")
                else ->
                    if (c < ' ' || c == '\u2028' || c == '\u2029') {
                        out.append("\\u").append(c.code.toString(16).padStart(4, '0'))
                    } else {
                        out.append(c)
                    }
            }
        }
        out.append('"')
    }

    private class Reader(private val text: String) {
        private var pos = 0
        private var depth = 0

        fun document(): Any? {
            skipWhitespace()
            if (pos >= text.length) fail("expected a JSON value, got end of input")
            val value = value()
            skipWhitespace()
            if (pos < text.length) fail("expected end of input after the value, got ${describe()}")
            return value
        }

        private fun value(): Any? {
            skipWhitespace()
            if (pos >= text.length) fail("expected a value, got end of input")
            return when (val c = text[pos]) {
                '{' -> obj()
                '[' -> array()
                '"' -> string()
                't' -> literal("true", true)
                'f' -> literal("false", false)
                'n' -> literal("null", null)
                else -> if (c == '-' || c in '0'..'9') number() else fail("expected a value, got ${describe()}")
            }
        }

        private fun obj(): Map<String, Any?> {
            enter()
            pos++ // '{'
            val result = LinkedHashMap<String, Any?>()
            skipWhitespace()
            if (peek() == '}') {
                pos++
                depth--
                return result
            }
            while (true) {
                skipWhitespace()
                if (peek() != '"') fail("expected a string key, got ${describe()}")
                val keyAt = pos
                val key = string()
                if (key in result) fail("duplicate key \"$key\"", keyAt)
                skipWhitespace()
                if (peek() != ':') fail("expected ':' after key \"$key\", got ${describe()}")
                pos++
                result[key] = value()
                skipWhitespace()
                when (peek()) {
                    ',' -> pos++
                    '}' -> {
                        pos++
                        depth--
                        return result
                    }
                    else -> fail("expected ',' or '}' in object, got ${describe()}")
                }
            }
        }

        private fun array(): List<Any?> {
            enter()
            pos++ // '['
            val result = ArrayList<Any?>()
            skipWhitespace()
            if (peek() == ']') {
                pos++
                depth--
                return result
            }
            while (true) {
                result.add(value())
                skipWhitespace()
                when (peek()) {
                    ',' -> pos++
                    ']' -> {
                        pos++
                        depth--
                        return result
                    }
                    else -> fail("expected ',' or ']' in array, got ${describe()}")
                }
            }
        }

        private fun enter() {
            depth++
            if (depth > MAX_DEPTH) fail("nesting deeper than $MAX_DEPTH levels")
        }

        private fun string(): String {
            val start = pos
            pos++ // opening quote
            val out = StringBuilder()
            while (true) {
                if (pos >= text.length) fail("unterminated string starting at offset $start")
                val c = text[pos]
                when {
                    c == '"' -> {
                        pos++
                        return out.toString()
                    }
                    c == '\\' -> escape(out)
                    c < ' ' -> fail("raw control character U+%04X in string (must be escaped)".format(c.code))
                    c.isHighSurrogate() -> {
                        val next = text.getOrNull(pos + 1)
                        if (next == null || !next.isLowSurrogate()) fail("lone surrogate in string")
                        out.append(c).append(next)
                        pos += 2
                    }
                    c.isLowSurrogate() -> fail("lone surrogate in string")
                    else -> {
                        out.append(c)
                        pos++
                    }
                }
            }
        }

        private fun escape(out: StringBuilder) {
            val at = pos
            pos++ // backslash
            if (pos >= text.length) fail("unterminated escape", at)
            when (val e = text[pos]) {
                '"' -> out.append('"')
                '\\' -> out.append('\\')
                '/' -> out.append('/')
                'b' -> out.append('\b')
                'f' -> out.append('\u000C')
                'n' -> out.append('\n')
                'r' -> out.append('\r')
                't' -> out.append('\t')
                'u' -> {
                    val unit = hex4(at)
                    if (unit.isHighSurrogate()) {
                        if (text.startsWith("\\u", pos + 1)) {
                            pos += 2
                            val low = hex4(at)
                            if (!low.isLowSurrogate()) fail("high surrogate \\u%04X not followed by a low one".format(unit.code), at)
                            out.append(unit).append(low)
                        } else {
                            fail("lone surrogate \\u%04X".format(unit.code), at)
                        }
                    } else if (unit.isLowSurrogate()) {
                        fail("lone surrogate \\u%04X".format(unit.code), at)
                    } else {
                        out.append(unit)
                    }
                }
                else -> fail("invalid escape \\$e", at)
            }
            pos++
        }

        /** Read the four hex digits after a `\u` whose `u` is at [pos]; leaves [pos] on the last digit. */
        private fun hex4(escapeAt: Int): Char {
            var code = 0
            for (i in 1..4) {
                val c = text.getOrNull(pos + i) ?: fail("truncated \\u escape", escapeAt)
                val d = Character.digit(c, 16)
                if (d < 0) fail("invalid \\u escape \"${text.substring(escapeAt, pos + i + 1)}\"", escapeAt)
                code = code * 16 + d
            }
            pos += 4
            return code.toChar()
        }

        private fun number(): Double {
            val start = pos
            if (peek() == '-') pos++
            when {
                peek() == '0' -> {
                    pos++
                    if (peek()?.isAsciiDigit() == true) fail("leading zero in number", start)
                }
                peek()?.isAsciiDigit() == true -> while (peek()?.isAsciiDigit() == true) pos++
                else -> fail("expected a digit in number, got ${describe()}")
            }
            if (peek() == '.') {
                pos++
                if (peek()?.isAsciiDigit() != true) fail("expected a digit after '.', got ${describe()}")
                while (peek()?.isAsciiDigit() == true) pos++
            }
            if (peek() == 'e' || peek() == 'E') {
                pos++
                if (peek() == '+' || peek() == '-') pos++
                if (peek()?.isAsciiDigit() != true) fail("expected a digit in exponent, got ${describe()}")
                while (peek()?.isAsciiDigit() == true) pos++
            }
            val value = text.substring(start, pos).toDouble()
            if (!value.isFinite()) fail("number ${text.substring(start, pos)} is out of range", start)
            return value
        }

        private fun literal(word: String, value: Any?): Any? {
            if (!text.startsWith(word, pos)) fail("expected a value, got ${describe()}")
            pos += word.length
            return value
        }

        private fun skipWhitespace() {
            while (pos < text.length) {
                when (text[pos]) {
                    ' ', '\t', '\n', '\r' -> pos++
                    else -> return
                }
            }
        }

        private fun peek(): Char? = text.getOrNull(pos)

        private fun Char.isAsciiDigit(): Boolean = this in '0'..'9'

        private fun describe(): String {
            val c = peek() ?: return "end of input"
            return if (c < ' ') "U+%04X".format(c.code) else "'$c'"
        }

        private fun fail(message: String, at: Int = pos): Nothing = throw JsonException(message, at)
    }
}

/** Malformed JSON: [message] says what was expected, [offset] where (0-based, in UTF-16 units). */
class JsonException(message: String, val offset: Int) : Exception("$message at offset $offset")
