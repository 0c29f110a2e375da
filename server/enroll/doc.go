// Package enroll issues the client certificates of devices: it consumes
// one-time enrollment secrets atomically through the store, signs
// certificates for the public keys of verified certificate signing requests
// with the identity of the secret's token (never the request's), keeps the
// device records, renews the certificates of devices that present their
// current one, and serves all of it as the gRPC EnrollmentService and as
// EST (RFC 7030) on one handler for the gateway's enrollment listener.
//
// Every enrollment, renewal and refusal is audited and counted; refusals
// tell the caller as little as possible (one message for every bad
// secret), the audit trail says why.
package enroll
