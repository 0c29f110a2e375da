package enroll

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"time"

	"github.com/msg-gateway/msg/authz"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/enrollment"
	"github.com/msg-gateway/msg/internal/requestid"
	"github.com/msg-gateway/msg/store"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Defaults and bounds. The config package applies the defaults to the
// config file; these are the service's own, for options left zero.
const (
	DefaultCertLifetime   = 7 * 24 * time.Hour
	DefaultMaxTokenTTL    = 24 * time.Hour
	DefaultRatePerSource  = 1.0
	DefaultBurstPerSource = 20
	// MinCertLifetime is the shortest certificate lifetime: a device
	// renews at two thirds of it.
	MinCertLifetime = 5 * time.Second
	// MaxTokenUses bounds an enrollment token's max_uses.
	MaxTokenUses = 10000
	// maxPrevious is how many earlier, unexpired certificates a device
	// record keeps; an older one is revoked by the renewal that pushes it
	// out (a device renewing in a loop cannot collect valid certificates).
	maxPrevious = 4
	// maxAttempts bounds how often a write is retried when the token or
	// device changed between reading and writing it.
	maxAttempts = 8
	// defaultCatchUpWait bounds how long a retry waits for the snapshot to
	// show the change that failed the write; catchUpPoll is how often it
	// looks.
	defaultCatchUpWait = 2 * time.Second
	catchUpPoll        = 5 * time.Millisecond
)

