package org.gridlight.widget.core

import java.net.URLDecoder
import java.net.URLEncoder
import java.security.SecureRandom

/**
 * The app's side of the server's OAuth 2.0 authorization code flow with PKCE (contract in
 * `android-widget/README.md`, "Signing in with PKCE"): the authorization URL, the browser's
 * answer, and the token, refresh and revocation requests. It only builds requests and reads
 * answers; the app sends them with its [HttpFetcher] and keeps the tokens ([TokenHolder]).
 */
data class OAuthEndpoints(val authorization: String, val token: String, val revocation: String?) {
    companion object {
        /** The server's own paths (what its metadata names), for a server URL without a slash. */
        fun of(serverUrl: String): OAuthEndpoints =
            OAuthEndpoints("$serverUrl/oauth/authorize", "$serverUrl/oauth/token", "$serverUrl/oauth/revoke")

        /** `GET {server}/.well-known/oauth-authorization-server` (RFC 8414). */
        fun metadataUrl(serverUrl: String): String = "$serverUrl/.well-known/oauth-authorization-server"

        /** The endpoints from the metadata document; refused unless it supports `S256`. */
        fun parseMetadata(body: String): OAuthEndpoints {
            val root = runCatching { Json.parse(body) }.getOrNull() as? Map<*, *>
                ?: throw OAuthException("the server's OAuth metadata is not a JSON object")
            fun url(name: String): String? = (root[name] as? String)?.takeIf { it.startsWith("https://") || it.startsWith("http://") }
            val methods = root["code_challenge_methods_supported"] as? List<*> ?: emptyList<Any?>()
            if (Pkce.METHOD !in methods) throw OAuthException("the server does not offer PKCE S256 (code_challenge_methods_supported: $methods)")
            return OAuthEndpoints(
                url("authorization_endpoint") ?: throw OAuthException("the server's OAuth metadata has no authorization_endpoint"),
                url("token_endpoint") ?: throw OAuthException("the server's OAuth metadata has no token_endpoint"),
                url("revocation_endpoint"),
            )
        }
    }
}

/** A sign-in refused or not understood; the message is shown to the person. */
class OAuthException(message: String) : Exception(message)

/** What the app keeps while the browser is open (it may be killed meanwhile: store it). */
data class PendingAuthorization(val state: String, val verifier: String, val url: String) {
    override fun toString(): String = "PendingAuthorization(url=$url)" // the verifier is a secret
}

/** The browser's answer on the redirect URI. */
sealed interface RedirectResult {
    /** Exchange [code] with the pending authorization's verifier. */
    data class Code(val code: String) : RedirectResult

    /** The person said no (`access_denied`) or the server refused the request. */
    data class Denied(val error: String, val description: String?) : RedirectResult

    /** Not an answer to our request (wrong state, another URI, no code): ignore it. */
    data class Invalid(val reason: String) : RedirectResult
}

/** Access and refresh tokens; [expiresAtEpochS] is when the access token stops working. */
data class Tokens(val accessToken: String, val refreshToken: String?, val expiresAtEpochS: Long, val scope: String?) {
    override fun toString(): String =
        "Tokens(access=${redactToken(accessToken)}, refresh=${refreshToken?.let(::redactToken)}, expiresAtEpochS=$expiresAtEpochS, scope=$scope)"
}

/** The token endpoint's answer. */
sealed interface TokenResult {
    data class Granted(val tokens: Tokens) : TokenResult

    /**
     * Refused by the server (RFC 6749 §5.2 `error`): `invalid_grant` means the code or refresh
     * token is no longer good, so the person has to sign in again ([signInAgain]).
     */
    data class Refused(val error: String, val description: String?) : TokenResult {
        val signInAgain: Boolean get() = error == "invalid_grant" || error == "invalid_client" || error == "unauthorized_client"
    }

    /** No usable answer (network, 429, 5xx, a body that is not a token): [retry] later. */
    data class Failed(val reason: String, val retry: Boolean) : TokenResult
}

