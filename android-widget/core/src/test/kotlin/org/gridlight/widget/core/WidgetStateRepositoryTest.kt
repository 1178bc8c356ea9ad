package org.gridlight.widget.core

import org.junit.Test
import java.io.IOException
import java.net.SocketTimeoutException
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertSame
import kotlin.test.assertTrue

class WidgetStateRepositoryTest {
    private val config = WidgetConfig("https://gridlight.example.org", "A", "k3y")
    private val good = WidgetState.Available(snapshot(), "\"etag-1\"")

    private fun ok(body: String = EXAMPLE_JSON, etag: String? = "\"etag-2\"") =
        { HttpResponse(200, listOfNotNull(etag?.let { "ETag" to it }).toMap(), body) }

    private fun repo(fetcher: HttpFetcher) = WidgetStateRepository(config, fetcher)

    @Test fun `first fetch sends the key and no If-None-Match, and stores the ETag`() {
        val fetcher = FakeFetcher(ok())
        val result = repo(fetcher).refresh(WidgetState.Loading)
        assertEquals(WidgetState.Available(snapshot(), "\"etag-2\""), result.state)
        assertFalse(result.retry)
        val request = fetcher.requests.single()
        assertEquals("GET", request.method)
        assertEquals("https://gridlight.example.org/api/v1/households/A/widget?interval=60", request.url)
        assertEquals("Bearer k3y", request.headers["Authorization"])
        assertEquals("application/json", request.headers["Accept"])
        assertNull(request.headers["If-None-Match"])
    }

    @Test fun `demo mode sends no Authorization header`() {
        val fetcher = FakeFetcher(ok())
        WidgetStateRepository(config.copy(apiKey = null), fetcher, intervalS = 5).refresh(WidgetState.Loading)
        assertNull(fetcher.requests.single().headers["Authorization"])
        assertTrue(fetcher.requests.single().url.endsWith("/widget?interval=5"))
    }

    @Test fun `sends If-None-Match and keeps the state on 304`() {
        val fetcher = FakeFetcher({ HttpResponse(304) })
        val result = repo(fetcher).refresh(good)
        assertEquals("\"etag-1\"", fetcher.requests.single().headers["If-None-Match"])
        assertSame(good, result.state)
        assertFalse(result.retry)
    }

    @Test fun `a 304 after an error brings the kept state back`() {
        val fetcher = FakeFetcher({ HttpResponse(304) })
        val result = repo(fetcher).refresh(WidgetState.Unavailable("Server error (HTTP 503)", good))
        assertEquals("\"etag-1\"", fetcher.requests.single().headers["If-None-Match"])
        assertSame(good, result.state)
    }

    @Test fun `a 304 with nothing stored is an error, not a crash`() {
        val result = repo(FakeFetcher({ HttpResponse(304) })).refresh(WidgetState.Loading)
        assertEquals(WidgetState.Unavailable("Server answered 304 without a stored state", null), result.state)
    }

    @Test fun `a pushed state without ETag is fetched unconditionally`() {
        val fetcher = FakeFetcher(ok(WidgetJson.write(snapshot(seq = "1763792760000-0"))))
        val result = repo(fetcher).refresh(WidgetState.Available(snapshot(), etag = null))
        assertNull(fetcher.requests.single().headers["If-None-Match"])
        assertEquals(StreamId.parse("1763792760000-0"), (result.state as WidgetState.Available).snapshot.seq)
    }

    @Test fun `a 200 replaces the state and its ETag`() {
        val newer = snapshot(seq = "1763792760000-3", worst = Level.RED)
        val result = repo(FakeFetcher(ok(WidgetJson.write(newer), "W/\"etag-3\""))).refresh(good)
        assertEquals(WidgetState.Available(newer, "W/\"etag-3\""), result.state)
    }

    @Test fun `an older 200 does not overwrite a newer pushed state`() {
        val pushed = WidgetState.Available(snapshot(seq = "1763792760000-0"), null)
        val result = repo(FakeFetcher(ok(EXAMPLE_JSON))).refresh(pushed)
        assertSame(pushed, result.state)
    }

    @Test fun `network errors keep the last good state and ask for a retry`() {
        val result = repo(FakeFetcher({ throw SocketTimeoutException("connect timed out") })).refresh(good)
        assertEquals(WidgetState.Unavailable("No connection to the server (connect timed out)", good), result.state)
        assertTrue(result.retry)
        val bare = repo(FakeFetcher({ throw IOException() })).refresh(WidgetState.Loading)
        assertEquals(WidgetState.Unavailable("No connection to the server (IOException)", null), bare.state)
    }

