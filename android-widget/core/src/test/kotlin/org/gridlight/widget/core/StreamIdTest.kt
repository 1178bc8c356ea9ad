package org.gridlight.widget.core

import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNull
import kotlin.test.assertTrue

class StreamIdTest {
    @Test fun `parses and prints ms-seq`() {
        assertEquals(StreamId(1763792750000, 0), StreamId.parse("1763792750000-0"))
        assertEquals("1763792750000-12", StreamId.parse("1763792750000-12").toString())
        assertEquals(StreamId(Long.MAX_VALUE, 0), StreamId.parse("${Long.MAX_VALUE}-0"))
    }

    @Test fun `compares numerically, not as text`() {
        assertTrue(StreamId.parse("10-0") > StreamId.parse("9-5"))
        assertTrue(StreamId.parse("5-10") > StreamId.parse("5-9"))
        assertTrue(StreamId.parse("1763792750001-0") > StreamId.parse("1763792750000-99"))
        assertEquals(0, StreamId.parse("7-7").compareTo(StreamId(7, 7)))
        assertEquals(listOf("2-0", "9-1", "10-0"), listOf("10-0", "2-0", "9-1").map(StreamId::parse).sorted().map { it.toString() })
    }

    @Test fun `rejects malformed ids`() {
        for (bad in listOf("", "5", "5-", "-5", "a-b", "5-0-1", "05-1", "5-01", "+5-1", " 5-1", "5-1 ", "99999999999999999999-0", "5--1")) {
            assertNull(StreamId.parseOrNull(bad), "accepted \"$bad\"")
        }
        val err = assertFailsWith<IllegalArgumentException> { StreamId.parse("x-1") }
        assertTrue(err.message!!.contains("\"x-1\""), err.message)
        assertFailsWith<IllegalArgumentException> { StreamId(-1, 0) }
    }
}
