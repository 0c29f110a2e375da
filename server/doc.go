// Package server assembles the gateway: the mTLS gRPC listener with its
// interceptor chain, the relay behind it, and the admin HTTP listener. Run
// blocks until its context is cancelled and then stops gracefully.
package server
