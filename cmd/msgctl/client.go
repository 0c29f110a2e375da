package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// maxResponseBytes bounds a response body: an audit page of 1000 records is
// well under a megabyte.
const maxResponseBytes = 32 << 20

// client calls the admin REST API.
type client struct {
	base  *url.URL // scheme, host and an optional path prefix
	token string   // bearer token; empty sends none (e.g. when an admin client cert is used)
	http  *http.Client
}

// clientConfig is what newClient needs, resolved from flags and environment.
type clientConfig struct {
	addr            string
	token           string
	timeout         time.Duration
	caFile          string
	certFile        string
	keyFile         string
	unsafePlaintext bool
}

// newClient checks the address and TLS material before any connection is made.
// Errors are usage errors: they name the flag at fault.
func newClient(cfg clientConfig) (*client, error) {
	u, err := url.Parse(cfg.addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef("--addr %q: want a URL such as http://127.0.0.1:8080 or https://admin.example:8443", cfg.addr)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, usagef("--addr %q: must not contain credentials, a query or a fragment", cfg.addr)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	if cfg.timeout <= 0 {
		return nil, usagef("--timeout must be positive")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if u.Scheme == "http" {
		if cfg.caFile != "" || cfg.certFile != "" || cfg.keyFile != "" {
			return nil, usagef("--cacert, --cert and --key need an https:// --addr")
		}
		// A bearer token in cleartext is as good as the network path is
		// private; loopback is, anything else needs the caller's say-so.
		if cfg.token != "" && !isLoopback(u.Hostname()) && !cfg.unsafePlaintext {
			return nil, usagef("refusing to send the admin token over plain http to %s: use https, or --unsafe-plaintext if the network path is private", u.Host)
		}
	} else {
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
	}
	return &client{
		base:  u,
		token: cfg.token,
		http: &http.Client{
			Transport: tr,
			Timeout:   cfg.timeout,
			// The API never redirects; following one could carry the request
			// (and on the same host the token) somewhere unexpected.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func tlsConfig(cfg clientConfig) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.caFile != "" {
		pem, err := os.ReadFile(cfg.caFile)
		if err != nil {
			return nil, usagef("--cacert: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usagef("--cacert %s: no PEM certificates in it", cfg.caFile)
		}
		tc.RootCAs = pool
	}
	if (cfg.certFile == "") != (cfg.keyFile == "") {
		return nil, usagef("--cert and --key go together")
	}
	if cfg.certFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.certFile, cfg.keyFile)
		if err != nil {
			return nil, usagef("--cert/--key: %v", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// apiError is an error response of the admin API: grpc-gateway's status body
// with the HTTP status it was sent with.
type apiError struct {
	httpStatus int
	code       codes.Code // codes.Unknown when the body was not a status
	hasCode    bool
	message    string
	details    []string // readable lines from known detail types
	hint       string   // what msgctl suggests, printed on its own line
}

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", e.httpStatus, http.StatusText(e.httpStatus))
	if e.hasCode {
		fmt.Fprintf(&b, " %s", e.code)
	}
	if e.message != "" {
		fmt.Fprintf(&b, ": %s", clean(e.message))
	}
	return b.String()
}

// statusBody is grpc-gateway's JSON error body (google.rpc.Status).
type statusBody struct {
	Code    *int              `json:"code"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details"`
}

// call sends one request and decodes a 2xx response into out. body, when
// not nil, is sent as protojson. Errors are *apiError for answers of the API
// and wrapped transport errors otherwise.
func (c *client) call(ctx context.Context, method, path string, query url.Values, body, out proto.Message) error {
	// path is already escaped (see itemPath); keep it that way so a
	// key's reserved characters stay inside its segment.
	u := *c.base
	u.RawPath = c.base.EscapedPath() + path
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return err
	}
	u.Path = p
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		js, err := protojson.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "msgctl/"+version)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err // *url.Error: method, URL and cause; never the headers
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("%s %s: reading the response: %w", method, u.Redacted(), err)
	}
	if len(data) > maxResponseBytes {
		return fmt.Errorf("%s %s: response larger than %d bytes", method, u.Redacted(), maxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.errorFrom(resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	// Unknown fields come from a newer server; they are not ours to refuse.
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decoding the response: %w", method, u.Redacted(), err)
	}
	return nil
}

func (c *client) errorFrom(httpStatus int, data []byte) error {
	e := &apiError{httpStatus: httpStatus, code: codes.Unknown}
	var st statusBody
	if err := json.Unmarshal(data, &st); err == nil && st.Code != nil {
		e.code, e.hasCode, e.message = codes.Code(*st.Code), true, st.Message
		e.details = readableDetails(st.Details)
	} else {
		// Not the API talking (a proxy, a wrong --addr): show the start of it.
		snippet := strings.TrimSpace(string(data))
		if len(snippet) > 200 {
			snippet = snippet[:200] + "..."
		}
		e.message = snippet
	}
	if httpStatus == http.StatusUnauthorized {
		if c.token == "" {
			e.hint = "no admin token given: use --token, --token-file or MSGCTL_TOKEN"
		} else {
			e.hint = "the admin token was refused: check --token, --token-file or MSGCTL_TOKEN"
		}
	}
	return e
}

// readableDetails turns the detail types a person can act on into lines:
// google.rpc.BadRequest field violations and google.rpc.ErrorInfo reasons.
func readableDetails(details []json.RawMessage) []string {
	var lines []string
	for _, raw := range details {
		var d struct {
			Type            string `json:"@type"`
			Reason          string `json:"reason"`
			FieldViolations []struct {
				Field       string `json:"field"`
				Description string `json:"description"`
			} `json:"fieldViolations"`
		}
		if json.Unmarshal(raw, &d) != nil {
			continue
		}
		switch {
		case strings.HasSuffix(d.Type, "/google.rpc.BadRequest"):
			for _, v := range d.FieldViolations {
				lines = append(lines, clean(v.Field)+": "+clean(v.Description))
			}
		case strings.HasSuffix(d.Type, "/google.rpc.ErrorInfo") && d.Reason != "":
			lines = append(lines, "reason: "+clean(d.Reason))
		}
	}
	return lines
}
