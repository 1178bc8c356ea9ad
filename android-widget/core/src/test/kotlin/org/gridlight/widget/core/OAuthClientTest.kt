package org.gridlight.widget.core

import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue

class OAuthClientTest {
    private val client = OAuthClient("widget-id_1", OAuthEndpoints.of("https://gridlight.example.org"))

    @Test fun `the authorization URL carries every parameter, encoded, with the S256 challenge`() {
        val url = client.authorizationUrl("st4te", RFC7636_CHALLENGE)
        assertEquals(
            "https://gridlight.example.org/oauth/authorize?response_type=code&client_id=widget-id_1" +
                "&redirect_uri=org.gridlight.widget%3A%2Foauth&scope=read%20write&state=st4te" +
                "&code_challenge=$RFC7636_CHALLENGE&code_challenge_method=S256",
            url,
        )
    }

    @Test fun `begin makes a fresh state and verifier whose challenge is in the URL`() {
        val pending = client.begin()
        val query = OAuthClient.parseQuery(pending.url.substringAfter('?'))
        assertEquals(pending.state, query["state"])
        assertEquals(Pkce.challenge(pending.verifier), query["code_challenge"])
        assertEquals("S256", query["code_challenge_method"])
        assertEquals("org.gridlight.widget:/oauth", query["redirect_uri"])
        assertTrue(pending.verifier !in pending.toString())
    }

    @Test fun `the redirect gives the code only with the right state`() {
        val pending = PendingAuthorization("s1", RFC7636_VERIFIER, "")
        assertEquals(RedirectResult.Code("c0de"), client.parseRedirect(pending, "org.gridlight.widget:/oauth?code=c0de&state=s1"))
        assertIs<RedirectResult.Invalid>(client.parseRedirect(pending, "org.gridlight.widget:/oauth?code=c0de&state=s2"))
        assertIs<RedirectResult.Invalid>(client.parseRedirect(pending, "org.gridlight.widget:/oauth?code=c0de"))
        assertIs<RedirectResult.Invalid>(client.parseRedirect(pending, "org.gridlight.widget:/other?code=c0de&state=s1"))
        assertIs<RedirectResult.Invalid>(client.parseRedirect(pending, "org.gridlight.widget:/oauth?state=s1"))
        assertIs<RedirectResult.Invalid>(client.parseRedirect(pending, "org.gridlight.widget:/oauth?code=%zz&state=s1"))
        assertEquals(
            RedirectResult.Denied("access_denied", "the user said no"),
            client.parseRedirect(pending, "org.gridlight.widget:/oauth?error=access_denied&error_description=the+user+said%20no&state=s1"),
        )
        // an error without our state is not ours either
        assertIs<RedirectResult.Invalid>(client.parseRedirect(pending, "org.gridlight.widget:/oauth?error=access_denied"))
    }

    @Test fun `token, refresh and revocation requests are forms with the client id`() {
        val exchange = client.tokenRequest("c0de", RFC7636_VERIFIER)
        assertEquals("POST", exchange.method)
        assertEquals("https://gridlight.example.org/oauth/token", exchange.url)
        assertEquals("application/x-www-form-urlencoded", exchange.headers["Content-Type"])
        assertEquals(
            "grant_type=authorization_code&code=c0de&redirect_uri=org.gridlight.widget%3A%2Foauth" +
                "&client_id=widget-id_1&code_verifier=$RFC7636_VERIFIER",
            exchange.body,
        )
        assertEquals(
            "grant_type=refresh_token&refresh_token=glrt_a%2Bb&client_id=widget-id_1",
            client.refreshRequest("glrt_a+b").body,
        )
        val revoke = client.revokeRequest("glrt_x")!!
        assertEquals("https://gridlight.example.org/oauth/revoke", revoke.url)
        assertEquals("token=glrt_x&token_type_hint=refresh_token&client_id=widget-id_1", revoke.body)
        assertNull(OAuthClient("id", OAuthEndpoints("https://a/authorize", "https://a/token", null)).revokeRequest("t"))
    }

    @Test fun `a token answer becomes tokens expiring at now plus expires_in`() {
        val body = """{"access_token":"glat_1","token_type":"Bearer","expires_in":3600,"refresh_token":"glrt_1","scope":"read write"}"""
        assertEquals(
            TokenResult.Granted(Tokens("glat_1", "glrt_1", 1_000 + 3600, "read write")),
            OAuthClient.parseTokenResponse(HttpResponse(200, body = body), nowEpochS = 1_000),
        )
        val noRefresh = """{"access_token":"glat_2","token_type":"bearer"}"""
        assertEquals(
            TokenResult.Granted(Tokens("glat_2", "glrt_old", 10 + OAuthClient.DEFAULT_EXPIRES_IN_S, null)),
            OAuthClient.parseTokenResponse(HttpResponse(200, body = noRefresh), 10, previousRefreshToken = "glrt_old"),
        )
    }

    @Test fun `token errors are refusals, failures to retry, or bad answers`() {
        val refused = OAuthClient.parseTokenResponse(
            HttpResponse(400, body = """{"error":"invalid_grant","error_description":"the refresh token was used"}"""),
            0,
        )
        assertEquals(TokenResult.Refused("invalid_grant", "the refresh token was used"), refused)
        assertTrue((refused as TokenResult.Refused).signInAgain)
        assertEquals(false, TokenResult.Refused("invalid_scope", null).signInAgain)
        assertEquals(TokenResult.Failed("Server busy (HTTP 429)", retry = true), OAuthClient.parseTokenResponse(HttpResponse(429), 0))
        assertEquals(true, (OAuthClient.parseTokenResponse(HttpResponse(503, body = "<html>"), 0) as TokenResult.Failed).retry)
        assertIs<TokenResult.Failed>(OAuthClient.parseTokenResponse(HttpResponse(200, body = "not json"), 0))
        assertIs<TokenResult.Failed>(OAuthClient.parseTokenResponse(HttpResponse(200, body = """{"token_type":"Bearer"}"""), 0))
        assertIs<TokenResult.Failed>(
            OAuthClient.parseTokenResponse(HttpResponse(200, body = """{"access_token":"a","token_type":"mac"}"""), 0),
        )
        assertIs<TokenResult.Failed>(OAuthClient.parseTokenResponse(HttpResponse(400, body = "{}"), 0))
    }

    @Test fun `metadata gives the endpoints and must offer S256`() {
        val doc =
            """{"issuer":"https://g.example","authorization_endpoint":"https://g.example/oauth/authorize",""" +
                """"token_endpoint":"https://g.example/oauth/token","revocation_endpoint":"https://g.example/oauth/revoke",""" +
                """"code_challenge_methods_supported":["S256"]}"""
        assertEquals(
            OAuthEndpoints("https://g.example/oauth/authorize", "https://g.example/oauth/token", "https://g.example/oauth/revoke"),
            OAuthEndpoints.parseMetadata(doc),
        )
        val plainOnly = doc.replace("\"S256\"", "\"plain\"")
        assertFailsWith<OAuthException> { OAuthEndpoints.parseMetadata(plainOnly) }
        assertFailsWith<OAuthException> { OAuthEndpoints.parseMetadata("[]") }
        assertEquals("https://g.example/.well-known/oauth-authorization-server", OAuthEndpoints.metadataUrl("https://g.example"))
    }
}
