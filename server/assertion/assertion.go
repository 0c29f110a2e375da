// Package assertion signs the identity assertion the relay sends to internal
// hosts: a short-lived JWT naming the caller and bound to one request, which
// a backend verifies against the gateway's published JWKS instead of
// trusting plain headers that anything on its network could send.
//
// Keys live in memory only. A key signs for one rotation period; it is
// published one period before it signs (so backends that refresh their JWKS
// at least once a period know it before its first token arrives) and stays
// published until every token it signed has expired.
package assertion

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Algorithm is the signature algorithm of every assertion: Ed25519 signs
// with less than half of ES256's allocations and time through go-jose (see
// BenchmarkSign), and the stock JWT libraries of Node, Python, Go and Java
// verify it.
const Algorithm = jose.EdDSA

// JWKSPath is where the public keys are served.
const JWKSPath = "/.well-known/jwks.json"

// Defaults for [Config].
const (
	DefaultIssuer         = "msg-gateway"
	DefaultHeader         = "X-Msg-Assertion"
	DefaultTTL            = 60 * time.Second
	DefaultRotationPeriod = 24 * time.Hour
)

// Config configures a [Signer].
type Config struct {
	// Issuer is the iss claim.
	Issuer string
	// TTL is how long an assertion is valid after it is issued.
	TTL time.Duration
	// RotationPeriod is how long each key signs.
	RotationPeriod time.Duration
}

// Request is what one assertion says: who calls which endpoint of which
// host, as the relay sends it.
type Request struct {
	// Audience is the internal host's name, as in the host table.
	Audience string
	// Subject is the principal id.
	Subject string
	// CertSHA256 is the client certificate's SHA-256, lower-case hex.
	CertSHA256 string
	// Organizations and OrganizationalUnits are the certificate's O and OU.
	Organizations, OrganizationalUnits []string
	// RequestID is the gateway's request id (the jti).
	RequestID string
	// Method and Path are the upstream request's method and path (as sent,
	// without the query): the request the assertion is bound to.
	Method, Path string
}

// claims is the JWT payload.
type claims struct {
	Issuer     string   `json:"iss"`
	Audience   string   `json:"aud"`
	Subject    string   `json:"sub"`
	IssuedAt   int64    `json:"iat"`
	NotBefore  int64    `json:"nbf"`
	Expiry     int64    `json:"exp"`
	ID         string   `json:"jti,omitempty"`
	CertSHA256 string   `json:"cert_sha256"`
	O          []string `json:"o,omitempty"`
	OU         []string `json:"ou,omitempty"`
	Method     string   `json:"htm"`
	Path       string   `json:"path"`
}

// key is one signing key of the ring.
type key struct {
	id        string
	public    jose.JSONWebKey
	signer    jose.Signer
	signsFrom time.Time // start of its signing period
	signsTill time.Time // end of its signing period
}

// Signer signs assertions with the current key of a rotating ring. It is
// safe for concurrent use.
type Signer struct {
	cfg Config
	now func() time.Time

	mu   sync.RWMutex
	ring []*key // by signsFrom; retired, current, next
	jwks []byte // the ring's public keys, marshalled
}

// New returns a Signer with a fresh current key and the next one.
func New(cfg Config) (*Signer, error) {
	return newSigner(cfg, time.Now)
}

func newSigner(cfg Config, now func() time.Time) (*Signer, error) {
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.RotationPeriod <= 0 {
		cfg.RotationPeriod = DefaultRotationPeriod
	}
	s := &Signer{cfg: cfg, now: now}
	if err := s.rotate(now()); err != nil {
		return nil, err
	}
	return s, nil
}

// Run rotates the keys every rotation period until ctx ends.
func (s *Signer) Run(ctx context.Context) error {
	for {
		s.mu.RLock()
		next := s.current(s.now()).signsTill
		s.mu.RUnlock()
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		if err := s.rotate(s.now()); err != nil {
			return err
		}
	}
}

// rotate makes the ring hold, at now: the key that signs now, the next one,
// and the earlier ones whose tokens may still be valid.
func (s *Signer) rotate(now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.ring); n > 0 {
		// Run was late by more than a period: the last key has signed
		// until now, and its tokens must stay verifiable.
		if last := s.ring[n-1]; !last.signsFrom.After(now) && last.signsTill.Before(now) {
			last.signsTill = now
		}
	}
	var ring []*key
	for _, k := range s.ring {
		if now.Before(k.signsTill.Add(s.cfg.TTL)) {
			ring = append(ring, k)
		}
	}
	from := now
	if len(ring) > 0 {
		from = ring[len(ring)-1].signsTill
	}
	// Enough keys that one signs now and the next is already published.
	for len(ring) == 0 || !ring[len(ring)-1].signsFrom.After(now) {
		k, err := newKey(from, from.Add(s.cfg.RotationPeriod))
		if err != nil {
			return err
		}
		ring = append(ring, k)
		from = k.signsTill
	}
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, len(ring))}
	for i, k := range ring {
		set.Keys[i] = k.public
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return fmt.Errorf("assertion: marshalling the JWKS: %w", err)
	}
	s.ring, s.jwks = ring, jwks
	return nil
}

