// Package client is the app-side library of the mobile secure gateway: a
// [Transport] is a [net/http.RoundTripper] that turns each request to an
// internal URL into a ForwardStream call sent over gRPC with mutual TLS to the
// gateway. Apps keep writing ordinary net/http code; the gateway authenticates
// them by their client certificate, applies policy and relays the request.
//
// A typical app builds one [Transport] at start-up, shares it between
// goroutines and closes it on shutdown:
//
//	t, err := client.New("gateway.example.com:8443",
//		client.WithCertificateFiles("alice.pem", "alice-key.pem"),
//		client.WithRootCAFile("ca.pem"),
//	)
//	if err != nil {
//		return err
//	}
//	defer t.Close()
//
//	hc := &http.Client{Transport: t}
//	resp, err := hc.Get("https://demo.internal/hello")
//	if err != nil {
//		var gwErr *client.Error
//		if errors.As(err, &gwErr) {
//			log.Printf("gateway said %v (reason %q)", gwErr.Code, gwErr.Reason)
//		}
//		return err
//	}
//	defer resp.Body.Close()
//
// # Streaming
//
// Every request is one ForwardStream call, whatever its size. The request
// body is read from req.Body in chunks of just under 32 KiB and sent as fast
// as the gateway takes them, and RoundTrip returns as soon as the response
// head has arrived; the response body then streams, each chunk as the
// internal host produced it (server-sent events and chunked JSON lines arrive
// event by event). Memory stays flat on both sides whatever the size: HTTP/2
// flow control holds a fast sender back. The transport keeps gRPC's adaptive
// (BDP-estimated) flow-control windows, so that a download over a
// high-latency mobile link is not capped by a fixed window. In particular:
//
//   - A body of known length (req.ContentLength > 0) is declared to the
//     gateway, which relays it with that Content-Length and refuses a body
//     that is shorter or longer. A body of unknown length is relayed with
//     chunked transfer coding. A Content-Length in req.Header is ignored.
//   - resp.ContentLength is the length the internal host announced, or -1.
//     resp.Trailer holds the host's trailers once the body has returned
//     io.EOF.
//   - Read returns io.EOF only after the gateway has confirmed that the whole
//     body arrived. A body cut short (the host failed half-way, a limit was
//     hit, the connection broke) ends in an [*Error] instead, never in a
//     short body that looks complete.
//   - Cancelling the request's context, or closing resp.Body before the end,
//     cancels the call, and the gateway cancels the upstream request.
//
// Small exchanges are one message each way where the gateway allows it. A
// request without a body, or with a body of known length up to 16 KiB, goes
// as a single head that carries the body and the end marker, once a response
// on the current connection has announced that the gateway accepts that (a
// gateway that predates it refuses such a call before relaying anything, and
// the transport then sends it again the usual way); every request tells the
// gateway that a response whose Content-Length fits in one message may come
// whole, in its head. Either way RoundTrip, resp.Body and the errors behave
// as described above, except that such a small response arrives complete
// before RoundTrip returns (an internal host that fails half-way through it
// fails RoundTrip instead of a later Read).
//
// Why every request, and not unary Forward calls for small ones: a Forward
// response must fit the gateway's per-host max_response_body_bytes and one
// gRPC message, and the transport cannot know before sending a request how
// large its response will be. Streaming everything keeps one code path with
// no such cap. With the one-message forms it costs about 25–35 µs of extra
// latency per small request compared with a unary Forward, measured at
// concurrency 1 on loopback with BenchmarkSmallRequestLatency in the server
// package (p50 of a GET with an 18-byte answer on a quiet 2-core machine:
// 150–160 µs through this package, 120–135 µs as a unary Forward, 36 µs
// directly; before them it was 215–220 µs through this package), which a
// mobile network's round trip dwarfs. `make bench` measures the whole path
// against direct access and an nginx mTLS proxy.
//
// The scheme of a request URL (http or https) is not sent: the gateway's host
// table decides how it reaches each internal host, so the hop between the
// gateway and the host may be plain HTTP even when the app wrote https.
// Only the hop between the app and the gateway is guaranteed to be mutual TLS.
package client
