package org.gridlight.widget.core

import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

class StateCodecTest {
    private val states =
        listOf(
            WidgetState.Loading,
            WidgetState.Available(snapshot(), "W/\"e\\1\""),
            WidgetState.Available(snapshot(powerKw = linkedMapOf("Overall" to null), level = linkedMapOf("Overall" to null), worst = null), null),
            WidgetState.Unavailable("No connection to the server (timeout)"),
            WidgetState.Unavailable("Server error (HTTP 503): \"quoted\"\n", WidgetState.Available(snapshot(serverStale = true), "\"e\"")),
        )

    @Test fun `every state round-trips`() {
        for (state in states) assertEquals(state, StateCodec.decode(StateCodec.encode(state)))
    }

    @Test fun `encoding is the documented JSON`() {
        assertEquals("""{"codec":1,"kind":"loading"}""", StateCodec.encode(WidgetState.Loading))
        assertEquals("""{"codec":1,"kind":"unavailable","reason":"x","last_good":null}""", StateCodec.encode(WidgetState.Unavailable("x")))
        assertTrue(StateCodec.encode(states[1]).startsWith("""{"codec":1,"kind":"available","etag":"W/\"e\\1\"","snapshot":{"version":1,"""))
    }

    @Test fun `corrupt files raise a clear error`() {
        val cases =
            mapOf(
                "" to "not JSON",
                "[]" to "not an object",
                """{"codec":2,"kind":"loading"}""" to "codec 2.0, expected 1",
                """{"codec":1,"kind":"weird"}""" to "unknown kind weird",
                """{"codec":1,"kind":"unavailable"}""" to "has no reason",
                """{"codec":1,"kind":"unavailable","reason":"x","last_good":3}""" to "last_good is not an object",
                """{"codec":1,"kind":"available"}""" to "has no snapshot",
                """{"codec":1,"kind":"available","etag":1,"snapshot":{}}""" to "etag is not a string",
                """{"codec":1,"kind":"available","snapshot":{"version":1}}""" to "missing \"household\"",
            )
        for ((text, expected) in cases) {
            val err = assertFailsWith<WidgetFormatException>("accepted $text") { StateCodec.decode(text) }
            assertTrue(err.message!!.contains(expected), "\"${err.message}\" should contain \"$expected\"")
        }
    }
}
