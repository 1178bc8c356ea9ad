package org.gridlight.widget.core

import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNull
import kotlin.test.assertTrue

class JsonTest {
    private fun fails(text: String, expected: String): JsonException {
        val err = assertFailsWith<JsonException>("accepted ${text.take(40)}") { Json.parse(text) }
        assertTrue(err.message!!.contains(expected), "message \"${err.message}\" should contain \"$expected\"")
        return err
    }

    @Test fun `parses scalars`() {
        assertEquals(true, Json.parse("true"))
        assertEquals(false, Json.parse(" false "))
        assertNull(Json.parse("null"))
        assertEquals("hi", Json.parse("\"hi\""))
        assertEquals(0.0, Json.parse("0"))
        assertEquals(-0.0, Json.parse("-0"))
        assertEquals(2.31, Json.parse("2.31"))
        assertEquals(-12.5, Json.parse("-12.5"))
        assertEquals(1.5e3, Json.parse("1.5e3"))
        assertEquals(2e-2, Json.parse("2E-2"))
        assertEquals(1e+2, Json.parse("1e+2"))
    }

    @Test fun `parses nested maps and arrays in order`() {
        val value = Json.parse("""{"b": {"x": [1, {"y": null}, []], "e": {}}, "a": [true, "s"]}""")
        assertEquals(
            mapOf("b" to mapOf("x" to listOf(1.0, mapOf("y" to null), emptyList<Any?>()), "e" to emptyMap<String, Any?>()), "a" to listOf(true, "s")),
            value,
        )
        assertEquals(listOf("b", "a"), (value as Map<*, *>).keys.toList())
    }

    @Test fun `decodes every escape`() {
        assertEquals("\"\\/\b\u000C\n\r\t", Json.parse("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""))
        assertEquals("A\u00e9\u20ac", Json.parse("\"\\u0041\\u00E9\\u20ac\""))
        assertEquals("\uD83D\uDE00", Json.parse("\"\\ud83d\\ude00\""), "surrogate pair escape")
        assertEquals("\uD83D\uDE00 ok", Json.parse("\"\uD83D\uDE00 ok\""), "raw astral character")
        assertEquals("\u0000", Json.parse("\"\\u0000\""))
    }

    @Test fun `rejects bad escapes and strings`() {
        fails("\"\\x\"", "invalid escape \\x")
        fails("\"\\u12\"", "invalid \\u escape")
        fails("\"\\u12", "truncated \\u escape")
        fails("\"\\uZZZZ\"", "invalid \\u escape")
        fails("\"\\ud83d\"", "lone surrogate")
        fails("\"\\ud83d\\u0041\"", "not followed by a low one")
        fails("\"\\ude00\"", "lone surrogate")
        fails("\"a\nb\"", "raw control character U+000A")
        fails("\"abc", "unterminated string")
        fails("\"abc\\", "unterminated escape")
        fails("'abc'", "expected a value, got '''")
    }

    @Test fun `rejects bad numbers`() {
        fails("01", "leading zero")
        fails("-", "expected a digit in number")
        fails("1.", "expected a digit after '.'")
        fails(".5", "expected a value, got '.'")
        fails("1e", "expected a digit in exponent")
        fails("+1", "expected a value, got '+'")
        fails("NaN", "expected a value")
        fails("Infinity", "expected a value")
        fails("1e999", "out of range")
        fails("0x10", "expected end of input")
    }

    @Test fun `rejects malformed structure`() {
        fails("", "got end of input")
        fails("   ", "got end of input")
        fails("{", "expected a string key, got end of input")
        fails("{\"a\":1,}", "expected a string key, got '}'")
        fails("[1,]", "expected a value, got ']'")
        fails("[1 2]", "expected ',' or ']'")
        fails("{\"a\" 1}", "expected ':'")
        fails("{\"a\":1 \"b\":2}", "expected ',' or '}'")
        fails("{a:1}", "expected a string key, got 'a'")
        fails("{\"a\":1,\"a\":2}", "duplicate key \"a\"")
        fails("{} {}", "expected end of input")
        fails("nul", "expected a value")
        fails("truex", "expected end of input")
        fails("[1] // c", "expected end of input")
        fails("\u0001", "got U+0001")
    }

    @Test fun `reports the offset of the error`() {
        assertEquals(6, fails("[1, 2 x]", "expected ',' or ']'").offset)
    }

    @Test fun `limits nesting depth without overflowing the stack`() {
        val ok = "[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH)
        assertEquals(Json.MAX_DEPTH, generateSequence(Json.parse(ok)) { (it as List<*>).firstOrNull() }.count())
        fails("[".repeat(Json.MAX_DEPTH + 1) + "]".repeat(Json.MAX_DEPTH + 1), "nesting deeper than ${Json.MAX_DEPTH}")
        fails("[".repeat(100_000), "nesting deeper than")
    }

    @Test fun `writes compact JSON that parses back equal`() {
        val value =
            linkedMapOf(
                "s" to "quote\" backslash\\ nl\n tab\t ctl\u0001 ls\u2028 \uD83D\uDE00",
                "n" to 2.31,
                "i" to 60.0,
                "neg" to -0.5,
                "big" to 1.0e20,
                "null" to null,
                "list" to listOf(true, false, null, emptyMap<String, Any?>()),
            )
        val text = Json.write(value)
        assertTrue(!text.contains('\n') && !text.contains('\u0001') && !text.contains('\u2028'), text)
        assertTrue(text.contains("\"i\":60,"), text)
        assertEquals(value, Json.parse(text))
        assertEquals("{\"a\":1,\"b\":[2,\"x\"]}", Json.write(linkedMapOf("a" to 1, "b" to listOf(2L, "x"))))
    }

    @Test fun `refuses to write what JSON cannot hold`() {
        assertFailsWith<IllegalArgumentException> { Json.write(Double.NaN) }
        assertFailsWith<IllegalArgumentException> { Json.write(mapOf(1 to 2)) }
        assertFailsWith<IllegalArgumentException> { Json.write(Any()) }
    }
}