/** One app registration on one server: `python -m server oauth-clients add … --public`. */
class OAuthClient(
    val clientId: String,
    val endpoints: OAuthEndpoints,
    val redirectUri: String = DEFAULT_REDIRECT_URI,
    val scope: String = DEFAULT_SCOPE,
) {
    init {
        require(clientId.isNotBlank()) { "the OAuth client id must not be blank" }
        require(':' in redirectUri) { "the redirect URI must be absolute, got \"$redirectUri\"" }
    }

    /** A new authorization: fresh state and verifier, and the URL to open in the browser. */
    fun begin(random: SecureRandom = SecureRandom()): PendingAuthorization {
        val state = Pkce.newState(random)
        val verifier = Pkce.newVerifier(random)
        return PendingAuthorization(state, verifier, authorizationUrl(state, Pkce.challenge(verifier)))
    }

    /** `{authorization_endpoint}?response_type=code&client_id=…&redirect_uri=…&scope=…&state=…&code_challenge=…&code_challenge_method=S256`. */
    fun authorizationUrl(state: String, challenge: String): String {
        val params =
            linkedMapOf(
                "response_type" to "code",
                "client_id" to clientId,
                "redirect_uri" to redirectUri,
                "scope" to scope,
                "state" to state,
                "code_challenge" to challenge,
                "code_challenge_method" to Pkce.METHOD,
            )
        val separator = if ('?' in endpoints.authorization) '&' else '?'
        return endpoints.authorization + separator + formEncode(params)
    }

    /** Reads the redirect the browser opened ([uri]) against the [pending] authorization. */
    fun parseRedirect(pending: PendingAuthorization, uri: String): RedirectResult {
        val (base, query) = uri.substringBefore('#').let { it.substringBefore('?') to it.substringAfter('?', "") }
        if (base != redirectUri) return RedirectResult.Invalid("not our redirect URI: $base")
        val params = parseQuery(query)
        if (!Pkce.stateMatches(pending.state, params["state"])) {
            return RedirectResult.Invalid("the state does not match the sign-in that was started")
        }
        params["error"]?.let { return RedirectResult.Denied(it, params["error_description"]) }
        val code = params["code"]?.takeIf { it.isNotEmpty() } ?: return RedirectResult.Invalid("no code in the redirect")
        return RedirectResult.Code(code)
    }

    /** `POST {token_endpoint}`: the code for tokens, with the verifier. */
    fun tokenRequest(code: String, verifier: String): HttpRequest =
        form(
            endpoints.token,
            linkedMapOf(
                "grant_type" to "authorization_code",
                "code" to code,
                "redirect_uri" to redirectUri,
                "client_id" to clientId,
                "code_verifier" to verifier,
            ),
        )

    /** `POST {token_endpoint}`: a refresh (the answer carries a new, rotated refresh token). */
    fun refreshRequest(refreshToken: String): HttpRequest =
        form(endpoints.token, linkedMapOf("grant_type" to "refresh_token", "refresh_token" to refreshToken, "client_id" to clientId))

    /** `POST {revocation_endpoint}` (RFC 7009) for the refresh token, or null without one. */
    fun revokeRequest(refreshToken: String): HttpRequest? =
        endpoints.revocation?.let {
            form(it, linkedMapOf("token" to refreshToken, "token_type_hint" to "refresh_token", "client_id" to clientId))
        }

    private fun form(url: String, params: Map<String, String>): HttpRequest =
        HttpRequest(
            "POST",
            url,
            mapOf("Content-Type" to "application/x-www-form-urlencoded", "Accept" to "application/json"),
            formEncode(params),
        )

    companion object {
        /** The app's redirect URI (reverse-domain scheme, RFC 8252 §7.1); its intent filter. */
        const val DEFAULT_REDIRECT_URI: String = "org.gridlight.widget:/oauth"

        /** What the widget needs: the state (`read`) and its push registration (`write`). */
        const val DEFAULT_SCOPE: String = "read write"

        /**
         * Reads the token endpoint's answer at [nowEpochS]. A refresh answer without a
         * `refresh_token` keeps [previousRefreshToken] (the server rotates, but RFC 6749 allows it).
         */
        fun parseTokenResponse(response: HttpResponse, nowEpochS: Long, previousRefreshToken: String? = null): TokenResult {
            val status = response.status
            val root = runCatching { Json.parse(response.body) }.getOrNull() as? Map<*, *>
            if (status == 429 || status in 500..599) {
                return TokenResult.Failed("Server busy (HTTP $status)", retry = true)
            }
            if (status != 200) {
                val error = root?.get("error") as? String
                    ?: return TokenResult.Failed("Unexpected answer from the token endpoint (HTTP $status)", retry = false)
                return TokenResult.Refused(error, (root["error_description"] as? String)?.take(200))
            }
            if (root == null) return TokenResult.Failed("The token endpoint's answer is not JSON", retry = false)
            val access = (root["access_token"] as? String)?.takeIf { it.isNotEmpty() }
                ?: return TokenResult.Failed("The token endpoint's answer has no access_token", retry = false)
            val type = root["token_type"] as? String
            if (type == null || !type.equals("Bearer", ignoreCase = true)) {
                return TokenResult.Failed("The token endpoint gave a \"$type\" token, expected Bearer", retry = false)
            }
            val expiresInS = (root["expires_in"] as? Double)?.toLong()?.takeIf { it > 0 } ?: DEFAULT_EXPIRES_IN_S
            val refresh = (root["refresh_token"] as? String)?.takeIf { it.isNotEmpty() } ?: previousRefreshToken
            return TokenResult.Granted(Tokens(access, refresh, nowEpochS + expiresInS, root["scope"] as? String))
        }

        /** When the server gives no `expires_in`: assume the server's default, an hour. [s] */
        const val DEFAULT_EXPIRES_IN_S: Long = 3600

        /** `application/x-www-form-urlencoded`, spaces as `%20` (safe in a query too). */
        fun formEncode(params: Map<String, String>): String =
            params.entries.joinToString("&") { (k, v) -> "${encode(k)}=${encode(v)}" }

        private fun encode(text: String): String = URLEncoder.encode(text, Charsets.UTF_8).replace("+", "%20")

        /** A query string's parameters (the first of each name). */
        fun parseQuery(query: String): Map<String, String> {
            val out = LinkedHashMap<String, String>()
            for (part in query.split('&')) {
                if (part.isEmpty()) continue
                try {
                    val name = URLDecoder.decode(part.substringBefore('='), Charsets.UTF_8)
                    out.putIfAbsent(name, URLDecoder.decode(part.substringAfter('=', ""), Charsets.UTF_8))
                } catch (_: IllegalArgumentException) {
                    continue // a malformed escape: not a parameter we sent for
                }
            }
            return out
        }
    }
}
