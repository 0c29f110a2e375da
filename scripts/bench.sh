#!/usr/bin/env bash
# make bench: the gateway beside direct access and an nginx mTLS reverse proxy,
# driven by one load generator (bench/, a module of its own so that its chart
# library stays out of the gateway's dependencies). Installs nginx from
# Debian's packages when it is missing. Only loopback addresses are used;
# every process is started and stopped by the harness, by its PID.
#
#   BENCH_QUICK=1   the short run, about a minute (results in .build/bench/)
#   BENCH_OUT=DIR   where results.md, results.json and chart.png go
#                   (default docs/benchmarks/, or .build/bench/ when quick)
#   BENCH_ARGS=...  more msgbench flags, e.g. "-only get1k,idle -keep"
set -euo pipefail
cd "$(dirname "$0")/.."

# The Debian package pinned here (bookworm).
NGINX_DEB_VERSION="${NGINX_DEB_VERSION:-1.22.1-9+deb12u11}"
GO="${GO:-go}"

log() { printf '[bench] %s\n' "$*"; }

install_nginx() {
	if command -v nginx >/dev/null 2>&1; then
		return
	fi
	log "installing nginx=${NGINX_DEB_VERSION} from Debian's packages"
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || { log "nginx is missing and this is not root: apt-get install nginx=${NGINX_DEB_VERSION}"; exit 1; }
		sudo="sudo"
	fi
	$sudo apt-get update -qq
	# The package's own service must not start: the harness runs nginx from a
	# private prefix with its own config.
	printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
	$sudo chmod +x /usr/sbin/policy-rc.d
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
		"nginx=${NGINX_DEB_VERSION}" "nginx-common=${NGINX_DEB_VERSION}" >/dev/null || {
		$sudo rm -f /usr/sbin/policy-rc.d
		exit 1
	}
	$sudo rm -f /usr/sbin/policy-rc.d
}

install_nginx
installed=$(dpkg-query -W -f='${Version}' nginx 2>/dev/null || echo unknown)
[ "$installed" = "$NGINX_DEB_VERSION" ] || log "note: nginx ${installed} is installed, the pinned version is ${NGINX_DEB_VERSION}"

out="${BENCH_OUT:-}"
if [ -z "$out" ]; then
	if [ "${BENCH_QUICK:-}" = "1" ]; then out=.build/bench; else out=docs/benchmarks; fi
fi

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
log "building msg-gateway and msgbench"
"$GO" build -trimpath -o "$bin/msg-gateway" ./cmd/msg-gateway
# -mod=mod: bench/go.mod follows the main module's requirements (replace ../) even
# when they moved since it was last tidied.
(cd bench && "$GO" build -mod=mod -trimpath -o "$bin/msgbench" .)

log "load average now: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine moves the numbers)"
# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
"$bin/msgbench" -gateway "$bin/msg-gateway" -out "$out" ${BENCH_ARGS:-}
