package org.gridlight.widget.core

import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue

/** The widget repository signed in with OAuth: the access token instead of the API key. */
class SignedInRepositoryTest {
    private val config = WidgetConfig("https://gridlight.example.org", "A", null, "cid")
    private val now = 50_000L
    private val ok = { HttpResponse(200, mapOf("ETag" to "\"e1\""), EXAMPLE_JSON) }
    private val expired = { HttpResponse(401, body = """{"error":{"code":"invalid_token","message":"The access token expired"}}""") }

    private fun repo(storage: TokenStorage, fetcher: HttpFetcher): WidgetStateRepository {
        val tokens = TokenHolder(config.oauthClient()!!, fetcher, storage, clock = { now })
        return WidgetStateRepository(config, fetcher, tokens = tokens)
    }

    @Test fun `sends Authorization Bearer with the access token`() {
        val fetcher = FakeFetcher(ok)
        val result = repo(MemoryTokens(Tokens("glat_1", "glrt_1", now + 3000, "read")), fetcher).refresh(WidgetState.Loading)
        assertIs<WidgetState.Available>(result.state)
        assertEquals("Bearer glat_1", fetcher.requests.single().headers["Authorization"])
    }

    @Test fun `the token wins over a key still configured`() {
        val fetcher = FakeFetcher(ok)
        val tokens = TokenHolder(config.oauthClient()!!, fetcher, MemoryTokens(Tokens("glat_1", "glrt_1", now + 3000, null)), clock = { now })
        WidgetStateRepository(config.copy(apiKey = "gl_key"), fetcher, tokens = tokens).refresh(WidgetState.Loading)
        assertEquals("Bearer glat_1", fetcher.requests.single().headers["Authorization"])
    }

    @Test fun `a 401 refreshes once and retries with the new token`() {
        val storage = MemoryTokens(Tokens("glat_1", "glrt_1", now + 3000, "read"))
        val fetcher = FakeFetcher(expired, grant("glat_2", "glrt_2"), ok)
        val result = repo(storage, fetcher).refresh(WidgetState.Loading)
        assertIs<WidgetState.Available>(result.state)
        assertEquals(
            listOf("GET" to "Bearer glat_1", "POST" to null, "GET" to "Bearer glat_2"),
            fetcher.requests.map { it.method to it.headers["Authorization"] },
        )
        assertEquals("glrt_2", storage.tokens?.refreshToken)
    }

    @Test fun `a second 401 is not retried again`() {
        val storage = MemoryTokens(Tokens("glat_1", "glrt_1", now + 3000, "read"))
        val fetcher = FakeFetcher(expired, grant("glat_2", "glrt_2"), expired)
        val result = repo(storage, fetcher).refresh(WidgetState.Loading)
        assertEquals(3, fetcher.requests.size)
        val state = assertIs<WidgetState.Unavailable>(result.state)
        assertTrue(state.reason.startsWith("Access refused (HTTP 401)"), state.reason)
        assertFalse(result.retry)
    }

    @Test fun `an expiring token is refreshed before the request`() {
        val storage = MemoryTokens(Tokens("glat_1", "glrt_1", now + 30, "read"))
        val fetcher = FakeFetcher(grant("glat_2", "glrt_2"), ok)
        repo(storage, fetcher).refresh(WidgetState.Loading)
        assertEquals(listOf(null, "Bearer glat_2"), fetcher.requests.map { it.headers["Authorization"] })
    }

    @Test fun `signed out or a refused refresh makes the widget say so, keeping the last state`() {
        val good = WidgetState.Available(snapshot(), "\"e0\"")
        val none = repo(MemoryTokens(null), FakeFetcher()).refresh(good)
        assertEquals(WidgetState.Unavailable(TokenHolder.NOT_SIGNED_IN, good), none.state)
        val storage = MemoryTokens(Tokens("glat_1", "glrt_1", now + 3000, "read"))
        val fetcher = FakeFetcher(expired, { HttpResponse(400, body = """{"error":"invalid_grant"}""") })
        val ended = repo(storage, fetcher).refresh(good)
        val state = assertIs<WidgetState.Unavailable>(ended.state)
        assertTrue("sign in again" in state.reason, state.reason)
        assertEquals(good, state.lastGood)
        assertNull(storage.tokens)
    }

    @Test fun `the configuration screen checks the client id`() {
        val valid = ConfigValidation.validate("https://g.example", "A", "", " Zq3-_x.y~ ")
        assertEquals(WidgetConfig("https://g.example", "A", null, "Zq3-_x.y~"), (valid as ConfigCheck.Valid).config)
        val invalid = ConfigValidation.validate("https://g.example", "A", "", "no spaces")
        assertTrue(ConfigField.CLIENT_ID in (invalid as ConfigCheck.Invalid).errors)
        assertNull((ConfigValidation.validate("https://g.example", "A", "k") as ConfigCheck.Valid).config.clientId)
    }
}
