// Package relay implements GatewayService.Forward and ForwardStream: it looks
// the canonical inner request's host up in the allow-list, sends exactly that
// request to the host's upstream over a pooled transport, and returns the
// response.
//
// A failure is one value of one kind (failure.go), made where it happens and
// carrying its cause for the log. Forward and ForwardStream turn it into a
// gRPC status once, as they return, from the table that also gives its metric
// label ([Exchange].Err), so the app's answer and the metrics cannot
// disagree. Messages to the app are fixed per kind and never carry internal
// host names or upstream error text.
//
// Every call goes through the same request path (request.go): admit (the
// interceptor chain's canonical request, decision and principal), upstream
// (the host table entry, which must accept the request) and
// newUpstreamRequest. Forward then reads the whole response (forward.go);
// ForwardStream relays it as it comes (stream.go).
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
