package org.gridlight.widget

import android.content.Context
import android.util.Log
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import androidx.work.workDataOf
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import org.gridlight.widget.core.Access
import org.gridlight.widget.core.HttpFetcher
import org.gridlight.widget.core.HttpResponse
import org.gridlight.widget.core.RegistrationResult
import org.gridlight.widget.core.WidgetApi
import org.gridlight.widget.core.WidgetConfig
import org.gridlight.widget.core.redactToken
import java.io.IOException
import java.time.Duration

/**
 * Registers this device's FCM token with the configured household
 * (`POST /api/v1/households/{h}/devices`, `{"token": …, "platform": "android"}`, with the API key),
 * first unregistering it (`DELETE`) from a household it was registered with before. Tokens are
 * never logged whole. Retried with backoff on network errors and 429/5xx, at most [MAX_RETRIES].
 */
class TokenRegistrationWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    private val fetcher: HttpFetcher = UrlConnectionFetcher()

    override suspend fun doWork(): Result {
        val token = inputData.getString(KEY_TOKEN) ?: return Result.failure()
        val configs = ConfigStore(applicationContext)
        val config = configs.load() ?: return Result.success() // registered once configured
        val previous = configs.registration()
        if (previous != null && previous.config == config && previous.token == token) return Result.success()
        val bearer = withContext(Dispatchers.IO) { accessToken(config) }
        if (previous != null) {
            // Best effort: the old household stops pushing here once it sees the token fail anyway.
            // The sign-in's tokens are the current server's (they are cleared when it changes).
            val sameServer = previous.config.serverUrl == config.serverUrl && previous.config.clientId == config.clientId
            val oldBearer = if (sameServer) bearer else null
            send { fetcher.fetch(WidgetApi(previous.config).unregisterDeviceRequest(previous.token, oldBearer)) }
            configs.saveRegistration(null)
        }
        return when (val result = send { fetcher.fetch(WidgetApi(config).registerDeviceRequest(token, bearer)) }) {
            RegistrationResult.Registered -> {
                configs.saveRegistration(ConfigStore.Registration(token, config))
                Log.i(TAG, "push token ${redactToken(token)} registered for household ${config.household}")
                Result.success()
            }
            is RegistrationResult.Failed -> {
                Log.w(TAG, "push token ${redactToken(token)} not registered: ${result.reason}")
                if (result.retry && runAttemptCount < MAX_RETRIES) Result.retry() else Result.failure()
            }
        }
    }

    /** The OAuth access token when signed in (`write` scope), else null: the API key is used. */
    private fun accessToken(config: WidgetConfig): String? =
        (SignIn.tokens(applicationContext, config)?.takeIf { it.isSignedIn }?.access() as? Access.Token)?.accessToken

    private suspend fun send(call: () -> HttpResponse): RegistrationResult =
        withContext(Dispatchers.IO) {
            try {
                RegistrationResult.of(call())
            } catch (err: IOException) {
                RegistrationResult.Failed("no connection (${err.message})", retry = true)
            }
        }

    companion object {
        private const val TAG = "GridlightPush"
        private const val WORK_NAME = "gridlight-register-token"
        private const val KEY_TOKEN = "token"
        const val MAX_RETRIES = 5

        /** Register [token] (a new one from FCM, or the current one after a configuration change). */
        fun enqueue(context: Context, token: String) {
            val request =
                OneTimeWorkRequestBuilder<TokenRegistrationWorker>()
                    .setInputData(workDataOf(KEY_TOKEN to token))
                    .setConstraints(Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build())
                    .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, Duration.ofSeconds(30))
                    .build()
            WorkManager.getInstance(context).enqueueUniqueWork(WORK_NAME, ExistingWorkPolicy.REPLACE, request)
        }
    }
}
