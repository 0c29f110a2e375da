package server

import (
	"context"
	"sync"
	"time"

	"github.com/msg-gateway/msg/authz"
	"golang.org/x/time/rate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Stable ErrorInfo reasons of the abuse limits.
const (
	// ErrorReasonRateLimited: the principal started more requests per second
	// than limits.rate_per_second allows (beyond limits.burst).
	ErrorReasonRateLimited = "RATE_LIMITED"
	// ErrorReasonTooManyInFlight: the principal has
	// limits.max_in_flight_per_identity requests running already.
	ErrorReasonTooManyInFlight = "TOO_MANY_IN_FLIGHT"
)

// maxLimiterEntries bounds the per-principal state. Only principals with a
// valid client certificate get an entry, so this is generous.
const maxLimiterEntries = 100_000

// inFlightRetryDelay is the retry hint for a principal at its in-flight
// limit: long enough for a typical request to finish.
const inFlightRetryDelay = time.Second

// identityLimits bounds what one principal may make the gateway do, summed
// over all its connections: a token bucket of request starts and a count of
// requests in flight. It is keyed by principal id and runs after authn.
//
// go-grpc-middleware's ratelimit interceptor has the right place in the chain
// but rewrites the limiter's error into a new status (with the method name in
// the message), dropping the RetryInfo detail, so the limits have their own
// interceptors with the same shape.
type identityLimits struct {
	rate        rate.Limit
	burst       int
	maxInFlight int
	maxEntries  int
	now         func() time.Time
	// onReject, when set, is told the ErrorInfo reason of every refused
	// request (the server counts them). Set before serving.
	onReject func(reason string)

	mu      sync.Mutex
	entries map[string]*identityEntry
}

type identityEntry struct {
	limiter  *rate.Limiter
	inFlight int
	lastUsed time.Time
}

func newIdentityLimits(perSecond float64, burst, maxInFlight int) *identityLimits {
	return &identityLimits{
		rate:        rate.Limit(perSecond),
		burst:       burst,
		maxInFlight: maxInFlight,
		maxEntries:  maxLimiterEntries,
		now:         time.Now,
		entries:     map[string]*identityEntry{},
	}
}

// acquire admits one request of principal id, or returns ResourceExhausted
// with a RetryInfo saying when a retry can succeed. release must be called
// when the request ends.
func (l *identityLimits) acquire(id string) (release func(), err error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[id]
	if !ok {
		if len(l.entries) >= l.maxEntries {
			l.evict(now)
		}
		e = &identityEntry{limiter: rate.NewLimiter(l.rate, l.burst)}
		l.entries[id] = e
	}
	e.lastUsed = now
	if e.inFlight >= l.maxInFlight {
		l.rejected(ErrorReasonTooManyInFlight)
		return nil, limitError("too many requests in flight", ErrorReasonTooManyInFlight, inFlightRetryDelay)
	}
	r := e.limiter.ReserveN(now, 1)
	if !r.OK() {
		l.rejected(ErrorReasonRateLimited)
		return nil, limitError("rate limit exceeded", ErrorReasonRateLimited, time.Second)
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		l.rejected(ErrorReasonRateLimited)
		return nil, limitError("rate limit exceeded", ErrorReasonRateLimited, d)
	}
	e.inFlight++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			e.inFlight--
			e.lastUsed = l.now()
			l.mu.Unlock()
		})
	}, nil
}

// evict makes room in a full table: first the principals whose bucket has
// refilled (forgetting them changes nothing), then, if that freed less than
// a tenth, any principal without a request in flight (it gets a fresh
// bucket: bounded harm). Entries with requests in flight are never evicted,
// so their release always finds them. Called with mu held.
func (l *identityLimits) evict(now time.Time) {
	refill := time.Duration(float64(l.burst) / float64(l.rate) * float64(time.Second))
	target := l.maxEntries / 10
	removed := 0
	for id, e := range l.entries {
		if e.inFlight == 0 && now.Sub(e.lastUsed) >= refill {
			delete(l.entries, id)
			removed++
		}
	}
	for id, e := range l.entries {
		if removed >= target {
			break
		}
		if e.inFlight == 0 {
			delete(l.entries, id)
			removed++
		}
	}
}

func (l *identityLimits) rejected(reason string) {
	if l.onReject != nil {
		l.onReject(reason)
	}
}

func (l *identityLimits) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

func limitError(msg, reason string, retry time.Duration) error {
	st := status.New(codes.ResourceExhausted, msg)
	if d, err := st.WithDetails(
		&errdetails.ErrorInfo{Reason: reason, Domain: authz.ErrorDomain},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(retry)},
	); err == nil {
		st = d
	}
	return st.Err()
}

func (l *identityLimits) admit(ctx context.Context) (func(), error) {
	p, ok := authz.PrincipalFromContext(ctx)
	if !ok {
		return nil, authz.UnauthenticatedError() // runs after authn: fail closed
	}
	return l.acquire(p.ID)
}

// unaryInterceptor applies the limits to unary calls. A call is in flight
// until its stream has ended on the wire: a response the app does not read
// keeps its slot, so one principal cannot make the gateway hold more than
// maxInFlight responses, however many connections it opens.
func (l *identityLimits) unaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		release, err := l.admit(ctx)
		if err != nil {
			return nil, err
		}
		if c := callFromContext(ctx); c != nil {
			c.whenDone(release) // gRPC still holds the response when the handler returns
		} else {
			defer release()
		}
		return handler(ctx, req)
	}
}

// streamInterceptor applies the limits to streams; a stream is in flight
// until it has ended on the wire.
func (l *identityLimits) streamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		release, err := l.admit(ss.Context())
		if err != nil {
			return err
		}
		if c := callFromContext(ss.Context()); c != nil {
			c.whenDone(release)
		} else {
			defer release()
		}
		return handler(srv, ss)
	}
}
