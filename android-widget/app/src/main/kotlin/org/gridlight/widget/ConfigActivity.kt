package org.gridlight.widget

import android.Manifest
import android.appwidget.AppWidgetManager
import android.content.Intent
import android.content.pm.PackageManager
import android.os.Build
import android.os.Bundle
import android.util.Log
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.produceState
import androidx.compose.runtime.remember
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.compose.ui.text.input.VisualTransformation
import androidx.compose.ui.unit.dp
import androidx.core.content.ContextCompat
import androidx.lifecycle.lifecycleScope
import com.google.firebase.messaging.FirebaseMessaging
import kotlinx.coroutines.launch
import kotlinx.coroutines.tasks.await
import org.gridlight.widget.core.ConfigCheck
import org.gridlight.widget.core.ConfigField
import org.gridlight.widget.core.ConfigValidation
import org.gridlight.widget.core.WidgetConfig

/**
 * Configuration screen: server URL, household and API key (optional in demo mode), or the app's
 * OAuth client id and "Sign in" (PKCE in a Custom Tab, [SignIn]) instead of a pasted key;
 * validated by the core's [ConfigValidation] with a message per bad field. Opened when a widget
 * is placed (APPWIDGET_CONFIGURE), from the launcher and after the sign-in's redirect; saving
 * applies to every widget.
 */
class ConfigActivity : ComponentActivity() {
    private val requestNotifications =
        registerForActivityResult(ActivityResultContracts.RequestPermission()) { /* optional */ }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val appWidgetId =
            intent?.extras?.getInt(AppWidgetManager.EXTRA_APPWIDGET_ID, AppWidgetManager.INVALID_APPWIDGET_ID)
                ?: AppWidgetManager.INVALID_APPWIDGET_ID
        // Backing out of the configuration of a new widget must not place it.
        setResult(RESULT_CANCELED, Intent().putExtra(AppWidgetManager.EXTRA_APPWIDGET_ID, appWidgetId))
        PushService.ensureAlertsChannel(this)
        askForNotifications()

        val store = ConfigStore(applicationContext)
        val auth = AuthStore(applicationContext)
        setContent {
            MaterialTheme {
                Surface(modifier = Modifier.fillMaxSize()) {
                    val saved by produceState<Loaded>(Loaded.Pending) {
                        value = Loaded.Done(store.load(), auth.tokens() != null)
                    }
                    when (val loaded = saved) {
                        Loaded.Pending -> Unit
                        is Loaded.Done ->
                            ConfigForm(
                                loaded.config,
                                loaded.signedIn,
                                onSave = { config -> save(store, config, appWidgetId) },
                                onSignIn = { config -> signIn(store, config) },
                                onSignOut = { config -> signOut(config) },
                            )
                    }
                }
            }
        }
    }

    /** Keep the configuration (the redirect needs it), then open the sign-in page. */
    private fun signIn(store: ConfigStore, config: WidgetConfig) {
        lifecycleScope.launch {
            forgetSignInOfAnotherServer(store.load(), config)
            store.save(config)
            SignIn.start(this@ConfigActivity, config)
        }
    }

    private fun signOut(config: WidgetConfig) {
        lifecycleScope.launch {
            SignIn.signOut(applicationContext, config)
            recreate()
        }
    }

    private fun save(store: ConfigStore, config: WidgetConfig, appWidgetId: Int) {
        lifecycleScope.launch {
            val before = store.load()
            forgetSignInOfAnotherServer(before, config)
            store.save(config)
            val repository = WidgetRepository(applicationContext)
            if (before == null || before.household != config.household || before.serverUrl != config.serverUrl) repository.reset()
            RefreshWorker.schedule(applicationContext)
            RefreshWorker.refreshNow(applicationContext)
            try {
                TokenRegistrationWorker.enqueue(applicationContext, FirebaseMessaging.getInstance().token.await())
            } catch (err: Exception) {
                // No Play services or no network yet: onNewToken registers when a token arrives.
                Log.w("GridlightConfig", "no FCM token yet: ${err.message}")
            }
            setResult(RESULT_OK, Intent().putExtra(AppWidgetManager.EXTRA_APPWIDGET_ID, appWidgetId))
            finish()
        }
    }

    /** Tokens belong to one server and client: never send them to another one. */
    private suspend fun forgetSignInOfAnotherServer(before: WidgetConfig?, config: WidgetConfig) {
        if (before != null && (before.serverUrl != config.serverUrl || before.clientId != config.clientId)) {
            AuthStore(applicationContext).saveTokens(null)
        }
    }

    private fun askForNotifications() {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU &&
            ContextCompat.checkSelfPermission(this, Manifest.permission.POST_NOTIFICATIONS) != PackageManager.PERMISSION_GRANTED
        ) {
            requestNotifications.launch(Manifest.permission.POST_NOTIFICATIONS)
        }
    }

    private sealed interface Loaded {
        data object Pending : Loaded

        data class Done(val config: WidgetConfig?, val signedIn: Boolean) : Loaded
    }
}

