package org.gridlight.widget

import android.content.Context
import androidx.datastore.core.DataStore
import androidx.datastore.preferences.core.Preferences
import androidx.datastore.preferences.core.edit
import androidx.datastore.preferences.core.longPreferencesKey
import androidx.datastore.preferences.core.stringPreferencesKey
import androidx.datastore.preferences.preferencesDataStore
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import org.gridlight.widget.core.PendingAuthorization
import org.gridlight.widget.core.TokenStorage
import org.gridlight.widget.core.Tokens

/**
 * The sign-in's secrets in app-private DataStore (backups are off): the OAuth tokens, and the
 * authorization in progress (state and PKCE verifier) while the browser is open, since the
 * process may be killed meanwhile. Tokens are never logged.
 *
 * As the core's [TokenStorage] it blocks: the core's [org.gridlight.widget.core.TokenHolder]
 * runs on [kotlinx.coroutines.Dispatchers.IO], never on the main thread.
 */
class AuthStore(context: Context) : TokenStorage {
    private val store: DataStore<Preferences> = context.applicationContext.authDataStore

    override fun load(): Tokens? = runBlocking { tokens() }

    override fun save(tokens: Tokens?) = runBlocking { saveTokens(tokens) }

    suspend fun tokens(): Tokens? {
        val prefs = store.data.first()
        val access = prefs[ACCESS] ?: return null
        return Tokens(access, prefs[REFRESH], prefs[EXPIRES_AT_EPOCH_S] ?: 0L, prefs[SCOPE])
    }

    /** Replace the tokens in one edit (a rotated refresh token never coexists with the old). */
    suspend fun saveTokens(tokens: Tokens?) {
        store.edit { prefs ->
            listOf(ACCESS, REFRESH, SCOPE).forEach { prefs.remove(it) }
            prefs.remove(EXPIRES_AT_EPOCH_S)
            if (tokens != null) {
                prefs[ACCESS] = tokens.accessToken
                tokens.refreshToken?.let { prefs[REFRESH] = it }
                prefs[EXPIRES_AT_EPOCH_S] = tokens.expiresAtEpochS
                tokens.scope?.let { prefs[SCOPE] = it }
            }
        }
    }

    suspend fun pending(): PendingAuthorization? {
        val prefs = store.data.first()
        return PendingAuthorization(prefs[PENDING_STATE] ?: return null, prefs[PENDING_VERIFIER] ?: return null, "")
    }

    suspend fun savePending(pending: PendingAuthorization?) {
        store.edit { prefs ->
            prefs.remove(PENDING_STATE)
            prefs.remove(PENDING_VERIFIER)
            if (pending != null) {
                prefs[PENDING_STATE] = pending.state
                prefs[PENDING_VERIFIER] = pending.verifier
            }
        }
    }

    private companion object {
        val ACCESS = stringPreferencesKey("access_token")
        val REFRESH = stringPreferencesKey("refresh_token")
        val EXPIRES_AT_EPOCH_S = longPreferencesKey("access_expires_at_epoch_s")
        val SCOPE = stringPreferencesKey("scope")
        val PENDING_STATE = stringPreferencesKey("pending_state")
        val PENDING_VERIFIER = stringPreferencesKey("pending_verifier")
    }
}

private val Context.authDataStore: DataStore<Preferences> by preferencesDataStore(name = "gridlight_auth")
