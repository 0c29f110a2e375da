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
// high-latency mobile link is not capped by a fixed window: over an emulated
// 150 ms, 5 Mbit/s link a 16 MiB download reaches 98–99% of the link's rate
// (`make bench-mobile`), where a fixed 64 KiB window reaches about half;
// fixed windows of 256 KiB or 1 MiB measured the same as the adaptive ones.
// In particular:
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
// # Mobile networks
//
// A phone that moves from Wi-Fi to mobile data, or whose carrier's NAT
// forgets an idle connection, loses its connection to the gateway without
// being told: nothing arrives, and nothing says so. The transport copes:
//
//   - Apps should call [Transport.NetworkChanged] from the platform's
//     network callbacks (Android's ConnectivityManager.NetworkCallback,
//     iOS's NWPathMonitor). The next request then goes out on a new
//     connection at once, and requests waiting for an answer that may be
//     sent twice (below) move to it. Without the call the transport notices
//     by itself: a request that has waited a second with nothing arriving
//     has the connection checked (a gRPC health check of the gateway), and
//     when three more seconds bring no answer the connection is replaced
//     and such requests move — about four seconds after the change. A
//     request whose deadline passes with nothing arriving also leaves the
//     next request a new connection.
//   - A request that cannot be sent twice is not sent on a connection that
//     has been silent for five seconds or more until a health check shows it
//     alive: one round trip, paid only then.
//   - While requests wait in silence (a slow internal host, a quiet
//     server-sent event stream) the transport pings the gateway every 15s
//     and gives the connection up when a ping goes 10s unanswered
//     ([WithKeepalive]). It never pings while idle: each ping wakes the
//     phone's radio, which then stays in a high-power state for seconds.
//     Instead a connection idle for 20s is closed ([WithIdleTimeout]), below
//     the idle timeouts of carrier NATs (30s and up), and the next request
//     opens a new one. Reconnects are cheap: the transport keeps one TLS
//     session cache, so a new connection resumes the session and neither
//     side signs or verifies a certificate (about 30% less handshake CPU
//     for the two together; the key exchange remains). It saves no round
//     trip (TLS 1.3's full handshake takes one too) and few bytes: the
//     session ticket carries the certificates.
//   - A request is sent once more, on a new connection, when its connection
//     failed before the gateway answered anything, and either it never
//     reached a connection, or it is idempotent: its method is GET, HEAD,
//     OPTIONS, PUT or DELETE, or it carries an Idempotency-Key or
//     X-Idempotency-Key header (as net/http's own transport understands
//     them; a key with a nil value marks the request without sending a
//     header). A POST is never sent twice otherwise. Its body must be
//     replayable: none, one of known length up to 16 KiB (kept in memory),
//     or req.GetBody set (as [net/http.NewRequest] does for bytes and
//     strings readers). Only failures on a connection the gateway has
//     answered before are retried this way, so an unreachable gateway or a
//     refused certificate fails at once; the retry waits for the new
//     connection up to 20s or the request's deadline, which covers a
//     gateway restart.
//   - A refusal from the gateway with a retry delay (google.rpc.RetryInfo,
//     from its rate and in-flight limits, which refuse before relaying
//     anything) is sent once more after the delay, for any method, when the
//     delay ends before the request's deadline (or within 20s without one);
//     otherwise the [*Error] with its RetryAfter is returned at once. An
//     HTTP 429 or 503 from the internal host, with or without Retry-After,
//     is a response and is returned as it is.
//   - A request that went out and then lost its connection, and cannot be
//     sent twice, fails with an [*Error] whose code is Unavailable, or
//     DeadlineExceeded when its deadline passed first: the internal host may
//     or may not have received it. When the gateway drains (SIGTERM), calls
//     it has received finish, and calls it has not are sent to the next
//     connection by gRPC, so a drain loses nothing.
//
// Give requests deadlines (http.Client.Timeout or a context): they bound
// every wait above.
//
// The scheme of a request URL (http or https) is not sent: the gateway's host
// table decides how it reaches each internal host, so the hop between the
// gateway and the host may be plain HTTP even when the app wrote https.
// Only the hop between the app and the gateway is guaranteed to be mutual TLS.
package client
