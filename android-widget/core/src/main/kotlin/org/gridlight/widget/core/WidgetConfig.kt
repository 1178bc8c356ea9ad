package org.gridlight.widget.core

import java.net.URI
import java.net.URISyntaxException

/**
 * Where the widget gets its data: [serverUrl] without a trailing slash, the [household] id, and
 * the household's [apiKey] (null in demo mode, where the server needs none, or when signed in),
 * and the app's OAuth [clientId] on that server (null: no sign-in, the key is used).
 */
data class WidgetConfig(val serverUrl: String, val household: String, val apiKey: String?, val clientId: String? = null) {
    override fun toString(): String =
        "WidgetConfig(serverUrl=$serverUrl, household=$household, apiKey=${if (apiKey == null) "none" else "set"}, clientId=$clientId)"

    /** The OAuth client for this server, or null without a client id. */
    fun oauthClient(): OAuthClient? = clientId?.let { OAuthClient(it, OAuthEndpoints.of(serverUrl)) }
}

/** A field of the configuration screen. */
enum class ConfigField { SERVER_URL, HOUSEHOLD, API_KEY, CLIENT_ID }

/** The outcome of checking what the user typed on the configuration screen. */
sealed interface ConfigCheck {
    data class Valid(val config: WidgetConfig) : ConfigCheck

    /** One message per bad field, each naming the bad value and what was expected. */
    data class Invalid(val errors: Map<ConfigField, String>) : ConfigCheck
}

/** Validates the configuration screen's input. */
object ConfigValidation {
    private val HOUSEHOLD = Regex("[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
    private val API_KEY = Regex("[\\x21-\\x7E]{1,512}")
    private val CLIENT_ID = Regex("[A-Za-z0-9._~-]{1,128}")

    /** Hosts reachable over plain http: the device itself and the Android emulator's host alias. */
    private val CLEARTEXT_HOSTS = setOf("localhost", "127.0.0.1", "10.0.2.2", "[::1]", "::1")

    fun validate(serverUrl: String, household: String, apiKey: String, clientId: String = ""): ConfigCheck {
        val errors = LinkedHashMap<ConfigField, String>()
        val url = checkServerUrl(serverUrl.trim()) { errors[ConfigField.SERVER_URL] = it }
        val id = household.trim()
        if (!HOUSEHOLD.matches(id)) {
            errors[ConfigField.HOUSEHOLD] =
                if (id.isEmpty()) {
                    "Enter the household id, e.g. A"
                } else {
                    "Household id \"$id\" may only hold letters, digits, '-' and '_' (at most 64)"
                }
        }
        val key = apiKey.trim()
        if (key.isNotEmpty() && !API_KEY.matches(key)) {
            errors[ConfigField.API_KEY] = "The API key must be printable ASCII without spaces, at most 512 characters"
        }
        val client = clientId.trim()
        if (client.isNotEmpty() && !CLIENT_ID.matches(client)) {
            errors[ConfigField.CLIENT_ID] =
                "The app's client id is what `python -m server oauth-clients add` printed (letters, digits, - . _ ~)"
        }
        return if (errors.isEmpty() && url != null) {
            ConfigCheck.Valid(WidgetConfig(url, id, key.ifEmpty { null }, client.ifEmpty { null }))
        } else {
            ConfigCheck.Invalid(errors)
        }
    }

    private fun checkServerUrl(text: String, error: (String) -> Unit): String? {
        if (text.isEmpty()) {
            error("Enter the server URL, e.g. https://gridlight.example.org")
            return null
        }
        val uri =
            try {
                URI(text)
            } catch (err: URISyntaxException) {
                error("\"$text\" is not a URL: ${err.reason}")
                return null
            }
        val scheme = uri.scheme?.lowercase()
        val host = uri.host
        when {
            scheme != "https" && scheme != "http" -> error("\"$text\" must start with https://")
            host.isNullOrEmpty() -> error("\"$text\" has no host name")
            uri.rawUserInfo != null -> error("\"$text\" must not contain a user name or password")
            uri.rawQuery != null || uri.rawFragment != null -> error("\"$text\" must not have a query or fragment")
            scheme == "http" && host.lowercase() !in CLEARTEXT_HOSTS ->
                error("\"$text\" must use https:// (plain http is allowed only for localhost and the emulator's 10.0.2.2)")
            else -> {
                val port = if (uri.port == -1) "" else ":${uri.port}"
                val path = (uri.rawPath ?: "").trimEnd('/')
                return "$scheme://${host.lowercase()}$port$path"
            }
        }
        return null
    }
}

/** The widget API's URLs and requests for one [config] (contract in `android-widget/README.md`). */
class WidgetApi(private val config: WidgetConfig) {
    private val householdUrl = "${config.serverUrl}/api/v1/households/${config.household}"

    /** `GET {server}/api/v1/households/{h}/widget?interval={intervalS}`. */
    fun widgetUrl(intervalS: Int): String {
        require(intervalS > 0) { "interval must be a positive number of seconds, got $intervalS" }
        return "$householdUrl/widget?interval=$intervalS"
    }

    /** `{server}/api/v1/households/{h}/devices`. */
    val devicesUrl: String get() = "$householdUrl/devices"

    /**
     * Headers every request carries: JSON accepted, and `Authorization: Bearer` with the OAuth
     * access token [bearer] when signed in, else the API key when there is one.
     */
    fun baseHeaders(bearer: String? = null): Map<String, String> =
        buildMap {
            put("Accept", "application/json")
            (bearer ?: config.apiKey)?.let { put("Authorization", "Bearer $it") }
        }

    /** The widget-state fetch, conditional on [etag] when one is known. */
    fun widgetRequest(intervalS: Int, etag: String?, bearer: String? = null): HttpRequest =
        HttpRequest("GET", widgetUrl(intervalS), baseHeaders(bearer) + listOfNotNull(etag?.let { "If-None-Match" to it }))

    /** `POST …/devices` with `{"token": token, "platform": "android"}`: register for pushes. */
    fun registerDeviceRequest(token: String, bearer: String? = null): HttpRequest {
        require(token.isNotBlank()) { "push token must not be blank" }
        return HttpRequest(
            "POST",
            devicesUrl,
            baseHeaders(bearer) + ("Content-Type" to "application/json"),
            Json.write(linkedMapOf("token" to token, "platform" to "android")),
        )
    }

    /** `DELETE …/devices` with `{"token": token}`: stop pushes to this device for this household. */
    fun unregisterDeviceRequest(token: String, bearer: String? = null): HttpRequest {
        require(token.isNotBlank()) { "push token must not be blank" }
        return HttpRequest(
            "DELETE",
            devicesUrl,
            baseHeaders(bearer) + ("Content-Type" to "application/json"),
            Json.write(mapOf("token" to token)),
        )
    }
}

/** A push token shortened for logs: tokens are credentials and are never logged whole. */
fun redactToken(token: String): String = if (token.length <= 8) "\u2026" else token.take(6) + "\u2026(${token.length})"
