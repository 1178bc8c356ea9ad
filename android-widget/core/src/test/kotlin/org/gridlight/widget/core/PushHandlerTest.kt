package org.gridlight.widget.core

import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertIs
import kotlin.test.assertTrue

class PushHandlerTest {
    private fun message(seq: String = "1763792760000-0", state: WidgetSnapshot = snapshot(seq = seq)) =
        mapOf("type" to "widget_state", "household" to "A", "seq" to seq, "state" to WidgetJson.write(state))

    private fun ignored(result: PushResult, expected: String) {
        assertIs<PushResult.Ignore>(result)
        assertTrue(result.reason.contains(expected), "\"${result.reason}\" should contain \"$expected\"")
    }

    @Test fun `applies a newer state without an ETag`() {
        val result = PushHandler.handle(message(), "A", WidgetState.Available(snapshot(), "\"e\""))
        assertEquals(PushResult.Apply(WidgetState.Available(snapshot(seq = "1763792760000-0"), null)), result)
    }

    @Test fun `applies the contract example onto nothing or an error`() {
        val data = mapOf("type" to "widget_state", "household" to "A", "seq" to "1763792750000-0", "state" to EXAMPLE_JSON)
        assertIs<PushResult.Apply>(PushHandler.handle(data, "A", WidgetState.Loading))
        assertIs<PushResult.Apply>(PushHandler.handle(data, "A", WidgetState.Unavailable("API key rejected (HTTP 401)")))
    }

    @Test fun `ignores states not newer than the stored one, comparing ms-seq numerically`() {
        val stored = WidgetState.Available(snapshot(seq = "1763792750000-10"), null)
        ignored(PushHandler.handle(message("1763792750000-10"), "A", stored), "not newer than the stored 1763792750000-10")
        ignored(PushHandler.handle(message("1763792750000-9"), "A", stored), "not newer")
        ignored(PushHandler.handle(message("1763792749999-99"), "A", stored), "not newer")
        assertIs<PushResult.Apply>(PushHandler.handle(message("1763792750000-11"), "A", stored))
        assertIs<PushResult.Apply>(PushHandler.handle(message("1763792750001-0"), "A", stored))
        // The last good state kept inside an error counts too.
        ignored(PushHandler.handle(message("1763792750000-2"), "A", WidgetState.Unavailable("x", stored)), "not newer")
    }

    @Test fun `ignores other types, households and malformed messages`() {
        ignored(PushHandler.handle(mapOf("type" to "alert"), "A", WidgetState.Loading), "not a widget state message (type=alert)")
        ignored(PushHandler.handle(emptyMap(), "A", WidgetState.Loading), "type=null")
        ignored(PushHandler.handle(message() + ("household" to "B"), "A", WidgetState.Loading), "household \"B\"")
        ignored(PushHandler.handle(message() - "seq", "A", WidgetState.Loading), "no seq")
        ignored(PushHandler.handle(message() + ("seq" to "soon"), "A", WidgetState.Loading), "bad seq \"soon\"")
        ignored(PushHandler.handle(message() - "state", "A", WidgetState.Loading), "no state")
        ignored(PushHandler.handle(message() + ("state" to "{\"version\":"), "A", WidgetState.Loading), "bad state: not JSON")
        ignored(PushHandler.handle(message() + ("state" to "{}"), "A", WidgetState.Loading), "bad state: missing \"version\"")
        ignored(PushHandler.handle(message() + ("seq" to "1763792770000-0"), "A", WidgetState.Loading), "does not match the state's seq")
        ignored(PushHandler.handle(message(state = snapshot(seq = "1763792760000-0", household = "B")), "A", WidgetState.Loading), "state for household \"B\"")
    }
}
