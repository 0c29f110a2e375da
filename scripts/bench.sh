#!/usr/bin/env bash
# make bench: the gateway beside direct access, the floor of its design (a
# bare grpc-go server and client) and three mTLS reverse proxies (nginx,
# HAProxy, Caddy), driven by one load generator (bench/, a module of its own
# so that its chart library stays out of the gateway's dependencies).
# Installs the proxies from Debian's packages, pinned, when they are missing.
# Only loopback addresses are used; every process is started and stopped by
# the harness, by its PID.
#
#   BENCH_QUICK=1   the short run, about a minute (results in .build/bench/)
#   BENCH_OUT=DIR   where results.md, results.json and chart.png go
#                   (default docs/benchmarks/, or .build/bench/ when quick)
#   BENCH_ARGS=...  more msgbench flags, e.g. "-only get1k,idle -keep"
set -euo pipefail
cd "$(dirname "$0")/.."

# The Debian packages pinned here (bookworm).
NGINX_DEB_VERSION="${NGINX_DEB_VERSION:-1.22.1-9+deb12u11}"
HAPROXY_DEB_VERSION="${HAPROXY_DEB_VERSION:-2.6.12-1+deb12u4}"
CADDY_DEB_VERSION="${CADDY_DEB_VERSION:-2.6.2-5}"
GO="${GO:-go}"

log() { printf '[bench] %s\n' "$*"; }

# install_debs installs the pinned packages (name=version ...) of the
# proxies that are missing. Their own services must not start: the harness
# runs each from a private directory with its own config.
install_debs() {
	[ "$#" -gt 0 ] || return 0
	log "installing $* from Debian's packages"
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || { log "missing and this is not root: apt-get install $*"; exit 1; }
		sudo="sudo"
	fi
	$sudo apt-get update -qq
	printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
	$sudo chmod +x /usr/sbin/policy-rc.d
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null || {
		$sudo rm -f /usr/sbin/policy-rc.d
		exit 1
	}
	$sudo rm -f /usr/sbin/policy-rc.d
}

missing=()
command -v nginx >/dev/null 2>&1 || missing+=("nginx=${NGINX_DEB_VERSION}" "nginx-common=${NGINX_DEB_VERSION}")
command -v haproxy >/dev/null 2>&1 || missing+=("haproxy=${HAPROXY_DEB_VERSION}")
command -v caddy >/dev/null 2>&1 || missing+=("caddy=${CADDY_DEB_VERSION}")
install_debs "${missing[@]}"
for pkg in nginx:"$NGINX_DEB_VERSION" haproxy:"$HAPROXY_DEB_VERSION" caddy:"$CADDY_DEB_VERSION"; do
	name=${pkg%%:*} want=${pkg#*:}
	installed=$(dpkg-query -W -f='${Version}' "$name" 2>/dev/null || echo unknown)
	[ "$installed" = "$want" ] || log "note: $name ${installed} is installed, the pinned version is ${want}"
done

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
