// Pure Kotlin/JVM: no Android, no dependencies beyond the standard library, so its logic is
// tested on any JVM. `make kotlin-test` compiles the same sources with kotlinc directly.
plugins {
    alias(libs.plugins.kotlin.jvm)
}

kotlin {
    jvmToolchain(17)
    compilerOptions {
        allWarningsAsErrors.set(true)
    }
}

dependencies {
    testImplementation(libs.junit4)
    testImplementation(libs.kotlin.test.junit)
}
