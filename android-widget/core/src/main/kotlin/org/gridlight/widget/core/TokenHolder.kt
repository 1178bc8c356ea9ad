package org.gridlight.widget.core

import java.io.IOException

/** Where the tokens live (the app's DataStore); [save] must be durable when it returns. */
interface TokenStorage {
    fun load(): Tokens?

    /** Store [tokens] (null: signed out), replacing what was stored. */
    fun save(tokens: Tokens?)
}

/** An access token to send, or why there is none. */
sealed interface Access {
    data class Token(val accessToken: String) : Access

    /** Nobody is signed in, or the sign-in ended (refresh refused): sign in again. */
    data class SignedOut(val reason: String) : Access

    /** The refresh could not be made now (network, 429, 5xx): [retry] later, keep the tokens. */
    data class Unavailable(val reason: String, val retry: Boolean) : Access
}

/**
 * The app's tokens: hands out an access token, refreshed [marginS] before it expires, and again
 * after the API rejected it ([afterRejection]). Refresh tokens rotate: the new pair is saved
 * before the new access token is used, and the old refresh token is never sent again (the server
 * takes a reused one as theft and ends the sign-in). One holder per process; its methods are
 * synchronized so that two callers never refresh with the same refresh token.
 */
class TokenHolder(
    private val client: OAuthClient,
    private val fetcher: HttpFetcher,
    private val storage: TokenStorage,
    private val clock: () -> Long = { System.currentTimeMillis() / 1000 },
    private val marginS: Long = DEFAULT_MARGIN_S,
) {
    init {
        require(marginS >= 0) { "the refresh margin must not be negative, got $marginS s" }
    }

    /** Whether tokens are stored. */
    val isSignedIn: Boolean @Synchronized get() = storage.load() != null

    /** An access token good for at least [marginS] more seconds, refreshing when needed. */
    @Synchronized
    fun access(): Access {
        val tokens = storage.load() ?: return Access.SignedOut(NOT_SIGNED_IN)
        if (tokens.expiresAtEpochS - clock() > marginS) return Access.Token(tokens.accessToken)
        return refresh(tokens)
    }

    /**
     * The API answered 401 to [rejected]: refresh, unless another caller already has (the
     * stored access token differs), and hand out the current one.
     */
    @Synchronized
    fun afterRejection(rejected: String): Access {
        val tokens = storage.load() ?: return Access.SignedOut(NOT_SIGNED_IN)
        if (tokens.accessToken != rejected) return Access.Token(tokens.accessToken)
        return refresh(tokens)
    }

    /** Keep the tokens of a finished sign-in. */
    @Synchronized
    fun keep(tokens: Tokens) = storage.save(tokens)

    /** Forget the tokens; the revocation request to send (best effort), if there is one. */
    @Synchronized
    fun signOut(): HttpRequest? {
        val refresh = storage.load()?.refreshToken
        storage.save(null)
        return refresh?.let(client::revokeRequest)
    }

    private fun refresh(tokens: Tokens): Access {
        val refreshToken = tokens.refreshToken
            ?: return signOut("The sign-in has expired: sign in again").let { Access.SignedOut(it) }
        val response =
            try {
                fetcher.fetch(client.refreshRequest(refreshToken))
            } catch (err: IOException) {
                return Access.Unavailable("No connection to the server (${err.message ?: err::class.simpleName})", retry = true)
            }
        return when (val result = OAuthClient.parseTokenResponse(response, clock(), previousRefreshToken = refreshToken)) {
            is TokenResult.Granted -> {
                storage.save(result.tokens) // before the new access token is used
                Access.Token(result.tokens.accessToken)
            }
            is TokenResult.Refused ->
                if (result.signInAgain) {
                    Access.SignedOut(signOut("The sign-in has ended (${result.error}): sign in again"))
                } else {
                    Access.Unavailable("Token refresh refused (${result.error})", retry = false)
                }
            is TokenResult.Failed -> Access.Unavailable(result.reason, result.retry)
        }
    }

    private fun signOut(reason: String): String {
        storage.save(null)
        return reason
    }

    companion object {
        /** Refresh this long before the access token expires. [s] */
        const val DEFAULT_MARGIN_S: Long = 120

        const val NOT_SIGNED_IN: String = "Not signed in: open Gridlight and sign in"
    }
}
