package org.gridlight.widget.core

import org.junit.Test
import java.time.Instant
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue

class WidgetJsonTest {
    private fun bad(text: String, expected: String) {
        val err = assertFailsWith<WidgetFormatException>("accepted $text") { WidgetJson.parse(text) }
        assertTrue(err.message!!.contains(expected), "message \"${err.message}\" should contain \"$expected\"")
    }

    /** The example payload with [field] replaced by raw JSON [value] (or removed when null). */
    private fun with(field: String, value: String?): String {
        val map = LinkedHashMap(Json.parse(EXAMPLE_JSON) as Map<*, *>)
        if (value == null) map.remove(field) else map[field] = Json.parse(value)
        return Json.write(map)
    }

    @Test fun `parses the contract example`() {
        val s = WidgetJson.parse(EXAMPLE_JSON)
        assertEquals(snapshot(), s)
        assertEquals(1, s.version)
        assertEquals("Household A (day worker)", s.name)
        assertEquals(Instant.parse("2026-11-22T06:25:55Z"), s.asOf)
        assertEquals(StreamId(1763792750000, 0), s.seq)
        assertEquals(60, s.intervalS)
        assertEquals(listOf("Overall", "AC", "Geyser"), s.powerKw.keys.toList())
        assertEquals(2.31, s.powerKw["Overall"])
        assertEquals(0.0, s.powerKw["Geyser"], "a real zero stays zero")
        assertEquals(Level.YELLOW, s.worst)
        assertEquals("Above usual use", s.message)
        assertFalse(s.serverStale)
    }

    @Test fun `null power means unavailable, not zero`() {
        val s = WidgetJson.parse(with("power_kw", """{"Overall":null,"AC":1.5}"""))
        assertTrue(s.powerKw.containsKey("Overall"))
        assertNull(s.powerKw["Overall"])
        val levels = WidgetJson.parse(with("level", """{"Overall":null,"AC":"red"}""")).level
        assertNull(levels["Overall"])
        assertEquals(Level.RED, levels["AC"])
    }

    @Test fun `ignores unknown fields and reads newer versions as version 1`() {
        val text = with("version", "2").dropLast(1) + ""","extra":{"deep":[1,2,{"x":null}]},"colour_hint":"#fff"}"""
        val s = WidgetJson.parse(text)
        assertEquals(2, s.version)
        assertEquals(snapshot().copy(version = 2), s)
    }

    @Test fun `optional fields take their defaults`() {
        val minimal = """{"version":1,"household":"B","as_of":"2026-11-22T06:25:55Z","seq":"5-1","interval_s":5,"power_kw":{"Overall":0.4}}"""
        val s = WidgetJson.parse(minimal)
        assertEquals("B", s.name)
        assertEquals("", s.message)
        assertFalse(s.serverStale)
        assertTrue(s.level.isEmpty())
        assertNull(s.worst)
        assertEquals(Level.RED, WidgetJson.parse(with("worst", null).replace("\"AC\":\"green\"", "\"AC\":\"red\"")).worst, "worst derived from levels")
        assertNull(WidgetJson.parse(with("worst", "null")).worst, "explicit null worst")
    }

    @Test fun `accepts as_of with an offset and converts it to UTC`() {
        assertEquals(Instant.parse("2026-11-22T00:55:55Z"), WidgetJson.parse(with("as_of", "\"2026-11-22T06:25:55+05:30\"")).asOf)
        assertEquals(Instant.parse("2026-11-22T06:25:55.250Z"), WidgetJson.parse(with("as_of", "\"2026-11-22T06:25:55.25Z\"")).asOf)
    }

