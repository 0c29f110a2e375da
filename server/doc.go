// Package server assembles the gateway: the mTLS gRPC listener with its
// interceptor chain, the relay behind it, the store it serves from, and the
// admin HTTP listener. [Run] is the whole of it for a program: it builds the
// server and blocks until its context is cancelled, then stops gracefully.
//
// A [Server]'s parts are small types grouped by what they serve: the data
// plane (the compiled store snapshot in force, its TLS material from package
// tlsmaterial, the intake and per-principal limits), the admin listener, the
// store session the data plane follows, and operations.
//
// The server also owns the operations surface: Prometheus metrics on a
// registry of its own (served at /metrics on the admin listener), optional
// OpenTelemetry tracing of RPCs and upstream requests, the health endpoints
// and the drain. The relay and authz report to it through small hooks
// (relay.Observer, authz.Interceptors.OnDecision) and import no metrics
// library.
//
// The TLS material (package tlsmaterial) is reloaded on file change or
// [Server.ReloadTLS] without dropping connections; CRLs and the admin
// store's revocations are consulted, in that order, in the handshake and on
// every request; connections close when their client certificate expires or
// is revoked; and per-principal rate and in-flight limits bound each caller.
// docs/SECURITY.md lists the promises and the tests that check them.
package server
