package org.gridlight.widget

import android.content.Context
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import java.time.Duration

/**
 * Fetches the widget state and redraws the widgets. Runs as unique periodic work every
 * [PERIOD] (Android's minimum) as the fallback behind FCM pushes, and as unique one-time work
 * on a tap. Network failures and HTTP 429/5xx are retried with exponential backoff, at most
 * [MAX_RETRIES] times per run; the widget shows the failure meanwhile (Unavailable, last values kept).
 */
class RefreshWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result {
        val result = WidgetRepository(applicationContext).refresh() ?: return Result.success()
        return if (result.retry && runAttemptCount < MAX_RETRIES) Result.retry() else Result.success()
    }

    companion object {
        private const val PERIODIC_WORK = "gridlight-refresh-periodic"
        private const val ONE_TIME_WORK = "gridlight-refresh-now"

        /** Retries after a retryable failure, per run (the next period starts afresh). */
        const val MAX_RETRIES = 3

        /** Android's floor for periodic work. */
        val PERIOD: Duration = Duration.ofMinutes(15)

        /** First retry delay; WorkManager doubles it per attempt (30 s, 60 s, 120 s). */
        val BACKOFF: Duration = Duration.ofSeconds(30)

        private val network = Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build()

        /** Start (or keep, with updated parameters) the periodic refresh. */
        fun schedule(context: Context) {
            val request =
                PeriodicWorkRequestBuilder<RefreshWorker>(PERIOD)
                    .setConstraints(network)
                    .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, BACKOFF)
                    .build()
            WorkManager.getInstance(context)
                .enqueueUniquePeriodicWork(PERIODIC_WORK, ExistingPeriodicWorkPolicy.UPDATE, request)
        }

        /** Refresh as soon as there is a network; a second tap replaces a pending one. */
        fun refreshNow(context: Context) {
            val request =
                OneTimeWorkRequestBuilder<RefreshWorker>()
                    .setConstraints(network)
                    .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, BACKOFF)
                    .build()
            WorkManager.getInstance(context).enqueueUniqueWork(ONE_TIME_WORK, ExistingWorkPolicy.REPLACE, request)
        }

        fun cancel(context: Context) {
            val manager = WorkManager.getInstance(context)
            manager.cancelUniqueWork(PERIODIC_WORK)
            manager.cancelUniqueWork(ONE_TIME_WORK)
        }
    }
}
