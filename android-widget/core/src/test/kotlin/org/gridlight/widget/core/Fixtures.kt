package org.gridlight.widget.core

import java.time.Instant

/** The contract's example payload, verbatim from android-widget/README.md. */
const val EXAMPLE_JSON: String =
    """{"version":1,"household":"A","name":"Household A (day worker)","as_of":"2026-11-22T06:25:55Z",""" +
        """"seq":"1763792750000-0","interval_s":60,"power_kw":{"Overall":2.31,"AC":1.5,"Geyser":0.0},""" +
        """"level":{"Overall":"yellow","AC":"green","Geyser":"green"},"worst":"yellow",""" +
        """"message":"Above usual use","stale":false}"""

val EXAMPLE_AS_OF: Instant = Instant.parse("2026-11-22T06:25:55Z")

/** A valid snapshot; override what a test is about. */
fun snapshot(
    household: String = "A",
    seq: String = "1763792750000-0",
    asOf: Instant = EXAMPLE_AS_OF,
    intervalS: Int = 60,
    powerKw: Map<String, Double?> = linkedMapOf("Overall" to 2.31, "AC" to 1.5, "Geyser" to 0.0),
    level: Map<String, Level?> = linkedMapOf("Overall" to Level.YELLOW, "AC" to Level.GREEN, "Geyser" to Level.GREEN),
    worst: Level? = Level.YELLOW,
    serverStale: Boolean = false,
    name: String = "Household A (day worker)",
): WidgetSnapshot =
    WidgetSnapshot(1, household, name, asOf, StreamId.parse(seq), intervalS, powerKw, level, worst, "Above usual use", serverStale)

/** A fetcher that answers from a queue and records what it was asked. */
class FakeFetcher(vararg answers: () -> HttpResponse) : HttpFetcher {
    private val queue = ArrayDeque(answers.toList())
    val requests = mutableListOf<HttpRequest>()

    override fun fetch(request: HttpRequest): HttpResponse {
        requests += request
        val answer = queue.removeFirstOrNull() ?: error("unexpected request ${request.method} ${request.url}")
        return answer()
    }
}
