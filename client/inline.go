package client

import "sync/atomic"

// inlineState remembers whether the gateway at the other end of a link's
// current connection has announced (ResponseHead.accepts_inline_requests) that it
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

// started and ended count a connection's start and end (see linkConn).
func (s *inlineState) started() { s.gen.Add(1) }
func (s *inlineState) ended()   { s.gen.Add(1) }
