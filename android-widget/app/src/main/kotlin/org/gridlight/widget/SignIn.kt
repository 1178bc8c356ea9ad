package org.gridlight.widget

import android.app.Activity
import android.content.Context
import android.net.Uri
import android.util.Log
import androidx.browser.customtabs.CustomTabsIntent
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import org.gridlight.widget.core.OAuthClient
import org.gridlight.widget.core.RedirectResult
import org.gridlight.widget.core.TokenHolder
import org.gridlight.widget.core.TokenResult
import org.gridlight.widget.core.WidgetConfig
import java.io.IOException

/**
 * Signing in with OAuth 2.0 + PKCE (contract in `android-widget/README.md`): [start] opens the
 * server's sign-in and consent page in a Custom Tab, [finish] takes the redirect
 * (`org.gridlight.widget:/oauth?code=…&state=…`, see [OAuthRedirectActivity]) and exchanges the
 * code; [tokens] is the process's one [TokenHolder], which the widget's fetches and the push
 * registration use. The core builds every request and reads every answer.
 */
object SignIn {
    private const val TAG = "GridlightSignIn"
    private var holder: Pair<String, TokenHolder>? = null

    /** The process's token holder for [config]'s server and client; null without a client id. */
    fun tokens(context: Context, config: WidgetConfig): TokenHolder? {
        val client = config.oauthClient() ?: return null
        val key = "${config.serverUrl} ${client.clientId}"
        synchronized(this) {
            holder?.takeIf { it.first == key }?.let { return it.second }
            return TokenHolder(client, UrlConnectionFetcher(), AuthStore(context.applicationContext)).also { holder = key to it }
        }
    }

    /** A fresh state and verifier, kept until the browser comes back, and the page opened. */
    suspend fun start(activity: Activity, config: WidgetConfig) {
        val client = requireNotNull(config.oauthClient()) { "no OAuth client id configured" }
        val pending = client.begin()
        AuthStore(activity).savePending(pending)
        CustomTabsIntent.Builder().build().launchUrl(activity, Uri.parse(pending.url))
    }

    /** The browser came back on [uri]: a message for the person. */
    suspend fun finish(context: Context, uri: String): String {
        val config = ConfigStore(context).load() ?: return WidgetRepository.NOT_CONFIGURED
        val client: OAuthClient = config.oauthClient() ?: return "Enter the app's client id first"
        val auth = AuthStore(context)
        val pending = auth.pending() ?: return "No sign-in was started"
        return when (val redirect = client.parseRedirect(pending, uri)) {
            is RedirectResult.Invalid -> "Sign-in ignored: ${redirect.reason}".also { Log.w(TAG, it) }
            is RedirectResult.Denied -> {
                auth.savePending(null)
                if (redirect.error == "access_denied") "Sign-in cancelled" else "Sign-in refused: ${redirect.description ?: redirect.error}"
            }
            is RedirectResult.Code -> {
                auth.savePending(null) // a code and its verifier are used once
                exchange(context, config, client, redirect.code, pending.verifier)
            }
        }
    }

    private suspend fun exchange(context: Context, config: WidgetConfig, client: OAuthClient, code: String, verifier: String): String =
        withContext(Dispatchers.IO) {
            val response =
                try {
                    UrlConnectionFetcher().fetch(client.tokenRequest(code, verifier))
                } catch (err: IOException) {
                    return@withContext "Sign-in failed: no connection (${err.message})"
                }
            when (val result = OAuthClient.parseTokenResponse(response, System.currentTimeMillis() / 1000)) {
                is TokenResult.Granted -> {
                    tokens(context, config)!!.keep(result.tokens)
                    RefreshWorker.refreshNow(context)
                    "Signed in"
                }
                is TokenResult.Refused -> "Sign-in refused: ${result.description ?: result.error}"
                is TokenResult.Failed -> "Sign-in failed: ${result.reason}"
            }
        }

    /** Forget the tokens and revoke the refresh token (best effort). */
    suspend fun signOut(context: Context, config: WidgetConfig): Unit =
        withContext(Dispatchers.IO) {
            val revoke = tokens(context, config)?.signOut() ?: return@withContext
            try {
                UrlConnectionFetcher().fetch(revoke)
            } catch (err: IOException) {
                Log.w(TAG, "revocation not sent: ${err.message}")
            }
            Unit
        }
}