    @Test fun `names the bad field`() {
        bad("[]", "expected a JSON object, got an array")
        bad("{\"version\":1,", "not JSON: expected a string key")
        bad(with("version", null), "missing \"version\"")
        bad(with("version", "0"), "\"version\" must be 1 or more, got 0")
        bad(with("version", "1.5"), "\"version\" must be an integer, got 1.5")
        bad(with("version", "\"1\""), "\"version\" must be an integer, got a string")
        bad(with("household", null), "missing \"household\"")
        bad(with("household", "\"\""), "\"household\" must not be empty")
        bad(with("household", "7"), "\"household\" must be a string, got a number")
        bad(with("as_of", "\"yesterday\""), "\"as_of\" must be an ISO 8601 time with offset, got \"yesterday\"")
        bad(with("as_of", "\"2026-11-22T06:25:55\""), "\"as_of\" must be an ISO 8601 time with offset")
        bad(with("seq", "\"abc\""), "\"seq\" must look like \"1763792750000-0\", got \"abc\"")
        bad(with("seq", "1"), "\"seq\" must be a string, got a number")
        bad(with("interval_s", "0"), "\"interval_s\" must be positive, got 0")
        bad(with("interval_s", "-60"), "\"interval_s\" must be positive, got -60")
        bad(with("interval_s", "1e10"), "\"interval_s\" must be an integer")
        bad(with("power_kw", null), "missing \"power_kw\"")
        bad(with("power_kw", "[1]"), "\"power_kw\" must be an object, got an array")
        bad(with("power_kw", """{"AC":"1.5"}"""), "\"power_kw.AC\" must be a number or null, got a string")
        bad(with("level", """{"AC":"blue"}"""), "\"level.AC\" must be one of green, yellow, red, critical or null, got \"blue\"")
        bad(with("level", """{"AC":3}"""), "\"level.AC\" must be a level string or null, got a number")
        bad(with("worst", "\"Critical Red\""), "\"worst\" must be one of")
        bad(with("stale", "\"no\""), "\"stale\" must be true or false, got a string")
        bad(with("message", "[]"), "\"message\" must be a string, got an array")
    }

    @Test fun `mangled payloads give a format error, never another exception`() {
        // Deterministic: every truncation, plus seeded random edits of the example.
        val random = kotlin.random.Random(20261122)
        val alphabet = "{}[]\",:0123456789.-+eE \\unltrfa\u0000\uD83D"
        val inputs = EXAMPLE_JSON.indices.map { EXAMPLE_JSON.substring(0, it) }.toMutableList()
        repeat(3000) {
            val chars = StringBuilder(EXAMPLE_JSON)
            repeat(1 + random.nextInt(3)) {
                val at = random.nextInt(chars.length)
                when (random.nextInt(3)) {
                    0 -> chars.deleteCharAt(at)
                    1 -> chars.insert(at, alphabet[random.nextInt(alphabet.length)])
                    else -> chars.setCharAt(at, alphabet[random.nextInt(alphabet.length)])
                }
            }
            inputs += chars.toString()
        }
        var parsed = 0
        for (text in inputs) {
            try {
                WidgetJson.parse(text)
                parsed++
            } catch (expected: WidgetFormatException) {
                assertTrue(expected.message!!.isNotBlank())
            }
        }
        // Some edits (inside strings, digits) still give a valid payload; most do not.
        assertTrue(parsed in 1 until inputs.size / 2, "parsed $parsed of ${inputs.size}")
    }

    @Test fun `write produces the wire format and round-trips`() {
        val s = snapshot(powerKw = linkedMapOf("Overall" to 2.31, "AC" to null), level = linkedMapOf("Overall" to Level.CRITICAL, "AC" to null), worst = Level.CRITICAL, serverStale = true)
        val text = WidgetJson.write(s)
        assertTrue(text.startsWith("""{"version":1,"household":"A","name":"Household A (day worker)","as_of":"2026-11-22T06:25:55Z","seq":"1763792750000-0","interval_s":60,"power_kw":{"Overall":2.31,"AC":null}"""), text)
        assertTrue(text.contains(""""worst":"critical""""), text)
        assertEquals(s, WidgetJson.parse(text))
        assertEquals(snapshot(), WidgetJson.parse(WidgetJson.write(WidgetJson.parse(EXAMPLE_JSON))))
    }
}
