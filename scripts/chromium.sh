#!/usr/bin/env bash
# Installs Debian's chromium for the console's browser tests when it is
# missing (the way scripts/security.sh installs testssl.sh): pinned to the
# version below. chromium ships through bookworm-security, where an old
# version disappears once a newer one is published; if the pin is gone the
# current candidate is installed and the difference is printed, so that CI
# does not break on a Debian security update (bump the pin then).
set -euo pipefail

CHROMIUM_DEB_VERSION="${CHROMIUM_DEB_VERSION:-156.0.8078.108-1~deb12u1}"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

log() { printf '[chromium] %s\n' "$*"; }

if [ -x "$CHROMIUM" ]; then
	exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || { log "chromium is missing and this is not root: apt-get install chromium=${CHROMIUM_DEB_VERSION}"; exit 1; }
	sudo="sudo"
fi
log "installing chromium=${CHROMIUM_DEB_VERSION} from Debian's packages"
$sudo apt-get update -qq
if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "chromium=${CHROMIUM_DEB_VERSION}" >/dev/null; then
	log "note: chromium=${CHROMIUM_DEB_VERSION} is no longer offered; installing the current candidate"
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
installed=$(dpkg-query -W -f='${Version}' chromium 2>/dev/null || echo unknown)
[ "$installed" = "$CHROMIUM_DEB_VERSION" ] || log "note: chromium ${installed} is installed, the pinned version is ${CHROMIUM_DEB_VERSION}"
test -x "$CHROMIUM" || { log "no $CHROMIUM after the install"; exit 1; }
