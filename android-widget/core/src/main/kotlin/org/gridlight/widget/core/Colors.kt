package org.gridlight.widget.core

import kotlin.math.max
import kotlin.math.min
import kotlin.math.pow

/** Background and text colour for one rendering of the widget, as ARGB ints. */
data class WidgetColors(val backgroundArgb: Int, val textArgb: Int)

/** Colour choices for the widget and the contrast arithmetic behind them. */
object Colors {
    /**
     * Black, for text on light backgrounds. Pure black, because on red #F44336 even #212121 falls
     * below WCAG AA (4.37:1), and white does worse (3.7:1).
     */
    const val DARK_TEXT_ARGB: Int = 0xFF000000.toInt()

    /** White used for text on dark backgrounds. */
    const val LIGHT_TEXT_ARGB: Int = 0xFFFFFFFF.toInt()

    /** Grey background for stale data: the values are old, so the level colour is withheld. */
    const val STALE_BACKGROUND_ARGB: Int = 0xFF9E9E9E.toInt()

    /** Neutral background while loading or when nothing could be fetched yet. */
    const val NEUTRAL_BACKGROUND_ARGB: Int = 0xFFECEFF1.toInt()

    /** Colours for a state whose worst level is [worst]; grey when [stale], neutral when unknown. */
    fun forWidget(worst: Level?, stale: Boolean): WidgetColors {
        val background =
            when {
                stale -> STALE_BACKGROUND_ARGB
                worst == null -> NEUTRAL_BACKGROUND_ARGB
                else -> worst.backgroundArgb
            }
        return WidgetColors(background, readableTextOn(background))
    }

    /** [DARK_TEXT_ARGB] or [LIGHT_TEXT_ARGB], whichever contrasts more with [backgroundArgb]. */
    fun readableTextOn(backgroundArgb: Int): Int =
        if (contrastRatio(DARK_TEXT_ARGB, backgroundArgb) >= contrastRatio(LIGHT_TEXT_ARGB, backgroundArgb)) {
            DARK_TEXT_ARGB
        } else {
            LIGHT_TEXT_ARGB
        }

    /** WCAG 2 contrast ratio of two opaque colours, from 1 (same) to 21 (black on white). */
    fun contrastRatio(aArgb: Int, bArgb: Int): Double {
        val la = relativeLuminance(aArgb)
        val lb = relativeLuminance(bArgb)
        return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
    }

    /** WCAG 2 relative luminance of an sRGB colour, 0 (black) to 1 (white); alpha is ignored. */
    fun relativeLuminance(argb: Int): Double {
        fun channel(shift: Int): Double {
            val c = ((argb ushr shift) and 0xFF) / 255.0
            return if (c <= 0.04045) c / 12.92 else ((c + 0.055) / 1.055).pow(2.4)
        }
        return 0.2126 * channel(16) + 0.7152 * channel(8) + 0.0722 * channel(0)
    }
}
