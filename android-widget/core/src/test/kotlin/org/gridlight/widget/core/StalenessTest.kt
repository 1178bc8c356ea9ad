package org.gridlight.widget.core

import org.junit.Test
import java.time.Clock
import java.time.Duration
import java.time.ZoneOffset
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue

class StalenessTest {
    private val s = snapshot(intervalS = 60)

    @Test fun `stale after three intervals plus two minutes`() {
        // 3 × 60 s + 120 s = 300 s after as_of.
        assertEquals(EXAMPLE_AS_OF.plusSeconds(300), Staleness.staleAfter(s))
        assertFalse(Staleness.isStale(s, EXAMPLE_AS_OF))
        assertFalse(Staleness.isStale(s, EXAMPLE_AS_OF.plusSeconds(300)), "exactly at the limit is still fresh")
        assertTrue(Staleness.isStale(s, EXAMPLE_AS_OF.plusSeconds(301)))
    }

    @Test fun `the limit scales with the interval`() {
        val hourly = snapshot(intervalS = 3600)
        assertEquals(EXAMPLE_AS_OF.plus(Duration.ofHours(3).plusMinutes(2)), Staleness.staleAfter(hourly))
        assertFalse(Staleness.isStale(hourly, EXAMPLE_AS_OF.plus(Duration.ofHours(3))))
        assertTrue(Staleness.isStale(snapshot(intervalS = 5), EXAMPLE_AS_OF.plusSeconds(136)))
    }

    @Test fun `the server's stale flag wins`() {
        assertTrue(Staleness.isStale(snapshot(serverStale = true), EXAMPLE_AS_OF))
    }

    @Test fun `a device clock behind the server is not stale`() {
        assertFalse(Staleness.isStale(s, EXAMPLE_AS_OF.minus(Duration.ofHours(1))))
    }

    @Test fun `takes an injected clock`() {
        val early = Clock.fixed(EXAMPLE_AS_OF.plusSeconds(299), ZoneOffset.UTC)
        val late = Clock.offset(early, Duration.ofSeconds(2))
        assertFalse(Staleness.isStale(s, early))
        assertTrue(Staleness.isStale(s, late))
    }
}