// Options configure a [Service].
type Options struct {
	// Store keeps the tokens and devices; the service writes to it
	// directly, with preconditions.
	Store store.Store
	// Issuer signs the certificates.
	Issuer *Issuer
	// Anchor is the trust anchor that bundles pin.
	Anchor *x509.Certificate
	// ClientCAs returns the data plane's client CAs in force: an issued
	// certificate is verified against them before it is returned.
	ClientCAs func() []*x509.Certificate
	// Revoked reports whether the data plane refuses a certificate (CRLs
	// and the store's revocations). A renewal presenting one is refused.
	Revoked func(*x509.Certificate) (bool, string)
	// Advertise returns the enrollment listener's address as bundles carry
	// it; GatewayAddress the data-plane address devices are told.
	Advertise, GatewayAddress func() string
	// CertLifetime is the default and the longest certificate lifetime.
	// Default [DefaultCertLifetime].
	CertLifetime time.Duration
	// MaxTokenTTL is the longest an enrollment token may stay valid.
	// Default [DefaultMaxTokenTTL].
	MaxTokenTTL time.Duration
	// RatePerSource and BurstPerSource are the token bucket of each source
	// address, over enrollments and renewals. Defaults
	// [DefaultRatePerSource], [DefaultBurstPerSource].
	RatePerSource  float64
	BurstPerSource int
	// Audit receives a record of every enrollment, renewal and refusal.
	Audit func(*adminv1.AuditRecord)
	// Registerer, when set, gets the service's metrics.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Service enrolls and renews devices. It is safe for concurrent use.
type Service struct {
	o       Options
	limiter *sourceLimiter
	metrics *metrics
	// catchUpWait is defaultCatchUpWait; tests of a store whose snapshot
	// never advances shorten it.
	catchUpWait time.Duration
}

// New returns the service.
func New(o Options) *Service {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CertLifetime <= 0 {
		o.CertLifetime = DefaultCertLifetime
	}
	if o.MaxTokenTTL <= 0 {
		o.MaxTokenTTL = DefaultMaxTokenTTL
	}
	if o.RatePerSource <= 0 {
		o.RatePerSource = DefaultRatePerSource
	}
	if o.BurstPerSource <= 0 {
		o.BurstPerSource = DefaultBurstPerSource
	}
	if o.Audit == nil {
		o.Audit = func(*adminv1.AuditRecord) {}
	}
	return &Service{o: o, limiter: newSourceLimiter(o.RatePerSource, o.BurstPerSource), metrics: newMetrics(o.Registerer),
		catchUpWait: defaultCatchUpWait}
}

// request is one enrollment or renewal as either protocol delivers it.
type request struct {
	protocol string
	source   net.Addr
	// secret is an enrollment's.
	secret string
	// peer is a renewal's verified client chain, leaf first.
	peer []*x509.Certificate
	csr  []byte
}

// issued is a certificate the service issued.
type issued struct {
	leaf     *x509.Certificate
	chain    [][]byte // leaf first, then the issuer's chain
	deviceID string
}

// outcome is what one request's audit record says beyond the refusal.
type outcome struct {
	principal string
	cert      *x509.Certificate // issued, or (a refused renewal) presented
	target    string            // "devices/ID" or "enrollment_tokens/ID"
}

// enroll issues a certificate for r's CSR with the identity of the token
// its secret names, and records the device, consuming one use of the token
// in the same write.
func (s *Service) enroll(ctx context.Context, r request) (*issued, *refusal) {
	start := s.o.Now()
	var out outcome
	iss, ref := s.doEnroll(ctx, r, &out)
	s.finish(ctx, false, r, start, out, ref)
	return iss, ref
}

func (s *Service) doEnroll(ctx context.Context, r request, out *outcome) (*issued, *refusal) {
	if ref := s.admit(r); ref != nil {
		return nil, ref
	}
	pub, err := checkCSR(r.csr)
	if err != nil {
		return nil, refuseCSR(err.(*csrError))
	}
	if err := enrollment.CheckSecret(r.secret); err != nil {
		return nil, refuseSecret(reasonBadSecret, "secret: "+err.Error())
	}
	id := enrollment.TokenID(r.secret)
	for attempt := 1; ; attempt++ {
		now := s.o.Now()
		snap := s.o.Store.Snapshot()
		tok := snap.EnrollmentToken(id)
		if tok == nil {
			return nil, refuseSecret(reasonUnknownToken, "no enrollment token "+id)
		}
		out.target = store.KindEnrollmentToken.String() + "/" + id
		if !now.Before(tok.GetExpireTime().AsTime()) {
			return nil, refuseSecret(reasonTokenExpired, "enrollment token "+id+" expired at "+tok.GetExpireTime().AsTime().UTC().Format(time.RFC3339))
		}
		if tok.GetUses() >= tok.GetMaxUses() {
			// Unreachable while every enrollment deletes a token with its
			// last use; a store edited by hand must not enroll more.
			return nil, refuseSecret(reasonUnknownToken, "enrollment token "+id+" is spent")
		}
		lifetime := min(tok.GetCertLifetime().AsDuration(), s.o.CertLifetime)
		leaf, chain, ref := s.sign(pub, tok.GetIdentity(), lifetime, now)
		if ref != nil {
			return nil, ref
		}
		dev := &adminv1.Device{
			Id:           newDeviceID(),
			Identity:     tok.GetIdentity(),
			EnrollTime:   timestamppb.New(now),
			Certificate:  certificateRef(leaf),
			TokenId:      id,
			CertLifetime: durationpb.New(lifetime),
			Description:  tok.GetDescription(),
		}
		spend := store.Mutation{Kind: store.KindEnrollmentToken, Key: id, IfEtag: tok.GetEtag()}
		if tok.GetUses()+1 < tok.GetMaxUses() {
			next := proto.Clone(tok).(*adminv1.EnrollmentToken)
			next.Uses++
			spend.Value = next
		}
		_, err := s.o.Store.Apply(ctx, []store.Mutation{spend, {Kind: store.KindDevice, Key: dev.GetId(), Value: dev, IfAbsent: true}}, nil)
		if err == nil {
			*out = outcome{principal: principalID(leaf), cert: leaf, target: store.KindDevice.String() + "/" + dev.GetId()}
			return &issued{leaf: leaf, chain: chain, deviceID: dev.GetId()}, nil
		}
		if ref := s.writeRefusal(ctx, err, attempt); ref != nil {
			return nil, ref
		}
		// The token changed (another device used it, here or on another
		// instance) or the device id was taken: read again, once this
		// instance has seen the change.
		s.catchUp(ctx, snap.Revision)
	}
}

// renew issues a new certificate for the device whose certificate r
// presents, with the device's identity, and records it on the device.
func (s *Service) renew(ctx context.Context, r request) (*issued, *refusal) {
	start := s.o.Now()
	var out outcome
	if len(r.peer) > 0 {
		out.cert, out.principal = r.peer[0], principalID(r.peer[0])
	}
	iss, ref := s.doRenew(ctx, r, &out)
	s.finish(ctx, true, r, start, out, ref)
	return iss, ref
}

func (s *Service) doRenew(ctx context.Context, r request, out *outcome) (*issued, *refusal) {
	if ref := s.admit(r); ref != nil {
		return nil, ref
	}
	if len(r.peer) == 0 {
		return nil, &refusal{code: codes.Unauthenticated, msg: msgNoCertificate, info: authz.ErrorReasonUnauthenticated, reason: reasonNoCertificate}
	}
	if s.o.Revoked != nil {
		for _, c := range r.peer {
			if revoked, why := s.o.Revoked(c); revoked {
				return nil, refuseRenewal(reasonRevoked, why)
			}
		}
	}
	pub, err := checkCSR(r.csr)
	if err != nil {
		return nil, refuseCSR(err.(*csrError))
	}
	fp := fingerprint(r.peer[0])
	for attempt := 1; ; attempt++ {
		now := s.o.Now()
		snap := s.o.Store.Snapshot()
		dev := deviceOf(snap, fp)
		if dev == nil {
			return nil, refuseRenewal(reasonUnknownDevice, "no device has the certificate "+fp)
		}
		out.target = store.KindDevice.String() + "/" + dev.GetId()
		lifetime := min(dev.GetCertLifetime().AsDuration(), s.o.CertLifetime)
		if lifetime <= 0 {
			lifetime = s.o.CertLifetime
		}
		leaf, chain, ref := s.sign(pub, dev.GetIdentity(), lifetime, now)
		if ref != nil {
			return nil, ref
		}
		next := proto.Clone(dev).(*adminv1.Device)
		next.Certificate = certificateRef(leaf)
		next.LastRenewTime = timestamppb.New(now)
		next.PreviousCertificates = nil
		muts := []store.Mutation{{Kind: store.KindDevice, Key: dev.GetId(), Value: next, IfEtag: dev.GetEtag()}}
		for _, c := range append([]*adminv1.DeviceCertificate{dev.GetCertificate()}, dev.GetPreviousCertificates()...) {
			switch {
			case !now.Before(c.GetNotAfter().AsTime()):
				// Expired: nothing left to revoke.
			case len(next.PreviousCertificates) < maxPrevious:
				next.PreviousCertificates = append(next.PreviousCertificates, c)
			default:
				if m, ok := revokeMutation(snap, c, "pushed out by renewals of device "+dev.GetId(), "msg-gateway", now); ok {
					muts = append(muts, m)
				}
			}
		}
		_, err := s.o.Store.Apply(ctx, muts, nil)
		if err == nil {
			out.cert = leaf
			return &issued{leaf: leaf, chain: chain, deviceID: dev.GetId()}, nil
		}
		if ref := s.writeRefusal(ctx, err, attempt); ref != nil {
			return nil, ref
		}
		// Renewed meanwhile (a retry on another instance) or deleted: the
		// next round finds out which, once this instance has seen it.
		s.catchUp(ctx, snap.Revision)
	}
}

// catchUp waits, at most catchUpWait, until the store's snapshot is newer
// than revision: a write that failed its precondition means the store has
// moved on, and on a fleet member the watch may not have delivered that
// yet. Reading again at once would find the same stale token or device.
func (s *Service) catchUp(ctx context.Context, revision int64) {
	deadline := time.Now().Add(s.catchUpWait)
	for s.o.Store.Snapshot().Revision <= revision && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(catchUpPoll)
	}
}

