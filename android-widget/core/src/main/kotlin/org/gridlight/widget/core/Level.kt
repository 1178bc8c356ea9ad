package org.gridlight.widget.core

/**
 * The traffic-light level of one channel, in increasing severity.
 *
 * [wire] is the spelling in the widget JSON and FCM payloads. Colours are ARGB ints, ready for
 * `androidx.compose.ui.graphics.Color(argb)`; [textArgb] is whichever of black and white
 * reads better on [backgroundArgb] (WCAG contrast, see [Colors.contrastRatio]).
 */
enum class Level(val wire: String, val backgroundArgb: Int) {
    GREEN("green", 0xFF4CAF50.toInt()),
    YELLOW("yellow", 0xFFFFEB3B.toInt()),
    RED("red", 0xFFF44336.toInt()),
    CRITICAL("critical", 0xFFB71C1C.toInt()),
    ;

    /** Text colour with the higher contrast on [backgroundArgb]. */
    val textArgb: Int get() = Colors.readableTextOn(backgroundArgb)

    companion object {
        /** The level spelled [wire] (`green`, `yellow`, `red`, `critical`), or null if unknown. */
        fun fromWire(wire: String): Level? = entries.firstOrNull { it.wire == wire }

        /** The most severe of [levels], or null when there are none. */
        fun worstOf(levels: Iterable<Level?>): Level? = levels.filterNotNull().maxOrNull()
    }
}