    @Test fun `HTTP errors map to reasons and retry only when worth it`() {
        val cases =
            listOf(
                HttpResponse(401, body = """{"error":{"code":"unauthorized","message":"bad API key"}}""") to
                    ("API key rejected (HTTP 401): bad API key" to false),
                HttpResponse(403) to ("API key rejected (HTTP 403)" to false),
                HttpResponse(404, body = """{"error":{"code":"not_found","message":"no household Z"}}""") to
                    ("Household \"A\" not found (HTTP 404): no household Z" to false),
                HttpResponse(429) to ("Server busy (HTTP 429)" to true),
                HttpResponse(500, body = "<html>oops</html>") to ("Server error (HTTP 500)" to true),
                HttpResponse(503, body = """{"error":"down for maintenance"}""") to ("Server error (HTTP 503): down for maintenance" to true),
                HttpResponse(418) to ("Unexpected answer from the server (HTTP 418)" to false),
            )
        for ((response, expected) in cases) {
            val result = repo(FakeFetcher({ response })).refresh(good)
            assertEquals(WidgetState.Unavailable(expected.first, good), result.state, "for $response")
            assertEquals(expected.second, result.retry, "retry for $response")
        }
    }

    @Test fun `malformed bodies become Unavailable with the reason`() {
        val bodies =
            mapOf(
                "" to "Bad data from the server: not JSON: expected a JSON value, got end of input at offset 0",
                "<html>" to "Bad data from the server: not JSON: expected a value, got '<' at offset 0",
                """{"version":1}""" to "Bad data from the server: missing \"household\"",
                EXAMPLE_JSON.replace("\"yellow\"", "\"amber\"") to "Bad data from the server: \"level.Overall\" must be one of",
            )
        for ((body, reason) in bodies) {
            val state = repo(FakeFetcher(ok(body))).refresh(good).state
            assertIs<WidgetState.Unavailable>(state)
            assertTrue(state.reason.startsWith(reason), "\"${state.reason}\" should start with \"$reason\"")
            assertSame(good, state.lastGood)
        }
    }

    @Test fun `a state for another household is refused`() {
        val state = repo(FakeFetcher(ok(WidgetJson.write(snapshot(household = "B"))))).refresh(WidgetState.Loading).state
        assertEquals(WidgetState.Unavailable("Server sent household \"B\", expected \"A\"", null), state)
    }

    @Test fun `response headers are case-insensitive`() {
        val result = repo(FakeFetcher({ HttpResponse(200, mapOf("etag" to "\"lower\""), EXAMPLE_JSON) })).refresh(WidgetState.Loading)
        assertEquals("\"lower\"", (result.state as WidgetState.Available).etag)
    }

    @Test fun `rejects a non-positive interval`() {
        assertFailsWith<IllegalArgumentException> { WidgetStateRepository(config, FakeFetcher(), intervalS = 0) }
    }

    @Test fun `merge keeps a push that landed during the fetch`() {
        val pushed = WidgetState.Available(snapshot(seq = "1763792760000-0"), null)
        val fetchedOld = WidgetState.Available(snapshot(), "\"e\"")
        val fetchedNew = WidgetState.Available(snapshot(seq = "1763792770000-0"), "\"f\"")
        val failed = WidgetState.Unavailable("Server error (HTTP 503)", fetchedOld)
        assertSame(pushed, WidgetStateRepository.merge(latest = pushed, fetched = fetchedOld))
        assertSame(pushed, WidgetStateRepository.merge(latest = pushed, fetched = failed))
        assertSame(fetchedNew, WidgetStateRepository.merge(latest = pushed, fetched = fetchedNew))
        assertSame(fetchedOld, WidgetStateRepository.merge(latest = WidgetState.Available(snapshot(), null), fetched = fetchedOld), "tie: the fetch has the ETag")
        assertSame(fetchedOld, WidgetStateRepository.merge(latest = WidgetState.Loading, fetched = fetchedOld))
        assertSame(pushed, WidgetStateRepository.merge(latest = pushed, fetched = WidgetState.Unavailable("No connection to the server (x)")))
        val noneEither = WidgetState.Unavailable("API key rejected (HTTP 401)")
        assertSame(noneEither, WidgetStateRepository.merge(latest = WidgetState.Loading, fetched = noneEither))
    }

    @Test fun `registration results`() {
        assertEquals(RegistrationResult.Registered, RegistrationResult.of(HttpResponse(201)))
        assertEquals(RegistrationResult.Registered, RegistrationResult.of(HttpResponse(204)))
        assertEquals(
            RegistrationResult.Failed("HTTP 401: API key required", retry = false),
            RegistrationResult.of(HttpResponse(401, body = """{"error":{"code":"unauthorized","message":"API key required"}}""")),
        )
        assertEquals(RegistrationResult.Failed("HTTP 503", retry = true), RegistrationResult.of(HttpResponse(503)))
    }
}