// admit applies the source address's rate limit.
func (s *Service) admit(r request) *refusal {
	ok, retry := s.limiter.allow(r.source, s.o.Now())
	if ok {
		return nil
	}
	return &refusal{code: codes.ResourceExhausted, msg: msgRateLimited, info: ErrorReasonRateLimited, reason: reasonRateLimited, retryAfter: retry}
}

// sign issues the certificate and checks it the way the data plane will
// check it, against the client CAs in force: a certificate no listener
// would accept is never handed out.
func (s *Service) sign(pub crypto.PublicKey, id *adminv1.DeviceIdentity, lifetime time.Duration, now time.Time) (*x509.Certificate, [][]byte, *refusal) {
	leaf, err := s.o.Issuer.issue(pub, id, lifetime, now)
	if err != nil {
		return nil, nil, refuseUnavailable(reasonInternal, "signing: "+err.Error())
	}
	if s.o.ClientCAs != nil {
		if _, err := s.o.Issuer.verify(leaf, s.o.ClientCAs()); err != nil {
			return nil, nil, refuseUnavailable(reasonCANotTrusted, "the issued certificate does not verify against tls.client_ca_file in force: "+err.Error())
		}
	}
	chain := [][]byte{leaf.Raw}
	for _, c := range s.o.Issuer.chain {
		chain = append(chain, c.Raw)
	}
	return leaf, chain, nil
}

