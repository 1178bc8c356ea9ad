package org.gridlight.widget

import android.content.Context
import androidx.compose.runtime.Composable
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.unit.dp
import androidx.compose.ui.unit.sp
import androidx.glance.GlanceId
import androidx.glance.GlanceModifier
import androidx.glance.action.clickable
import androidx.glance.appwidget.GlanceAppWidget
import androidx.glance.appwidget.SizeMode
import androidx.glance.appwidget.action.actionRunCallback
import androidx.glance.appwidget.cornerRadius
import androidx.glance.appwidget.provideContent
import androidx.glance.background
import androidx.glance.currentState
import androidx.glance.layout.Alignment
import androidx.glance.layout.Box
import androidx.glance.layout.Column
import androidx.glance.layout.Row
import androidx.glance.layout.Spacer
import androidx.glance.layout.fillMaxSize
import androidx.glance.layout.fillMaxWidth
import androidx.glance.layout.height
import androidx.glance.layout.padding
import androidx.glance.layout.size
import androidx.glance.layout.width
import androidx.glance.semantics.contentDescription
import androidx.glance.semantics.semantics
import androidx.glance.text.FontStyle
import androidx.glance.text.FontWeight
import androidx.glance.text.Text
import androidx.glance.text.TextStyle
import androidx.glance.unit.ColorProvider
import org.gridlight.widget.core.Format
import org.gridlight.widget.core.WidgetPresenter
import org.gridlight.widget.core.WidgetState
import org.gridlight.widget.core.WidgetView
import java.time.Clock
import java.time.ZoneId
import java.util.Locale

/**
 * The home-screen widget: household, time of the last update, one line per channel (Overall,
 * AC, Geyser first), the server's message, on a background coloured by the worst level (grey
 * when stale). Tapping it refreshes. What to show is decided by the core's [WidgetPresenter];
 * this file only lays it out.
 */
class GridlightWidget(private val clock: Clock = Clock.systemUTC()) : GlanceAppWidget() {
    override val stateDefinition = WidgetStateDefinition

    override val sizeMode: SizeMode = SizeMode.Single

    override suspend fun provideGlance(context: Context, id: GlanceId) {
        provideContent {
            val state = currentState<WidgetState>()
            // The device's zone and locale, read at drawing time so a trip abroad shows local time.
            val format = Format(ZoneId.systemDefault(), Locale.getDefault())
            WidgetContent(state, WidgetPresenter.present(state, clock.instant(), format))
        }
    }
}

@Composable
private fun WidgetContent(state: WidgetState, view: WidgetView) {
    val text = ColorProvider(Color(view.colors.textArgb))
    Column(
        modifier = GlanceModifier
            .fillMaxSize()
            .background(Color(view.colors.backgroundArgb))
            .cornerRadius(16.dp)
            .padding(12.dp)
            .clickable(actionRunCallback<RefreshAction>()),
    ) {
        Text(
            text = view.title,
            style = TextStyle(color = text, fontSize = 15.sp, fontWeight = FontWeight.Bold),
            maxLines = 1,
        )
        when (state) {
            WidgetState.Loading -> Note(view.note, text)
            is WidgetState.Available -> Values(view, text)
            is WidgetState.Unavailable -> if (state.lastGood != null) Values(view, text) else Note(view.note, text)
        }
    }
}

@Composable
private fun Values(view: WidgetView, text: ColorProvider) {
    view.updatedText?.let {
        Text(text = "Updated $it", style = TextStyle(color = text, fontSize = 11.sp), maxLines = 1)
    }
    Spacer(GlanceModifier.height(6.dp))
    for (line in view.lines) {
        Row(
            modifier = GlanceModifier.fillMaxWidth().padding(vertical = 1.dp),
            verticalAlignment = Alignment.CenterVertically,
        ) {
            LevelDot(line.level?.backgroundArgb, view.colors.textArgb, line.level?.wire ?: "no level")
            Spacer(GlanceModifier.width(6.dp))
            Text(
                text = line.channel,
                style = TextStyle(color = text, fontSize = 13.sp),
                modifier = GlanceModifier.defaultWeight(),
                maxLines = 1,
            )
            Text(text = line.powerText, style = TextStyle(color = text, fontSize = 13.sp, fontWeight = FontWeight.Medium))
        }
    }
    if (view.message.isNotEmpty()) {
        Spacer(GlanceModifier.height(4.dp))
        Text(text = view.message, style = TextStyle(color = text, fontSize = 12.sp), maxLines = 2)
    }
    Note(view.note, text)
}

/** A dot in the channel's level colour, ringed in the text colour so it shows on any background. */
@Composable
private fun LevelDot(levelArgb: Int?, ringArgb: Int, description: String) {
    Box(
        modifier = GlanceModifier
            .size(10.dp)
            .cornerRadius(5.dp)
            .background(Color(ringArgb))
            .semantics { contentDescription = description },
        contentAlignment = Alignment.Center,
    ) {
        if (levelArgb != null) {
            Box(modifier = GlanceModifier.size(7.dp).cornerRadius(4.dp).background(Color(levelArgb))) {}
        }
    }
}

@Composable
private fun Note(note: String?, text: ColorProvider) {
    if (note == null) return
    Spacer(GlanceModifier.height(4.dp))
    Text(text = note, style = TextStyle(color = text, fontSize = 11.sp, fontStyle = FontStyle.Italic), maxLines = 3)
}
