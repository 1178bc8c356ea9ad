package org.gridlight.widget.core

import org.junit.Test
import java.io.IOException
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue

/** Tokens in memory, counting saves. */
class MemoryTokens(var tokens: Tokens?) : TokenStorage {
    var saves = 0

    override fun load(): Tokens? = tokens

    override fun save(tokens: Tokens?) {
        this.tokens = tokens
        saves++
    }
}

fun grant(access: String, refresh: String, expiresInS: Int = 3600): () -> HttpResponse =
    {
        HttpResponse(
            200,
            mapOf("Content-Type" to "application/json"),
            """{"access_token":"$access","token_type":"Bearer","expires_in":$expiresInS,"refresh_token":"$refresh","scope":"read write"}""",
        )
    }

class TokenHolderTest {
    private val client = OAuthClient("cid", OAuthEndpoints.of("https://gridlight.example.org"))
    private var now = 10_000L

    private fun holder(storage: TokenStorage, fetcher: HttpFetcher) = TokenHolder(client, fetcher, storage, clock = { now }, marginS = 120)

    @Test fun `a token far from expiry is handed out without a request`() {
        val storage = MemoryTokens(Tokens("glat_1", "glrt_1", now + 3000, "read"))
        val fetcher = FakeFetcher()
        assertEquals(Access.Token("glat_1"), holder(storage, fetcher).access())
        assertTrue(fetcher.requests.isEmpty())
    }

    @Test fun `near expiry it refreshes, stores the rotated refresh token, and never reuses the old one`() {
        val storage = MemoryTokens(Tokens("glat_1", "glrt_1", now + 60, "read"))
        val fetcher = FakeFetcher(grant("glat_2", "glrt_2"), grant("glat_3", "glrt_3"))
        val tokens = holder(storage, fetcher)
        assertEquals(Access.Token("glat_2"), tokens.access())
        assertEquals(Tokens("glat_2", "glrt_2", now + 3600, "read write"), storage.tokens)
        assertEquals("grant_type=refresh_token&refresh_token=glrt_1&client_id=cid", fetcher.requests.single().body)
        now += 3600 - 100 // within the margin again
        assertEquals(Access.Token("glat_3"), tokens.access())
        assertTrue(fetcher.requests.last().body!!.contains("refresh_token=glrt_2"))
        assertEquals(listOf(1, 1), fetcher.requests.map { r -> Regex("glrt_1").findAll(r.body!!).count() + Regex("glrt_2").findAll(r.body!!).count() })
    }

    @Test fun `after a 401 it refreshes once, and a second caller with the old token gets the new one`() {
        val storage = MemoryTokens(Tokens("glat_1", "glrt_1", now + 3000, "read"))
        val fetcher = FakeFetcher(grant("glat_2", "glrt_2"))
        val tokens = holder(storage, fetcher)
        assertEquals(Access.Token("glat_2"), tokens.afterRejection("glat_1"))
        assertEquals(Access.Token("glat_2"), tokens.afterRejection("glat_1")) // already refreshed
        assertEquals(1, fetcher.requests.size)
    }

    @Test fun `a refused refresh signs out and forgets the tokens`() {
        val storage = MemoryTokens(Tokens("glat_1", "glrt_1", now - 1, "read"))
        val fetcher = FakeFetcher({ HttpResponse(400, body = """{"error":"invalid_grant"}""") })
        val access = holder(storage, fetcher).access()
        assertIs<Access.SignedOut>(access)
        assertTrue("sign in again" in access.reason)
        assertNull(storage.tokens)
    }

    @Test fun `no network or a busy server keeps the tokens and asks to retry`() {
        val kept = Tokens("glat_1", "glrt_1", now - 1, "read")
        val storage = MemoryTokens(kept)
        val offline = holder(storage, FakeFetcher({ throw IOException("no route") })).access()
        assertEquals(Access.Unavailable("No connection to the server (no route)", retry = true), offline)
        val busy = holder(storage, FakeFetcher({ HttpResponse(503) })).access()
        assertEquals(Access.Unavailable("Server busy (HTTP 503)", retry = true), busy)
        assertEquals(kept, storage.tokens)
        assertEquals(0, storage.saves)
    }

    @Test fun `signed out without tokens, and sign-out forgets them and revokes the refresh token`() {
        val storage = MemoryTokens(null)
        val tokens = holder(storage, FakeFetcher())
        assertEquals(Access.SignedOut(TokenHolder.NOT_SIGNED_IN), tokens.access())
        assertFalse(tokens.isSignedIn)
        tokens.keep(Tokens("glat_1", "glrt_1", now + 3600, "read"))
        assertTrue(tokens.isSignedIn)
        val revoke = tokens.signOut()!!
        assertEquals("token=glrt_1&token_type_hint=refresh_token&client_id=cid", revoke.body)
        assertNull(storage.tokens)
    }
}
