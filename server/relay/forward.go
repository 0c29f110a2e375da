package relay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"time"

	"github.com/msg-gateway/msg/authz"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
)

// Forward relays one canonical inner request. See the package doc.
func (r *Relay) Forward(ctx context.Context, _ *gatewayv1.ForwardRequest) (*gatewayv1.ForwardResponse, error) {
	resp, err := r.forward(ctx)
	if err != nil {
		return nil, r.callError(ctx, err)
	}
	return resp, nil
}

// forward is Forward until its error becomes a status.
func (r *Relay) forward(ctx context.Context) (*gatewayv1.ForwardResponse, error) {
	// The wire request is deliberately ignored: only the canonical form that
	// authz decided on may be sent.
	creq, principal, err := r.admit(ctx)
	if err != nil {
		return nil, err
	}
	up, err := r.upstream(ctx, creq)
	if err != nil {
		return nil, err
	}
	if n := int64(len(creq.Body)); n > up.MaxRequestBodyBytes {
		return nil, &failure{kind: failRequestTooLarge, host: up.Name, op: "request", err: overLimit(n, up.MaxRequestBodyBytes)}
	}
	return r.exchange(ctx, up, creq, principal)
}

// exchange makes the upstream request for creq and reads the whole response.
func (r *Relay) exchange(ctx context.Context, up *Upstream, creq *authz.Request, p *authz.Principal) (_ *gatewayv1.ForwardResponse, err error) {
	ctx, cancel := context.WithTimeout(ctx, up.Timeout)
	defer cancel()

	var body io.Reader
	if len(creq.Body) > 0 {
		body = bytes.NewReader(creq.Body)
	}
	// The same builder as ForwardStream's: one target, one header policy.
	req, err := r.newUpstreamRequest(ctx, up, creq, p, body, int64(len(creq.Body)))
	if err != nil {
		return nil, err
	}

	ex := Exchange{RequestBytes: req.ContentLength}
	start := time.Now()
	defer func() {
		ex.Duration = time.Since(start)
		ex.Err = failureLabel(err)
		r.opts.Observer.ObserveExchange(up.Name, ex)
	}()
	resp, err := up.roundTripper.RoundTrip(req)
	if err != nil {
		return nil, roundTripFailure(ctx, up.Name, err)
	}
	defer resp.Body.Close()
	ex.StatusCode = resp.StatusCode
	if resp.ContentLength > up.MaxResponseBodyBytes {
		return nil, &failure{kind: failResponseTooLarge, host: up.Name, op: "response head", err: overLimit(resp.ContentLength, up.MaxResponseBodyBytes)}
	}
	counted := &countingReader{r: resp.Body}
	respBody, err := readLimited(counted, resp.ContentLength, up.MaxResponseBodyBytes)
	ex.ResponseBytes = counted.n
	if errors.Is(err, errTooLarge) {
		return nil, &failure{kind: failResponseTooLarge, host: up.Name, op: "reading response body", err: overLimit(counted.n, up.MaxResponseBodyBytes)}
	}
	if err != nil {
		return nil, bodyFailure(ctx, up.Name, err)
	}
	return &gatewayv1.ForwardResponse{
		StatusCode: int32(resp.StatusCode),
		Headers:    responseHeaders(resp.Header),
		Body:       respBody,
	}, nil
}

var errTooLarge = errors.New("body too large")

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readLimited reads the whole body, failing with errTooLarge past limit.
func readLimited(r io.Reader, contentLength, limit int64) ([]byte, error) {
	size := int64(512)
	if contentLength > 0 {
		size = contentLength
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(size, limit)+1))
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, errTooLarge
	}
	return buf.Bytes(), nil
}
