package org.gridlight.widget.core

import org.junit.Test
import java.security.SecureRandom
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotEquals
import kotlin.test.assertTrue

/** RFC 7636 appendix B: these octets, this verifier, this challenge. */
val RFC7636_OCTETS: ByteArray =
    intArrayOf(
        116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186,
        22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
    ).map { it.toByte() }.toByteArray()
const val RFC7636_VERIFIER: String = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
const val RFC7636_CHALLENGE: String = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

class PkceTest {
    @Test fun `the RFC 7636 example, octets to verifier to S256 challenge`() {
        assertEquals(RFC7636_VERIFIER, Pkce.verifierOf(RFC7636_OCTETS))
        assertEquals(RFC7636_CHALLENGE, Pkce.challenge(RFC7636_VERIFIER))
    }

    @Test fun `verifiers are 43 characters of base64url without padding, and fresh each time`() {
        val random = SecureRandom()
        val verifiers = List(50) { Pkce.newVerifier(random) }
        verifiers.forEach {
            assertEquals(43, it.length)
            assertTrue(Regex("[A-Za-z0-9_-]{43}").matches(it), it)
        }
        assertEquals(50, verifiers.toSet().size)
        val challenge = Pkce.challenge(verifiers[0])
        assertEquals(43, challenge.length)
        assertFalse('=' in challenge || '+' in challenge || '/' in challenge)
    }

    @Test fun `a verifier out of RFC 7636's alphabet or length is refused`() {
        assertFailsWith<IllegalArgumentException> { Pkce.challenge("short") }
        assertFailsWith<IllegalArgumentException> { Pkce.challenge("a".repeat(129)) }
        assertFailsWith<IllegalArgumentException> { Pkce.challenge("a".repeat(42) + "+") }
        assertEquals(43, Pkce.challenge("a".repeat(42) + "~").length)
        assertFailsWith<IllegalArgumentException> { Pkce.verifierOf(ByteArray(16)) }
    }

    @Test fun `state is random and checked exactly`() {
        val state = Pkce.newState()
        assertEquals(22, state.length)
        assertNotEquals(state, Pkce.newState())
        assertTrue(Pkce.stateMatches(state, state))
        assertFalse(Pkce.stateMatches(state, state.dropLast(1)))
        assertFalse(Pkce.stateMatches(state, null))
        assertFalse(Pkce.stateMatches("", ""))
    }
}
