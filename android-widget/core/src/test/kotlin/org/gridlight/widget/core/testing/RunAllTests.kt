package org.gridlight.widget.core.testing

import org.junit.runner.Description
import org.junit.runner.JUnitCore
import org.junit.runner.Request
import org.junit.runner.notification.Failure
import org.junit.runner.notification.RunListener
import java.io.File
import java.lang.reflect.Modifier
import kotlin.system.exitProcess

/**
 * Runs every JUnit 4 test class (name ending in `Test`) compiled into the directory given as the
 * first argument, prints each failure, and ends with `N passed, M failed`. Exit status 1 when a
 * test failed or no test ran. Used by `make kotlin-test`, where Gradle is not available.
 */
fun main(args: Array<String>) {
    require(args.size == 1) { "usage: RunAllTests <directory of compiled test classes>" }
    val root = File(args[0])
    require(root.isDirectory) { "not a directory: $root" }
    val classes =
        root.walkTopDown()
            .filter { it.isFile && it.name.endsWith("Test.class") }
            .map { it.relativeTo(root).path.removeSuffix(".class").replace(File.separatorChar, '.') }
            .sorted()
            .map { Class.forName(it) }
            .filter { !Modifier.isAbstract(it.modifiers) }
            .toList()
    val listener = SummaryListener()
    val core = JUnitCore()
    core.addListener(listener)
    val started = System.nanoTime()
    for (cls in classes) core.run(Request.aClass(cls))
    val seconds = (System.nanoTime() - started) / 1e9
    println("ran ${classes.size} test classes in %.2f s".format(seconds))
    println("${listener.passed} passed, ${listener.failed} failed" + if (listener.ignored > 0) ", ${listener.ignored} ignored" else "")
    exitProcess(if (listener.failed == 0 && listener.passed > 0) 0 else 1)
}

private class SummaryListener : RunListener() {
    var passed = 0
    var failed = 0
    var ignored = 0
    private var currentFailed = false

    override fun testStarted(description: Description) {
        currentFailed = false
    }

    override fun testFailure(failure: Failure) {
        currentFailed = true
        failed++
        println("FAIL ${failure.description.className}.${failure.description.methodName}")
        val trace = failure.trace.lineSequence().filterNot { it.contains("at org.junit.") || it.contains("at java.base/") }
        trace.take(15).forEach { println("    $it") }
    }

    override fun testAssumptionFailure(failure: Failure) {
        currentFailed = true
        ignored++
    }

    override fun testIgnored(description: Description) {
        ignored++
    }

    override fun testFinished(description: Description) {
        if (!currentFailed) passed++
    }
}
