// Package client is the app-side library of the mobile secure gateway: a
// [Transport] is a [net/http.RoundTripper] that turns each request to an
// internal URL into a Forward RPC sent over gRPC with mutual TLS to the gateway.
// Apps keep writing ordinary net/http code; the gateway authenticates them by
// their client certificate, applies policy and relays the request.
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
// The scheme of a request URL (http or https) is not sent: the gateway's host
// table decides how it reaches each internal host, so the hop between the
// gateway and the host may be plain HTTP even when the app wrote https.
// Only the hop between the app and the gateway is guaranteed to be mutual TLS.
package client
