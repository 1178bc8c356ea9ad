#!/usr/bin/env bash
# Compile the pure Kotlin core module and its unit tests with a pinned kotlinc (npm package
# `kotlin-compiler`, installed into android-widget/.tools) and run them with Debian's JUnit 4.
# No Gradle, no Android SDK, no Maven: this is what `make kotlin-test` (and so `make test`) runs.
# Prints "N passed, M failed" last and exits non-zero when a test fails or nothing compiles.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$here/.tools"
core="$here/core"
out="$here/core/build/kotlin-test"
kotlin_home="$tools/node_modules/kotlin-compiler"
junit_jar=/usr/share/java/junit4.jar
hamcrest_jar=/usr/share/java/hamcrest-core.jar

# --- JDK 17+ ----------------------------------------------------------------------------------
if ! command -v java >/dev/null 2>&1; then
    echo "kotlin-test: needs a JDK 17 or newer on PATH (Debian: apt-get install openjdk-17-jdk-headless)" >&2
    exit 1
fi
java_major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
if [ "${java_major%%.*}" -lt 17 ] 2>/dev/null; then
    echo "kotlin-test: needs Java 17 or newer, found java.specification.version=$java_major" >&2
    exit 1
fi

# --- JUnit 4 from Debian ------------------------------------------------------------------------
if [ ! -f "$junit_jar" ] || [ ! -f "$hamcrest_jar" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "kotlin-test: needs the Debian package junit4 ($junit_jar)." >&2
        echo "Install it with: sudo apt-get install -y --no-install-recommends junit4" >&2
        exit 1
    fi
    echo "kotlin-test: installing Debian package junit4"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends junit4 >/dev/null
fi

# --- pinned kotlinc from npm --------------------------------------------------------------------
pinned="$(sed -n 's/.*"kotlin-compiler": *"\([^"]*\)".*/\1/p' "$tools/package.json")"
installed="$(cat "$kotlin_home/build.txt" 2>/dev/null || true)"
if [ "$installed" != "$pinned" ]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "kotlin-test: needs npm to install kotlin-compiler@$pinned (Debian: apt-get install npm)" >&2
        exit 1
    fi
    echo "kotlin-test: installing kotlin-compiler@$pinned into $tools"
    npm ci --prefix "$tools" --no-audit --no-fund --loglevel=error
fi
kotlinc="$kotlin_home/bin/kotlinc"
lib="$kotlin_home/lib"

# --- compile: main alone (stdlib only, so it stays pure), then the tests against it --------------
# Each step is skipped when its inputs (compiler version, file names and contents) are unchanged.
mkdir -p "$out"
mapfile -t main_sources < <(find "$core/src/main/kotlin" -name '*.kt' | sort)
mapfile -t test_sources < <(find "$core/src/test/kotlin" -name '*.kt' | sort)
kotlinc_flags=(-jvm-target 17 -Werror -J-XX:TieredStopAtLevel=1)
test_cp="$out/main:$junit_jar:$hamcrest_jar:$lib/kotlin-test.jar:$lib/kotlin-test-junit.jar"

fingerprint() { # compiler version, then each file's name and contents
    { echo "$pinned"; for f in "$@"; do echo "$f"; cat "$f"; done; } | sha256sum | cut -d' ' -f1
}

compile() { # name, fingerprint, classpath, sources...
    local name="$1" print="$2" cp="$3"
    shift 3
    if [ -d "$out/$name" ] && [ "$(cat "$out/$name.sha256" 2>/dev/null)" = "$print" ]; then
        echo "kotlin-test: $name classes up to date"
        return
    fi
    echo "kotlin-test: compiling $# $name sources with kotlinc $pinned"
    rm -rf "$out/$name" "$out/$name.sha256"
    "$kotlinc" "${kotlinc_flags[@]}" ${cp:+-cp "$cp"} -d "$out/$name" "$@"
    echo "$print" >"$out/$name.sha256"
}

main_print="$(fingerprint "${main_sources[@]}")"
compile main "$main_print" "" "${main_sources[@]}"
compile test "$(echo "$main_print" "$(fingerprint "${test_sources[@]}")" | sha256sum)" "$test_cp" "${test_sources[@]}"

# --- run ------------------------------------------------------------------------------------------
run_cp="$out/test:$test_cp:$lib/kotlin-stdlib.jar"
exec java -cp "$run_cp" org.gridlight.widget.core.testing.RunAllTestsKt "$out/test"