func newKey(from, till time.Time) (*key, error) {
	public, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("assertion: generating a key: %w", err)
	}
	pub := jose.JSONWebKey{Key: public, Algorithm: string(Algorithm), Use: "sig"}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("assertion: key thumbprint: %w", err)
	}
	// The RFC 7638 thumbprint: the same key always has the same id.
	pub.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: Algorithm, Key: jose.JSONWebKey{Key: priv, KeyID: pub.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("assertion: signer: %w", err)
	}
	return &key{id: pub.KeyID, public: pub, signer: sig, signsFrom: from, signsTill: till}, nil
}

// current returns the key whose signing period holds now, or the latest
// one that has started (Run rotates late under load). Callers hold mu.
func (s *Signer) current(now time.Time) *key {
	var cur *key
	for _, k := range s.ring {
		if !k.signsFrom.After(now) {
			cur = k
		}
	}
	if cur == nil {
		cur = s.ring[0]
	}
	return cur
}

// Sign returns the compact JWT for r.
func (s *Signer) Sign(r Request) (string, error) {
	now := s.now()
	s.mu.RLock()
	k := s.current(now)
	s.mu.RUnlock()
	payload, err := json.Marshal(claims{
		Issuer:     s.cfg.Issuer,
		Audience:   r.Audience,
		Subject:    r.Subject,
		IssuedAt:   now.Unix(),
		NotBefore:  now.Unix(),
		Expiry:     now.Add(s.cfg.TTL).Unix(),
		ID:         r.RequestID,
		CertSHA256: r.CertSHA256,
		O:          r.Organizations,
		OU:         r.OrganizationalUnits,
		Method:     r.Method,
		Path:       r.Path,
	})
	if err != nil {
		return "", fmt.Errorf("assertion: claims: %w", err)
	}
	jws, err := k.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("assertion: signing: %w", err)
	}
	return jws.CompactSerialize()
}

// JWKS returns the published public keys as a JSON Web Key Set.
func (s *Signer) JWKS() []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.jwks
}

// KeyIDs returns the ids of the published keys, oldest first.
func (s *Signer) KeyIDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := make([]string, len(s.ring))
	for i, k := range s.ring {
		ids[i] = k.id
	}
	return ids
}

// ServeHTTP serves the JWKS. It holds only public keys, so it needs no
// authentication.
func (s *Signer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.serveJWKS(w, r, s.JWKS())
}

// Union serves the JWKS of a fleet: the signer's own keys, always current,
// and the keys the other instances published.
type Union struct {
	Signer *Signer
	// Others returns the other instances' JWKS documents (this instance's
	// may be among them).
	Others func() [][]byte
}

// ServeHTTP serves the union of the keys, each kid once.
func (u *Union) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.Signer.serveJWKS(w, r, MergeJWKS(append([][]byte{u.Signer.JWKS()}, u.Others()...)...))
}

// MergeJWKS returns one JWKS with the keys of sets, each kid once (the
// first wins); a set that does not parse is left out.
func MergeJWKS(sets ...[]byte) []byte {
	seen := map[string]bool{}
	var keys []json.RawMessage
	for _, set := range sets {
		var doc struct {
			Keys []json.RawMessage `json:"keys"`
		}
		if json.Unmarshal(set, &doc) != nil {
			continue
		}
		for _, k := range doc.Keys {
			var id struct {
				Kid string `json:"kid"`
				D   string `json:"d"`
			}
			// Never publish a private key, whoever put it in the store.
			if json.Unmarshal(k, &id) != nil || id.Kid == "" || id.D != "" || seen[id.Kid] {
				continue
			}
			seen[id.Kid] = true
			keys = append(keys, k)
		}
	}
	out, _ := json.Marshal(struct {
		Keys []json.RawMessage `json:"keys"`
	}{Keys: append([]json.RawMessage{}, keys...)})
	return out
}

func (s *Signer) serveJWKS(w http.ResponseWriter, r *http.Request, jwks []byte) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	// Short against the rotation period: a cache must let a backend see
	// the next key before it signs.
	maxAge := min(time.Minute, s.cfg.RotationPeriod/4)
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(maxAge.Seconds())))
	_, _ = w.Write(jwks)
}

// TTL is how long an assertion is valid.
func (s *Signer) TTL() time.Duration { return s.cfg.TTL }

// RotationPeriod is how long each key signs.
func (s *Signer) RotationPeriod() time.Duration { return s.cfg.RotationPeriod }
