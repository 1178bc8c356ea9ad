package org.gridlight.widget

import android.app.NotificationChannel
import android.app.NotificationManager
import android.content.Context
import android.util.Log
import com.google.firebase.messaging.FirebaseMessagingService
import com.google.firebase.messaging.RemoteMessage
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import org.gridlight.widget.core.PushHandler
import org.gridlight.widget.core.PushResult

/**
 * Receives FCM data messages `{"type": "widget_state", "household", "seq", "state"}`, stores the
 * state when it is newer than the stored one and redraws the widgets; registers new tokens.
 *
 * Visible red/critical notifications are separate notification messages shown by the system on
 * the [ALERTS_CHANNEL] channel: a message carrying both a notification and data does not reach
 * [onMessageReceived] while the app is in the background, so the state must travel data-only.
 */
class PushService : FirebaseMessagingService() {
    override fun onCreate() {
        super.onCreate()
        ensureAlertsChannel(this)
    }

    override fun onMessageReceived(message: RemoteMessage) {
        val data = message.data
        if (data["type"] != PushHandler.TYPE_WIDGET_STATE) return
        // Called on a background thread, with about 10 s to finish: block on the short store update.
        val result =
            runBlocking {
                withTimeoutOrNull(HANDLE_TIMEOUT_MS) { WidgetRepository(applicationContext).applyPush(data) }
            }
        when (result) {
            null -> Log.w(TAG, "push for seq ${data["seq"]} not stored within $HANDLE_TIMEOUT_MS ms")
            is PushResult.Apply -> Log.d(TAG, "push applied, seq ${result.state.snapshot.seq}")
            is PushResult.Ignore -> Log.d(TAG, "push ignored: ${result.reason}")
        }
    }

    override fun onNewToken(token: String) {
        TokenRegistrationWorker.enqueue(applicationContext, token)
    }

    companion object {
        private const val TAG = "GridlightPush"
        private const val HANDLE_TIMEOUT_MS = 8_000L

        /** Channel id also named in the manifest as FCM's default notification channel. */
        const val ALERTS_CHANNEL = "gridlight_alerts"

        fun ensureAlertsChannel(context: Context) {
            val manager = context.getSystemService(NotificationManager::class.java)
            if (manager.getNotificationChannel(ALERTS_CHANNEL) != null) return
            val channel =
                NotificationChannel(ALERTS_CHANNEL, context.getString(R.string.alerts_channel_name), NotificationManager.IMPORTANCE_HIGH)
            channel.description = context.getString(R.string.alerts_channel_description)
            manager.createNotificationChannel(channel)
        }
    }
}
