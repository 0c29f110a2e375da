package client

import (
	"context"
	"net"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/credentials"
)

// inlineState remembers whether the gateway at the other end of the current
// connection has announced (ResponseHead.accepts_inline_requests) that it
// accepts inline requests, which carry the whole request in the head. The knowledge is
// per connection: behind a load balancer a new connection may reach a
// gateway of another version, so every connection that starts or ends
// forgets it, and the next call learns it again.
type inlineState struct {
	// gen counts connection starts and ends; learned is the gen in which
	// the gateway announced inline requests, 0 when it has not.
	gen     atomic.Uint64
	learned atomic.Uint64
}

// allowed returns the current generation and whether the gateway in it
// accepts inline requests.
func (s *inlineState) allowed() (gen uint64, ok bool) {
	gen = s.gen.Load()
	return gen, gen != 0 && s.learned.Load() == gen
}

// learn records an announcement that has just arrived, for the connection
// that is up now. Should the call's connection have been replaced in
// between, by one to a gateway that predates inline requests, that gateway
// refuses the next inline request without relaying it and the transport
// sends it again the classic way (see roundTripStream).
func (s *inlineState) learn() {
	if gen := s.gen.Load(); gen != 0 && s.learned.Load() != gen {
		s.learned.Store(gen)
	}
}

// forget drops what was learned in gen, after a gateway refused an inline
// request.
func (s *inlineState) forget(gen uint64) {
	s.learned.CompareAndSwap(gen, 0)
}

// credentials wraps the transport credentials so that every connection's
// start and end is counted.
func (s *inlineState) credentials(inner credentials.TransportCredentials) credentials.TransportCredentials {
	return &inlineCreds{TransportCredentials: inner, s: s}
}

type inlineCreds struct {
	credentials.TransportCredentials
	s *inlineState
}

func (c *inlineCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, raw)
	if err != nil {
		return conn, info, err
	}
	c.s.gen.Add(1)
	return &inlineConn{Conn: conn, s: c.s}, info, nil
}

func (c *inlineCreds) Clone() credentials.TransportCredentials {
	return &inlineCreds{TransportCredentials: c.TransportCredentials.Clone(), s: c.s}
}

// inlineConn counts its Close as the connection's end.
type inlineConn struct {
	net.Conn
	s    *inlineState
	once sync.Once
}

func (c *inlineConn) Close() error {
	c.once.Do(func() { c.s.gen.Add(1) })
	return c.Conn.Close()
}
