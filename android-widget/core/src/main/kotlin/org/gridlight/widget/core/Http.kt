package org.gridlight.widget.core

import java.io.IOException

/** One HTTP request as the core builds it; the app's fetcher sends it (HttpURLConnection). */
data class HttpRequest(
    val method: String,
    val url: String,
    val headers: Map<String, String> = emptyMap(),
    val body: String? = null,
)

/** One HTTP response; header names compare case-insensitively. */
class HttpResponse(val status: Int, headers: Map<String, String> = emptyMap(), val body: String = "") {
    private val headers: Map<String, String> = headers.mapKeys { it.key.lowercase() }

    /** The value of header [name] (any case), or null. */
    fun header(name: String): String? = headers[name.lowercase()]

    override fun toString(): String = "HttpResponse(status=$status, headers=$headers, body=${body.take(200)})"
}

/** Sends a request and returns the response, whatever its status. */
fun interface HttpFetcher {
    /** @throws IOException when no response arrives (no network, timeout, TLS failure). */
    @Throws(IOException::class)
    fun fetch(request: HttpRequest): HttpResponse
}

/** Reads the API's error shape `{"error": {"code": "...", "message": "..."}}`, if the body has it. */
internal fun apiErrorMessage(body: String): String? {
    val root = runCatching { Json.parse(body) }.getOrNull() as? Map<*, *> ?: return null
    val error = root["error"]
    val message =
        when (error) {
            is Map<*, *> -> error["message"] as? String
            is String -> error // the compatibility routes' {"error": "..."}
            else -> null
        }
    return message?.trim()?.take(120)?.takeIf { it.isNotEmpty() }
}
