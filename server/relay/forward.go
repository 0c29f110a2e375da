package relay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"time"

	"github.com/msg-gateway/msg/authz"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/requestid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Forward relays one canonical inner request. See the package doc.
func (r *Relay) Forward(ctx context.Context, _ *gatewayv1.ForwardRequest) (*gatewayv1.ForwardResponse, error) {
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
	return r.exchange(ctx, up, creq, principal)
}

// exchange makes the upstream request for creq and reads the whole response.
func (r *Relay) exchange(ctx context.Context, up *Upstream, creq *authz.Request, p *authz.Principal) (*gatewayv1.ForwardResponse, error) {
	if int64(len(creq.Body)) > up.MaxRequestBodyBytes {
		return nil, status.Error(codes.ResourceExhausted, "request body too large")
	}
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
		r.opts.Observer.ObserveExchange(up.Name, ex)
	}()
	resp, err := up.roundTripper.RoundTrip(req)
	if err != nil {
		ex.Err = classify(ctx, err)
		return nil, r.upstreamError(ctx, up, "round trip", err)
	}
	defer resp.Body.Close()
	ex.StatusCode = resp.StatusCode
	if resp.ContentLength > up.MaxResponseBodyBytes {
		r.opts.Logger.InfoContext(ctx, "relay: response body over limit", "request_id", requestid.FromContext(ctx),
			"host", up.Name, "content_length", resp.ContentLength, "limit", up.MaxResponseBodyBytes)
		return nil, status.Error(codes.ResourceExhausted, "response body too large")
	}
	counted := &countingReader{r: resp.Body}
	respBody, err := readLimited(counted, resp.ContentLength, up.MaxResponseBodyBytes)
	ex.ResponseBytes = counted.n
	if errors.Is(err, errTooLarge) {
		r.opts.Logger.InfoContext(ctx, "relay: response body over limit", "request_id", requestid.FromContext(ctx),
			"host", up.Name, "limit", up.MaxResponseBodyBytes)
		return nil, status.Error(codes.ResourceExhausted, "response body too large")
	}
	if err != nil {
		ex.Err = classify(ctx, err)
		return nil, r.upstreamError(ctx, up, "reading response body", err)
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

// upstreamError maps an upstream failure to the status the app sees. This is
// the one place where that happens: the message is fixed per code; the
// details go to the log.
//
// The status code follows from the failure's [ErrorKind] (see classify), so
// the metrics and the app's answer cannot disagree.
func (r *Relay) upstreamError(ctx context.Context, up *Upstream, op string, err error) error {
	kind := classify(ctx, err)
	code, msg := codes.Unavailable, "upstream unavailable"
	switch kind {
	case ErrorTimeout:
		code, msg = codes.DeadlineExceeded, "upstream timed out"
	case ErrorCanceled:
		code, msg = codes.Canceled, "request canceled"
	}
	r.opts.Logger.WarnContext(ctx, "relay: upstream error", "request_id", requestid.FromContext(ctx),
		"host", up.Name, "op", op, "kind", string(kind), "code", code.String(), "error", err.Error())
	return status.Error(code, msg)
}
