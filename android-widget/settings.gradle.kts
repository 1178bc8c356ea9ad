// Gridlight Android widget: `core` is pure Kotlin (unit-tested here by `make kotlin-test`, and by
// `./gradlew :core:test` where Gradle can reach Maven); `app` is the Android app around it.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "gridlight-widget"
include(":core", ":app")
