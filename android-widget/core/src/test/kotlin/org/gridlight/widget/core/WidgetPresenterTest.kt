package org.gridlight.widget.core

import org.junit.Test
import java.time.ZoneId
import java.util.Locale
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue

class WidgetPresenterTest {
    private val format = Format(ZoneId.of("Asia/Kolkata"), Locale.UK)
    private val fresh = EXAMPLE_AS_OF.plusSeconds(30)
    private val late = EXAMPLE_AS_OF.plusSeconds(3600)

    @Test fun `loading shows the app title on neutral colours`() {
        val view = WidgetPresenter.present(WidgetState.Loading, fresh, format)
        assertEquals("Gridlight", view.title)
        assertTrue(view.lines.isEmpty())
        assertEquals("Loading\u2026", view.note)
        assertEquals(Colors.NEUTRAL_BACKGROUND_ARGB, view.colors.backgroundArgb)
    }

    @Test fun `available shows household, time, lines and the worst colour`() {
        val view = WidgetPresenter.present(WidgetState.Available(snapshot(), "\"e1\""), fresh, format)
        assertEquals("Household A (day worker)", view.title)
        assertEquals("11:55", view.updatedText)
        assertEquals(
            listOf(ChannelLine("Overall", "2.31 kW", Level.YELLOW), ChannelLine("AC", "1.50 kW", Level.GREEN), ChannelLine("Geyser", "0.00 kW", Level.GREEN)),
            view.lines,
        )
        assertEquals("Above usual use", view.message)
        assertNull(view.note)
        assertFalse(view.stale)
        assertEquals(Colors.forWidget(Level.YELLOW, false), view.colors)
    }

    @Test fun `stale values are greyed and say so`() {
        val view = WidgetPresenter.present(WidgetState.Available(snapshot(worst = Level.CRITICAL), null), late, format)
        assertTrue(view.stale)
        assertEquals("stale", view.note)
        assertEquals(Colors.STALE_BACKGROUND_ARGB, view.colors.backgroundArgb)
        assertEquals("2.31 kW", view.lines.first().powerText, "values still shown")
    }

    @Test fun `unavailable keeps showing the last good values with the reason`() {
        val lastGood = WidgetState.Available(snapshot(worst = Level.RED), "\"e1\"")
        val fresh = WidgetPresenter.present(WidgetState.Unavailable("Server error (HTTP 503)", lastGood), this.fresh, format)
        assertEquals("Server error (HTTP 503)", fresh.note)
        assertEquals(Level.RED.backgroundArgb, fresh.colors.backgroundArgb, "a failed refresh does not make fresh values wrong")
        val old = WidgetPresenter.present(WidgetState.Unavailable("Server error (HTTP 503)", lastGood), late, format)
        assertEquals("stale \u00B7 Server error (HTTP 503)", old.note)
        assertEquals(Colors.STALE_BACKGROUND_ARGB, old.colors.backgroundArgb)
    }

    @Test fun `unavailable with nothing to show gives the reason`() {
        val view = WidgetPresenter.present(WidgetState.Unavailable("API key rejected (HTTP 401)"), fresh, format)
        assertEquals("Gridlight", view.title)
        assertEquals("API key rejected (HTTP 401)", view.note)
        assertNull(view.updatedText)
        assertTrue(view.lines.isEmpty())
    }

    @Test fun `unavailable meters show a dash`() {
        val s = snapshot(powerKw = linkedMapOf("Overall" to null, "AC" to 1.0), level = linkedMapOf("Overall" to null, "AC" to Level.GREEN))
        val lines = WidgetPresenter.present(WidgetState.Available(s, null), fresh, format).lines
        assertEquals(ChannelLine("Overall", "\u2014", null), lines[0])
    }

    @Test fun `preferred channels first, others after, capped`() {
        val s =
            snapshot(
                powerKw = linkedMapOf("Kitchen" to 0.1, "Geyser" to 0.2, "Laundry" to 0.3, "Overall" to 0.4, "HeaterAC" to 0.5),
                level = linkedMapOf("Spare" to Level.GREEN),
            )
        assertEquals(listOf("Overall", "Geyser", "Kitchen", "Laundry", "HeaterAC", "Spare"), WidgetPresenter.orderedChannels(s))
        val lines = WidgetPresenter.present(WidgetState.Available(s, null), fresh, format).lines
        assertEquals(listOf("Overall", "Geyser", "Kitchen", "Laundry"), lines.map { it.channel })
        assertEquals(WidgetPresenter.MAX_LINES, lines.size)
    }
}
