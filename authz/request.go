package authz

import (
	"fmt"

	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"github.com/msg-gateway/msg/internal/canon"
)

// Limits bound the size of an inner request's head.
type Limits struct {
	// MaxHeaderCount is the most headers a request may carry.
	MaxHeaderCount int
	// MaxHeaderBytes bounds the sum of header name and value lengths.
	MaxHeaderBytes int
}

// Canonicalize validates an inner request and returns its one canonical form.
// It is the only place where the wire request is interpreted: authorization
// decides on the result and the relay sends exactly the result. A malformed
// request yields an InvalidArgument status naming the field.
func Canonicalize(in *gatewayv1.ForwardRequest, lim Limits) (*Request, error) {
	if in == nil {
		return nil, InvalidArgumentError("request", "missing")
	}
	host, err := canon.Host(in.GetHost())
	if err != nil {
		return nil, InvalidArgumentError("host", err.Error())
	}
	method, err := canon.Method(in.GetMethod())
	if err != nil {
		return nil, InvalidArgumentError("method", err.Error())
	}
	path, query, err := canon.Target(in.GetPath(), canon.PathOptions{})
	if err != nil {
		return nil, InvalidArgumentError("path", err.Error())
	}
	hs := in.GetHeaders()
	if lim.MaxHeaderCount > 0 && len(hs) > lim.MaxHeaderCount {
		return nil, InvalidArgumentError("headers", fmt.Sprintf("more than %d headers", lim.MaxHeaderCount))
	}
	out := &Request{Host: host, Method: method, Path: path, RawQuery: query, Body: in.GetBody()}
	if len(hs) > 0 {
		out.Headers = make([]Header, 0, len(hs))
	}
	total := 0
	for i, h := range hs {
		name, err := canon.HeaderName(h.GetName())
		if err != nil {
			return nil, InvalidArgumentError(fmt.Sprintf("headers[%d].name", i), err.Error())
		}
		value, err := canon.HeaderValue(h.GetValue())
		if err != nil {
			return nil, InvalidArgumentError(fmt.Sprintf("headers[%d].value", i), err.Error())
		}
		total += len(name) + len(value)
		if lim.MaxHeaderBytes > 0 && total > lim.MaxHeaderBytes {
			return nil, InvalidArgumentError("headers", fmt.Sprintf("more than %d bytes of headers", lim.MaxHeaderBytes))
		}
		out.Headers = append(out.Headers, Header{Name: name, Value: value})
	}
	return out, nil
}