@Composable
private fun ConfigForm(
    initial: WidgetConfig?,
    signedIn: Boolean,
    onSave: (WidgetConfig) -> Unit,
    onSignIn: (WidgetConfig) -> Unit,
    onSignOut: (WidgetConfig) -> Unit,
) {
    var serverUrl by rememberSaveable { mutableStateOf(initial?.serverUrl ?: "") }
    var household by rememberSaveable { mutableStateOf(initial?.household ?: "") }
    var apiKey by rememberSaveable { mutableStateOf(initial?.apiKey ?: "") }
    var clientId by rememberSaveable { mutableStateOf(initial?.clientId ?: "") }
    var errors by remember { mutableStateOf(emptyMap<ConfigField, String>()) }

    /** The checked configuration, or null with the errors shown. */
    fun checked(): WidgetConfig? =
        when (val check = ConfigValidation.validate(serverUrl, household, apiKey, clientId)) {
            is ConfigCheck.Valid -> check.config.also { errors = emptyMap() }
            is ConfigCheck.Invalid -> {
                errors = check.errors
                null
            }
        }

    Column(
        modifier = Modifier.fillMaxSize().padding(24.dp).verticalScroll(rememberScrollState()),
        verticalArrangement = Arrangement.spacedBy(12.dp),
    ) {
        Text("Gridlight widget", style = MaterialTheme.typography.headlineSmall)
        Field("Server URL", serverUrl, errors[ConfigField.SERVER_URL], KeyboardType.Uri) { serverUrl = it }
        Field("Household", household, errors[ConfigField.HOUSEHOLD], KeyboardType.Ascii) { household = it }
        Field("API key (empty in demo mode or when signed in)", apiKey, errors[ConfigField.API_KEY], KeyboardType.Password, secret = true) {
            apiKey = it
        }
        Field("App client id (for signing in)", clientId, errors[ConfigField.CLIENT_ID], KeyboardType.Ascii) { clientId = it }
        if (signedIn) {
            Text("Signed in: the widget uses your account, not the key.")
            OutlinedButton(modifier = Modifier.fillMaxWidth(), onClick = { checked()?.let(onSignOut) }) { Text("Sign out") }
        } else {
            OutlinedButton(
                modifier = Modifier.fillMaxWidth(),
                onClick = {
                    val config = checked()
                    when {
                        config == null -> Unit // the errors are shown
                        config.clientId == null ->
                            errors = mapOf(ConfigField.CLIENT_ID to "Enter the client id the server's owner registered for this app")
                        else -> onSignIn(config)
                    }
                },
            ) { Text("Sign in") }
        }
        Button(modifier = Modifier.fillMaxWidth(), onClick = { checked()?.let(onSave) }) { Text("Save") }
    }
}

@Composable
private fun Field(
    label: String,
    value: String,
    error: String?,
    keyboard: KeyboardType,
    secret: Boolean = false,
    onChange: (String) -> Unit,
) {
    OutlinedTextField(
        value = value,
        onValueChange = onChange,
        label = { Text(label) },
        isError = error != null,
        supportingText = error?.let { { Text(it) } },
        singleLine = true,
        keyboardOptions = KeyboardOptions(keyboardType = keyboard, autoCorrectEnabled = false),
        visualTransformation = if (secret) PasswordVisualTransformation() else VisualTransformation.None,
        modifier = Modifier.fillMaxWidth(),
    )
}
