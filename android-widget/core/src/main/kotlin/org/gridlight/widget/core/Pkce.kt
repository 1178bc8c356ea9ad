package org.gridlight.widget.core

import java.security.MessageDigest
import java.security.SecureRandom
import java.util.Base64

/**
 * Proof Key for Code Exchange (RFC 7636) with the `S256` method, and the `state` that ties a
 * browser's answer to the request that went out (RFC 6749 §10.12).
 *
 * A verifier is 32 random octets in base64url without padding: 43 characters of
 * `[A-Za-z0-9-_]`, within RFC 7636's 43 to 128 of `[A-Za-z0-9-._~]`. The challenge is
 * `BASE64URL(SHA-256(ASCII(verifier)))`, also without padding.
 */
object Pkce {
    const val METHOD: String = "S256"
    private const val VERIFIER_OCTETS = 32
    private const val STATE_OCTETS = 16
    private val VERIFIER = Regex("[A-Za-z0-9._~-]{43,128}")
    private val base64Url = Base64.getUrlEncoder().withoutPadding()

    /** A fresh verifier from [random] (a [SecureRandom] in the app). */
    fun newVerifier(random: SecureRandom = SecureRandom()): String = verifierOf(ByteArray(VERIFIER_OCTETS).also(random::nextBytes))

    /** The verifier for these [octets] (RFC 7636 appendix B's example starts from 32 octets). */
    fun verifierOf(octets: ByteArray): String {
        require(octets.size >= VERIFIER_OCTETS) { "a verifier needs at least $VERIFIER_OCTETS random octets, got ${octets.size}" }
        return base64Url.encodeToString(octets)
    }

    /** `BASE64URL(SHA-256(verifier))` without padding. */
    fun challenge(verifier: String): String {
        require(VERIFIER.matches(verifier)) {
            "a code verifier is 43 to 128 characters of A-Z a-z 0-9 - . _ ~, got ${verifier.length} characters"
        }
        val digest = MessageDigest.getInstance("SHA-256").digest(verifier.toByteArray(Charsets.US_ASCII))
        return base64Url.encodeToString(digest)
    }

    /** A fresh `state`: 16 random octets, base64url (22 characters). */
    fun newState(random: SecureRandom = SecureRandom()): String = base64Url.encodeToString(ByteArray(STATE_OCTETS).also(random::nextBytes))

    /** Whether the [received] state is the [expected] one, compared in constant time. */
    fun stateMatches(expected: String, received: String?): Boolean =
        received != null && expected.isNotEmpty() &&
            MessageDigest.isEqual(expected.toByteArray(Charsets.UTF_8), received.toByteArray(Charsets.UTF_8))
}
