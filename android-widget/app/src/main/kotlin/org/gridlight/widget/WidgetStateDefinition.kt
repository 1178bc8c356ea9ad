package org.gridlight.widget

import android.content.Context
import androidx.datastore.core.CorruptionException
import androidx.datastore.core.DataStore
import androidx.datastore.core.Serializer
import androidx.datastore.dataStore
import androidx.datastore.dataStoreFile
import androidx.glance.state.GlanceStateDefinition
import org.gridlight.widget.core.StateCodec
import org.gridlight.widget.core.WidgetFormatException
import org.gridlight.widget.core.WidgetState
import java.io.File
import java.io.InputStream
import java.io.OutputStream

/**
 * Glance state for the widget: one [WidgetState] in a DataStore file, shared by every placed
 * widget (they all show the configured household). The JSON encoding is the core's [StateCodec].
 */
object WidgetStateDefinition : GlanceStateDefinition<WidgetState> {
    private const val FILE_NAME = "gridlight_widget_state"

    private val Context.widgetStateStore: DataStore<WidgetState> by dataStore(FILE_NAME, WidgetStateSerializer)

    override suspend fun getDataStore(context: Context, fileKey: String): DataStore<WidgetState> =
        context.applicationContext.widgetStateStore

    override fun getLocation(context: Context, fileKey: String): File = context.dataStoreFile(FILE_NAME)

    /** The store itself, for the worker and the push service (one instance per process). */
    fun store(context: Context): DataStore<WidgetState> = context.applicationContext.widgetStateStore

    object WidgetStateSerializer : Serializer<WidgetState> {
        override val defaultValue: WidgetState = WidgetState.Loading

        override suspend fun readFrom(input: InputStream): WidgetState =
            try {
                StateCodec.decode(input.readBytes().decodeToString())
            } catch (err: WidgetFormatException) {
                throw CorruptionException("Cannot read the stored widget state: ${err.message}", err)
            }

        override suspend fun writeTo(t: WidgetState, output: OutputStream) {
            output.write(StateCodec.encode(t).encodeToByteArray())
        }
    }
}