// writeRefusal maps a failed write to a refusal, or to nil when the write
// should be tried again with what the store holds now.
func (s *Service) writeRefusal(ctx context.Context, err error, attempt int) *refusal {
	switch {
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExists):
		if attempt >= maxAttempts {
			return refuseUnavailable(reasonStoreConflict, fmt.Sprintf("still changing after %d attempts: %v", attempt, err))
		}
		return nil
	case errors.Is(err, store.ErrUnavailable):
		return refuseUnavailable(reasonStoreUnavailble, err.Error())
	case ctx.Err() != nil:
		return &refusal{code: codes.Canceled, msg: "canceled", info: ErrorReasonUnavailable, reason: reasonInternal, detail: err.Error()}
	}
	return refuseUnavailable(reasonInternal, err.Error())
}

// finish audits, counts and logs one request.
func (s *Service) finish(ctx context.Context, renew bool, r request, start time.Time, out outcome, ref *refusal) {
	s.metrics.observe(renew, r.protocol, ref)
	now := s.o.Now()
	rec := &adminv1.AuditRecord{
		Time:        timestamppb.New(now),
		RequestId:   requestid.FromContext(ctx),
		Kind:        adminv1.RecordKind_RECORD_KIND_ENROLL,
		Principal:   out.principal,
		AdminAction: "Enroll",
		AdminTarget: out.target,
		Decision:    adminv1.Decision_DECISION_ALLOW,
		Reason:      reasonIssued,
		Code:        codes.OK.String(),
		Duration:    durationpb.New(now.Sub(start)),
	}
	if renew {
		rec.Kind, rec.AdminAction = adminv1.RecordKind_RECORD_KIND_RENEW, "Renew"
	}
	if r.protocol == protocolEST {
		// The operation as an EST client names it.
		rec.AdminAction = map[bool]string{false: "simpleenroll", true: "simplereenroll"}[renew]
	}
	if r.source != nil {
		rec.SourceAddress = r.source.String()
	}
	if out.cert != nil {
		rec.CertSerialHex, rec.CertFingerprintSha256 = out.cert.SerialNumber.Text(16), fingerprint(out.cert)
	}
	attrs := []any{"request_id", rec.RequestId, "protocol", r.protocol, "source", rec.SourceAddress,
		"principal", rec.Principal, "target", rec.AdminTarget}
	if ref != nil {
		rec.Decision, rec.Reason, rec.Code = adminv1.Decision_DECISION_DENY, ref.reason, ref.code.String()
		attrs = append(attrs, "reason", ref.reason, "code", ref.code.String(), "detail", ref.detail)
		s.o.Logger.InfoContext(ctx, "enroll: refused "+rec.AdminAction, attrs...)
	} else {
		attrs = append(attrs, "serial", rec.CertSerialHex, "not_after", out.cert.NotAfter.UTC().Format(time.RFC3339))
		s.o.Logger.InfoContext(ctx, "enroll: "+rec.AdminAction, attrs...)
	}
	s.o.Audit(rec)
}

// deviceOf returns the device whose current or previous certificate has
// the fingerprint fp, or nil.
func deviceOf(snap *store.Snapshot, fp string) *adminv1.Device {
	for _, d := range snap.Devices {
		if d.GetCertificate().GetFingerprintSha256() == fp {
			return d
		}
		for _, c := range d.GetPreviousCertificates() {
			if c.GetFingerprintSha256() == fp {
				return d
			}
		}
	}
	return nil
}

func principalID(c *x509.Certificate) string {
	p, err := authz.PrincipalFromCertificate(c)
	if err != nil {
		return ""
	}
	return p.ID
}

func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// newDeviceID returns "dv-" and 16 random hex digits.
func newDeviceID() string {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return fmt.Sprintf("dv-%016x", n)
}
