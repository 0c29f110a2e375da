// Package server assembles the gateway: the mTLS gRPC listener with its
// interceptor chain, the relay behind it, and the admin HTTP listener. Run
// blocks until its context is cancelled and then stops gracefully.
//
// The server also owns the operations surface: Prometheus metrics on a
// registry of its own (served at /metrics on the admin listener), optional
// OpenTelemetry tracing of RPCs and upstream requests, the health endpoints
// and the drain. The relay and authz report to it through small hooks
// (relay.Observer, authz.Interceptors.OnDecision) and import no metrics
// library.
//
// TLS hardening lives here too: the data-plane TLS material is reloaded on
// file change or [Server.ReloadTLS] without dropping connections, CRLs and
// other [authz.RevocationChecker]s are consulted in the handshake and on every
// request, connections close when their client certificate expires or is
// revoked, and per-principal rate and in-flight limits bound each caller.
// docs/SECURITY.md lists the promises and the tests that check them.
package server
