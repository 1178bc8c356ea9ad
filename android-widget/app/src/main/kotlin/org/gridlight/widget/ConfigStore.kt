package org.gridlight.widget

import android.content.Context
import androidx.datastore.core.DataStore
import androidx.datastore.preferences.core.Preferences
import androidx.datastore.preferences.core.edit
import androidx.datastore.preferences.core.stringPreferencesKey
import androidx.datastore.preferences.preferencesDataStore
import kotlinx.coroutines.flow.first
import org.gridlight.widget.core.WidgetConfig

/**
 * The configuration screen's settings and the push registration, in app-private storage
 * (excluded from backups: the API key is a credential). One household per installation.
 */
class ConfigStore(context: Context) {
    private val store: DataStore<Preferences> = context.applicationContext.configDataStore

    /** The saved configuration, or null before the user has saved one. */
    suspend fun load(): WidgetConfig? {
        val prefs = store.data.first()
        val serverUrl = prefs[SERVER_URL] ?: return null
        val household = prefs[HOUSEHOLD] ?: return null
        return WidgetConfig(serverUrl, household, prefs[API_KEY], prefs[CLIENT_ID])
    }

    suspend fun save(config: WidgetConfig) {
        store.edit { prefs ->
            prefs[SERVER_URL] = config.serverUrl
            prefs[HOUSEHOLD] = config.household
            val apiKey = config.apiKey
            if (apiKey == null) prefs.remove(API_KEY) else prefs[API_KEY] = apiKey
            val clientId = config.clientId
            if (clientId == null) prefs.remove(CLIENT_ID) else prefs[CLIENT_ID] = clientId
        }
    }

    /** Where the push token was last registered, so a changed configuration can unregister it. */
    suspend fun registration(): Registration? {
        val prefs = store.data.first()
        val token = prefs[REG_TOKEN] ?: return null
        val serverUrl = prefs[REG_SERVER_URL] ?: return null
        val household = prefs[REG_HOUSEHOLD] ?: return null
        return Registration(token, WidgetConfig(serverUrl, household, prefs[REG_API_KEY], prefs[REG_CLIENT_ID]))
    }

    suspend fun saveRegistration(registration: Registration?) {
        store.edit { prefs ->
            listOf(REG_TOKEN, REG_SERVER_URL, REG_HOUSEHOLD, REG_API_KEY, REG_CLIENT_ID).forEach { prefs.remove(it) }
            if (registration != null) {
                prefs[REG_TOKEN] = registration.token
                prefs[REG_SERVER_URL] = registration.config.serverUrl
                prefs[REG_HOUSEHOLD] = registration.config.household
                registration.config.apiKey?.let { prefs[REG_API_KEY] = it }
                registration.config.clientId?.let { prefs[REG_CLIENT_ID] = it }
            }
        }
    }

    /** A push token registered with [config]'s server and household. */
    data class Registration(val token: String, val config: WidgetConfig)

    private companion object {
        val SERVER_URL = stringPreferencesKey("server_url")
        val HOUSEHOLD = stringPreferencesKey("household")
        val API_KEY = stringPreferencesKey("api_key")
        val CLIENT_ID = stringPreferencesKey("oauth_client_id")
        val REG_TOKEN = stringPreferencesKey("registered_token")
        val REG_SERVER_URL = stringPreferencesKey("registered_server_url")
        val REG_HOUSEHOLD = stringPreferencesKey("registered_household")
        val REG_API_KEY = stringPreferencesKey("registered_api_key")
        val REG_CLIENT_ID = stringPreferencesKey("registered_oauth_client_id")
    }
}

private val Context.configDataStore: DataStore<Preferences> by preferencesDataStore(name = "gridlight_config")
