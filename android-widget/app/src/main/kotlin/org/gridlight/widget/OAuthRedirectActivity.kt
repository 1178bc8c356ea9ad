package org.gridlight.widget

import android.content.Intent
import android.os.Bundle
import android.widget.Toast
import androidx.activity.ComponentActivity
import androidx.lifecycle.lifecycleScope
import kotlinx.coroutines.launch

/**
 * Receives the browser's redirect to `org.gridlight.widget:/oauth?code=…&state=…` (the intent
 * filter in the manifest), lets [SignIn.finish] check the state and exchange the code, and goes
 * back to the configuration screen. No UI of its own.
 */
class OAuthRedirectActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val uri = intent?.data?.toString()
        if (uri == null) {
            finish()
            return
        }
        lifecycleScope.launch {
            val message = SignIn.finish(applicationContext, uri)
            Toast.makeText(applicationContext, message, Toast.LENGTH_LONG).show()
            startActivity(
                Intent(this@OAuthRedirectActivity, ConfigActivity::class.java)
                    .addFlags(Intent.FLAG_ACTIVITY_CLEAR_TOP or Intent.FLAG_ACTIVITY_SINGLE_TOP),
            )
            finish()
        }
    }
}
