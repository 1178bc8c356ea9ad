package org.gridlight.widget

import android.content.Context
import android.util.Log
import androidx.glance.appwidget.updateAll
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.withContext
import org.gridlight.widget.core.HttpFetcher
import org.gridlight.widget.core.HttpRequest
import org.gridlight.widget.core.HttpResponse
import org.gridlight.widget.core.PushHandler
import org.gridlight.widget.core.PushResult
import org.gridlight.widget.core.RefreshResult
import org.gridlight.widget.core.WidgetState
import org.gridlight.widget.core.WidgetStateRepository
import java.io.IOException
import java.net.HttpURLConnection
import java.net.URL

/**
 * The app's side of the data: reads the configuration, runs the core's [WidgetStateRepository]
 * and [PushHandler] against the stored state, stores the outcome and redraws every widget.
 */
class WidgetRepository(
    private val context: Context,
    private val fetcher: HttpFetcher = UrlConnectionFetcher(),
) {
    private val stateStore = WidgetStateDefinition.store(context)

    /** Fetch the widget state (conditional on the stored ETag). Null when not configured yet. */
    suspend fun refresh(): RefreshResult? {
        val config = ConfigStore(context).load()
        if (config == null) {
            store { WidgetState.Unavailable(NOT_CONFIGURED) }
            return null
        }
        val current = stateStore.data.first()
        // signed in with OAuth: the access token (refreshed as needed) instead of the API key
        val tokens = withContext(Dispatchers.IO) { SignIn.tokens(context, config)?.takeIf { it.isSignedIn } }
        val result = withContext(Dispatchers.IO) { WidgetStateRepository(config, fetcher, tokens = tokens).refresh(current) }
        // A push may have been stored while the request was out: keep whichever is newer.
        store { latest -> WidgetStateRepository.merge(latest, result.state) }
        return result
    }

    /** Apply one FCM data message; the ordering check runs inside the store's atomic update. */
    suspend fun applyPush(data: Map<String, String>): PushResult {
        val household = ConfigStore(context).load()?.household ?: return PushResult.Ignore("not configured")
        var outcome: PushResult = PushResult.Ignore("not handled")
        store { current ->
            when (val result = PushHandler.handle(data, household, current)) {
                is PushResult.Apply -> result.state.also { outcome = result }
                is PushResult.Ignore -> current.also { outcome = result }
            }
        }
        val result = outcome
        if (result is PushResult.Ignore) Log.d(TAG, "push ignored: ${result.reason}")
        return result
    }

    /** Forget the stored state (the configured household changed) and show Loading. */
    suspend fun reset() = store { WidgetState.Loading }

    private suspend fun store(transform: (WidgetState) -> WidgetState) {
        stateStore.updateData { transform(it) }
        // Redraw even when unchanged: staleness is judged against the clock at drawing time.
        GridlightWidget().updateAll(context)
    }

    companion object {
        private const val TAG = "GridlightWidget"
        const val NOT_CONFIGURED = "Not set up: open Gridlight to choose a server and household"
    }
}

/** [HttpFetcher] over [HttpURLConnection]: blocking, so call it on [Dispatchers.IO]. */
class UrlConnectionFetcher(
    private val connectTimeoutMs: Int = 10_000,
    private val readTimeoutMs: Int = 15_000,
) : HttpFetcher {
    override fun fetch(request: HttpRequest): HttpResponse {
        val connection = URL(request.url).openConnection() as HttpURLConnection
        try {
            connection.requestMethod = request.method
            connection.connectTimeout = connectTimeoutMs
            connection.readTimeout = readTimeoutMs
            connection.instanceFollowRedirects = false // never replay the API key to another host
            connection.useCaches = false // ETags are handled by the core, not by a hidden cache
            request.headers.forEach { (name, value) -> connection.setRequestProperty(name, value) }
            request.body?.let { body ->
                connection.doOutput = true
                val bytes = body.encodeToByteArray()
                connection.setFixedLengthStreamingMode(bytes.size)
                connection.outputStream.use { it.write(bytes) }
            }
            val status = connection.responseCode
            val stream = if (status >= 400) connection.errorStream else connection.inputStream
            val body = stream?.use { it.readBytes().decodeToString() } ?: ""
            val headers = buildMap {
                connection.headerFields.forEach { (name, values) ->
                    if (name != null && values.isNotEmpty()) put(name, values.last())
                }
            }
            return HttpResponse(status, headers, body)
        } catch (err: IOException) {
            throw err
        } catch (err: RuntimeException) {
            // HttpURLConnection reports some network failures as unchecked exceptions.
            throw IOException(err.message ?: err::class.java.simpleName, err)
        } finally {
            connection.disconnect()
        }
    }
}
