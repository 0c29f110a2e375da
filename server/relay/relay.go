package relay

import (
	"log/slog"

	"github.com/msg-gateway/msg/server/assertion"

	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
)

// Options configure a [Relay].
type Options struct {
	// IdentityHeader carries the principal id to the upstream.
	IdentityHeader string
	// FingerprintHeader carries the client certificate fingerprint.
	FingerprintHeader string
	// Assertions signs the identity assertion sent to hosts that have not
	// opted out. Nil: none is sent.
	Assertions Asserter
	// AssertionHeader carries the assertion; it is stripped from what apps
	// send whether or not one is signed.
	AssertionHeader string
	// Logger receives the details that never reach the app.
	Logger *slog.Logger
	// Observer is told about every upstream exchange. Default: none.
	Observer Observer
}

// Asserter signs identity assertions; *assertion.Signer is one.
type Asserter interface {
	Sign(assertion.Request) (string, error)
}

// Relay implements msg.gateway.v1.GatewayService. It relays only requests
// that the server's interceptor chain has canonicalized and authorized.
type Relay struct {
	gatewayv1.UnimplementedGatewayServiceServer

	table func() *Table
	opts  Options
}

// New returns a Relay that asks table for the current host table on every
// call, so a swapped table applies to the next request.
func New(table func() *Table, opts Options) *Relay {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	return &Relay{table: table, opts: opts}
}
