#!/usr/bin/env bash
# Make sure the Debian packages the tests and `make run` rely on are present.
# Arguments name more packages (`make test` adds chromium, found by its command).
# Installs them with apt-get when missing and running as root; otherwise says what to install.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
{ command -v mosquitto >/dev/null 2>&1 || test -x /usr/sbin/mosquitto; } || need+=(mosquitto)
for pkg in "$@"; do
    case "$pkg" in
        chromium) command -v chromium >/dev/null 2>&1 || need+=(chromium) ;;
        *) dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg") ;;
    esac
done
if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "Gridlight needs these Debian packages: ${need[*]}" >&2
    echo "Install them with: sudo apt-get install -y ${need[*]}" >&2
    exit 1
fi
echo "Installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
