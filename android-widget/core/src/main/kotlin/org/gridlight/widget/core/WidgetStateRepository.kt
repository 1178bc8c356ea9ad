package org.gridlight.widget.core

import java.io.IOException

/**
 * The result of one refresh: the new [state] to store and show, and whether the failure (if
 * any) is worth retrying soon ([retry]: no network, timeouts, HTTP 429 and 5xx).
 */
data class RefreshResult(val state: WidgetState, val retry: Boolean)

/**
 * Fetches the widget state over HTTP with ETags, on top of whatever state is stored.
 *
 * It holds no state itself: the caller passes the stored state in and stores what comes back,
 * so the one copy lives in the app's DataStore. Rules:
 * - the stored good state's ETag goes out as `If-None-Match`; a 304 keeps that state;
 * - a 200 replaces it, unless its `seq` is older than the stored one (a push got there first);
 * - every failure becomes [WidgetState.Unavailable] carrying the last good state, never a crash.
 */
class WidgetStateRepository(
    private val config: WidgetConfig,
    private val fetcher: HttpFetcher,
    private val intervalS: Int = DEFAULT_INTERVAL_S,
    /** Signed in with OAuth: its access token replaces the API key, refreshed once on a 401. */
    private val tokens: TokenHolder? = null,
) {
    private val api = WidgetApi(config)

    init {
        require(intervalS > 0) { "interval must be a positive number of seconds, got $intervalS" }
    }

    fun refresh(current: WidgetState): RefreshResult {
        val lastGood = current.lastGood
        val etag = lastGood?.etag
        var bearer: String? = null
        if (tokens != null) {
            bearer = when (val access = tokens.access()) {
                is Access.Token -> access.accessToken
                else -> return denied(access, lastGood)
            }
        }
        var response = send(etag, bearer) ?: return offline(lastGood)
        if (response.status == 401 && tokens != null && bearer != null) {
            // expired or revoked early: one refresh, one retry
            bearer = when (val access = tokens.afterRejection(bearer)) {
                is Access.Token -> access.accessToken
                else -> return denied(access, lastGood)
            }
            response = send(etag, bearer) ?: return offline(lastGood)
        }
        return when (response.status) {
            200 -> RefreshResult(accept(response, lastGood), retry = false)
            304 ->
                if (lastGood != null && etag != null) {
                    RefreshResult(lastGood, retry = false)
                } else {
                    RefreshResult(WidgetState.Unavailable("Server answered 304 without a stored state", lastGood), retry = false)
                }
            else -> failure(response, lastGood)
        }
    }

    private var lastError: IOException? = null

    private fun send(etag: String?, bearer: String?): HttpResponse? =
        try {
            fetcher.fetch(api.widgetRequest(intervalS, etag, bearer))
        } catch (err: IOException) {
            lastError = err
            null
        }

    private fun offline(lastGood: WidgetState.Available?): RefreshResult {
        val err = lastError
        val why = err?.message?.takeIf { it.isNotBlank() } ?: err?.let { it::class.simpleName }
        return RefreshResult(WidgetState.Unavailable("No connection to the server ($why)", lastGood), retry = true)
    }

    private fun denied(access: Access, lastGood: WidgetState.Available?): RefreshResult =
        when (access) {
            is Access.SignedOut -> RefreshResult(WidgetState.Unavailable(access.reason, lastGood), retry = false)
            is Access.Unavailable -> RefreshResult(WidgetState.Unavailable(access.reason, lastGood), access.retry)
            is Access.Token -> error("not a refusal")
        }

    private fun accept(response: HttpResponse, lastGood: WidgetState.Available?): WidgetState {
        val snapshot =
            try {
                WidgetJson.parse(response.body)
            } catch (err: WidgetFormatException) {
                return WidgetState.Unavailable("Bad data from the server: ${err.message}", lastGood)
            }
        if (snapshot.household != config.household) {
            return WidgetState.Unavailable(
                "Server sent household \"${snapshot.household}\", expected \"${config.household}\"",
                lastGood,
            )
        }
        if (lastGood != null && snapshot.seq < lastGood.snapshot.seq) return lastGood
        return WidgetState.Available(snapshot, response.header("ETag"))
    }

    private fun failure(response: HttpResponse, lastGood: WidgetState.Available?): RefreshResult {
        val status = response.status
        val detail = apiErrorMessage(response.body)?.let { ": $it" } ?: ""
        val (reason, retry) =
            when {
                (status == 401 || status == 403) && tokens != null -> "Access refused (HTTP $status)$detail" to false
                status == 401 || status == 403 -> "API key rejected (HTTP $status)$detail" to false
                status == 404 -> "Household \"${config.household}\" not found (HTTP 404)$detail" to false
                status == 429 -> "Server busy (HTTP 429)" to true
                status in 500..599 -> "Server error (HTTP $status)$detail" to true
                else -> "Unexpected answer from the server (HTTP $status)$detail" to false
            }
        return RefreshResult(WidgetState.Unavailable(reason, lastGood), retry)
    }

    companion object {
        /** Averaging interval the widget asks for. [s] */
        const val DEFAULT_INTERVAL_S: Int = 60

        /**
         * Which state to store when a fetch that started from an older stored state finishes and
         * [latest] is what is stored now (a push may have landed during the fetch): the one whose
         * good state has the newer `seq`; on a tie (or neither has one) the fetch result.
         */
        fun merge(latest: WidgetState, fetched: WidgetState): WidgetState {
            val latestSeq = latest.lastGood?.snapshot?.seq ?: return fetched
            val fetchedSeq = fetched.lastGood?.snapshot?.seq ?: return latest
            return if (latestSeq > fetchedSeq) latest else fetched
        }
    }
}

/** Whether a push-token registration went through, and if not whether to try again later. */
sealed interface RegistrationResult {
    data object Registered : RegistrationResult

    data class Failed(val reason: String, val retry: Boolean) : RegistrationResult

    companion object {
        /** Classify the server's answer to a register or unregister request. */
        fun of(response: HttpResponse): RegistrationResult {
            val status = response.status
            val detail = apiErrorMessage(response.body)?.let { ": $it" } ?: ""
            return when {
                status in 200..299 -> Registered
                status == 429 || status in 500..599 -> Failed("HTTP $status$detail", retry = true)
                else -> Failed("HTTP $status$detail", retry = false)
            }
        }
    }
}
