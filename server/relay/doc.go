// Package relay implements GatewayService.Forward and ForwardStream: it looks
// the canonical inner request's host up in the allow-list, sends exactly that
// request to the host's upstream over a pooled transport, and returns the
// response. Errors are mapped to gRPC statuses in one place and never carry
// internal host names or upstream error text to the app.
//
// ForwardStream relays bodies of any size in constant memory: request chunks
// flow through a pipe into the upstream request as the transport reads them,
// and the response is sent chunk by chunk as the upstream produces it. Each
// host bounds a stream by idle time, total duration and body sizes
// ([StreamLimits]); these are separate from the Forward limits, which bound
// bodies held in memory.
//
// Small exchanges take a shorter path. A head that carries the whole request
// (RequestHead.end, which clients send once a response head said
// accepts_inline_requests) is relayed on the handler's goroutine, without the
// pipe and the receiving goroutine; and a response whose Content-Length fits
// in one chunk goes back as one message (ResponseHead.end) to a client that
// accepts that, instead of a head, a chunk and an end.
//
// The only way out is the host's [Dialer]: it resolves the upstream name once
// per connection, checks every address against the host's allowed_cidrs
// ([AddrPolicy]; loopback, link-local, metadata and similar ranges need an
// explicit entry) and dials the checked address, so DNS rebinding cannot
// redirect a connection.
package relay
