package org.gridlight.widget.core

import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertNull
import kotlin.test.assertTrue

class ColorsTest {
    @Test fun `levels carry the contract colours`() {
        assertEquals(0xFF4CAF50.toInt(), Level.GREEN.backgroundArgb)
        assertEquals(0xFFFFEB3B.toInt(), Level.YELLOW.backgroundArgb)
        assertEquals(0xFFF44336.toInt(), Level.RED.backgroundArgb)
        assertEquals(0xFFB71C1C.toInt(), Level.CRITICAL.backgroundArgb)
        assertTrue(Colors.relativeLuminance(Level.CRITICAL.backgroundArgb) < Colors.relativeLuminance(Level.RED.backgroundArgb), "critical is darker than red")
    }

    @Test fun `wire names and severity order`() {
        assertEquals(listOf("green", "yellow", "red", "critical"), Level.entries.map { it.wire })
        assertEquals(Level.CRITICAL, Level.fromWire("critical"))
        assertNull(Level.fromWire("Critical Red"))
        assertNull(Level.fromWire("GREEN"))
        assertEquals(Level.RED, Level.worstOf(listOf(Level.GREEN, null, Level.RED, Level.YELLOW)))
        assertNull(Level.worstOf(listOf(null)))
    }

    @Test fun `luminance and contrast follow WCAG`() {
        assertEquals(0.0, Colors.relativeLuminance(0xFF000000.toInt()))
        assertEquals(1.0, Colors.relativeLuminance(0xFFFFFFFF.toInt()), 1e-12)
        assertEquals(21.0, Colors.contrastRatio(0xFF000000.toInt(), 0xFFFFFFFF.toInt()), 1e-9)
        assertEquals(1.0, Colors.contrastRatio(0xFF4CAF50.toInt(), 0xFF4CAF50.toInt()), 1e-12)
        // #777777 on white is the textbook 4.48:1.
        assertEquals(4.48, Colors.contrastRatio(0xFF777777.toInt(), 0xFFFFFFFF.toInt()), 0.01)
    }

    @Test fun `text is readable on every background`() {
        val backgrounds = Level.entries.map { it.backgroundArgb } + Colors.STALE_BACKGROUND_ARGB + Colors.NEUTRAL_BACKGROUND_ARGB
        for (bg in backgrounds) {
            val text = Colors.readableTextOn(bg)
            val ratio = Colors.contrastRatio(text, bg)
            assertTrue(ratio >= 4.5, "text %08X on %08X has contrast %.2f < 4.5".format(text, bg, ratio))
        }
        assertEquals(Colors.DARK_TEXT_ARGB, Level.YELLOW.textArgb)
        assertEquals(Colors.LIGHT_TEXT_ARGB, Level.CRITICAL.textArgb)
    }

    @Test fun `widget colours by worst level, grey when stale, neutral when unknown`() {
        assertEquals(WidgetColors(Level.RED.backgroundArgb, Level.RED.textArgb), Colors.forWidget(Level.RED, stale = false))
        assertEquals(Colors.STALE_BACKGROUND_ARGB, Colors.forWidget(Level.CRITICAL, stale = true).backgroundArgb)
        assertEquals(Colors.NEUTRAL_BACKGROUND_ARGB, Colors.forWidget(null, stale = false).backgroundArgb)
    }
}
