package org.gridlight.widget.core

import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue

class WidgetConfigTest {
    private fun valid(url: String, household: String = "A", key: String = ""): WidgetConfig {
        val check = ConfigValidation.validate(url, household, key)
        assertIs<ConfigCheck.Valid>(check, "rejected $url / $household")
        return check.config
    }

    private fun invalid(url: String, household: String, key: String): Map<ConfigField, String> {
        val check = ConfigValidation.validate(url, household, key)
        assertIs<ConfigCheck.Invalid>(check, "accepted $url / $household / $key")
        return check.errors
    }

    @Test fun `normalises valid input`() {
        assertEquals(WidgetConfig("https://gridlight.example.org", "A", null), valid(" https://GridLight.example.org/ ", " A "))
        assertEquals("https://example.org:8443/gridlight", valid("https://example.org:8443/gridlight//").serverUrl)
        assertEquals("http://10.0.2.2:5000", valid("http://10.0.2.2:5000").serverUrl)
        assertEquals("http://localhost:5000", valid("http://localhost:5000/").serverUrl)
        assertEquals("k3y-\$abc", valid("https://e.org", "house_1-b", " k3y-\$abc ").apiKey)
        assertEquals("house_1-b", valid("https://e.org", "house_1-b").household)
    }

    @Test fun `names each bad field and value`() {
        val errors = invalid("ftp://e.org", "A/../B", "has space")
        assertEquals(setOf(ConfigField.SERVER_URL, ConfigField.HOUSEHOLD, ConfigField.API_KEY), errors.keys)
        assertEquals("\"ftp://e.org\" must start with https://", errors[ConfigField.SERVER_URL])
        assertEquals("Household id \"A/../B\" may only hold letters, digits, '-' and '_' (at most 64)", errors[ConfigField.HOUSEHOLD])
        assertTrue(errors[ConfigField.API_KEY]!!.contains("printable ASCII without spaces"))
    }

    @Test fun `server URL rules`() {
        val cases =
            mapOf(
                "" to "Enter the server URL",
                "gridlight.example.org" to "must start with https://",
                "https://" to "is not a URL",
                "https:///path" to "has no host name",
                "http://gridlight.example.org" to "must use https://",
                "https://user:pw@e.org" to "must not contain a user name or password",
                "https://e.org/?x=1" to "must not have a query or fragment",
                "https://e.org/#top" to "must not have a query or fragment",
                "https://e .org" to "is not a URL",
            )
        for ((url, expected) in cases) {
            val message = invalid(url, "A", "")[ConfigField.SERVER_URL]!!
            assertTrue(message.contains(expected), "for \"$url\": \"$message\" should contain \"$expected\"")
        }
    }

    @Test fun `household rules`() {
        assertEquals("Enter the household id, e.g. A", invalid("https://e.org", "  ", "")[ConfigField.HOUSEHOLD])
        invalid("https://e.org", "-A", "")
        invalid("https://e.org", "A".repeat(65), "")
        invalid("https://e.org", "Å", "")
        valid("https://e.org", "A".repeat(64))
    }

    @Test fun `api key is optional and never printed`() {
        assertNull(valid("https://e.org", "A", "   ").apiKey)
        invalid("https://e.org", "A", "x".repeat(513))
        invalid("https://e.org", "A", "tab\tkey")
        assertFalse(WidgetConfig("https://e.org", "A", "s3cret").toString().contains("s3cret"))
    }

    @Test fun `api builds the contract's requests`() {
        val api = WidgetApi(WidgetConfig("https://e.org/g", "A", "k3y"))
        assertEquals("https://e.org/g/api/v1/households/A/widget?interval=60", api.widgetUrl(60))
        val conditional = api.widgetRequest(60, "\"v1\"")
        assertEquals(mapOf("Accept" to "application/json", "Authorization" to "Bearer k3y", "If-None-Match" to "\"v1\""), conditional.headers)
        val register = api.registerDeviceRequest("tok:en")
        assertEquals("POST", register.method)
        assertEquals("https://e.org/g/api/v1/households/A/devices", register.url)
        assertEquals("""{"token":"tok:en","platform":"android"}""", register.body)
        assertEquals("application/json", register.headers["Content-Type"])
        assertEquals("Bearer k3y", register.headers["Authorization"])
        val unregister = api.unregisterDeviceRequest("tok:en")
        assertEquals("DELETE", unregister.method)
        assertEquals("""{"token":"tok:en"}""", unregister.body)
        assertNull(WidgetApi(WidgetConfig("https://e.org", "A", null)).registerDeviceRequest("t").headers["Authorization"])
        assertFailsWith<IllegalArgumentException> { api.registerDeviceRequest(" ") }
        assertFailsWith<IllegalArgumentException> { api.widgetUrl(0) }
    }

    @Test fun `tokens are redacted for logs`() {
        val token = "dGhpcyBpcyBhIHZlcnkgbG9uZyBGQ00gdG9rZW4"
        val shown = redactToken(token)
        assertEquals("dGhpcy\u2026(${token.length})", shown)
        assertFalse(shown.contains(token.substring(6, 12)))
        assertEquals("\u2026", redactToken("short"))
    }
}
