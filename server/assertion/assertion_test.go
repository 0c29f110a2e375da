package assertion

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// clock is a settable time for the rotation tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// verify parses token against the JWKS and returns its claims.
func verify(t *testing.T, jwks []byte, token string) (claims, error) {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{Algorithm})
	if err != nil {
		return claims{}, err
	}
	var c claims
	err = tok.Claims(set, &c)
	return c, err
}

func TestSignClaims(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s, err := newSigner(Config{Issuer: "fleet-a", TTL: 30 * time.Second}, c.now)
	if err != nil {
		t.Fatal(err)
	}
	token, err := s.Sign(Request{
		Audience: "demo.internal", Subject: "alice", CertSHA256: strings.Repeat("ab", 32),
		Organizations: []string{"Acme"}, OrganizationalUnits: []string{"Payments"},
		RequestID: "req-1", Method: "POST", Path: "/base/items",
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := verify(t, s.JWKS(), token)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	want := claims{
		Issuer: "fleet-a", Audience: "demo.internal", Subject: "alice",
		IssuedAt: c.t.Unix(), NotBefore: c.t.Unix(), Expiry: c.t.Unix() + 30, ID: "req-1",
		CertSHA256: strings.Repeat("ab", 32), O: []string{"Acme"}, OU: []string{"Payments"},
		Method: "POST", Path: "/base/items",
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("claims\n got %s\nwant %s", gotJSON, wantJSON)
	}
	parsed, _ := jwt.ParseSigned(token, []jose.SignatureAlgorithm{Algorithm})
	if h := parsed.Headers[0]; h.KeyID != s.KeyIDs()[0] || h.Algorithm != "EdDSA" {
		t.Errorf("header kid=%q alg=%q, want kid %q EdDSA", h.KeyID, h.Algorithm, s.KeyIDs()[0])
	}
}

// TestRotationOverlap: the next key is published a period before it signs,
// and a retired key stays published until its last token has expired.
func TestRotationOverlap(t *testing.T) {
	const period, ttl = 10 * time.Minute, time.Minute
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s, err := newSigner(Config{TTL: ttl, RotationPeriod: period}, c.now)
	if err != nil {
		t.Fatal(err)
	}
	first := s.KeyIDs()
	if len(first) != 2 {
		t.Fatalf("ring at start = %v, want the current and the next key", first)
	}
	kidOf := func(token string) string {
		p, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{Algorithm})
		if err != nil {
			t.Fatal(err)
		}
		return p.Headers[0].KeyID
	}
	sign := func() string {
		tok, err := s.Sign(Request{Audience: "a", Subject: "s", Method: "GET", Path: "/"})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	// The last token of the first key.
	c.t = c.t.Add(period - time.Second)
	last := sign()
	if kidOf(last) != first[0] {
		t.Fatalf("signed with %s before the period ended, want %s", kidOf(last), first[0])
	}
	// The period ends; the next key signs, a third is published.
	c.t = c.t.Add(time.Second)
	if err := s.rotate(c.t); err != nil {
		t.Fatal(err)
	}
	if tok := sign(); kidOf(tok) != first[1] {
		t.Errorf("after rotation signed with %s, want the pre-published %s", kidOf(tok), first[1])
	}
	ids := s.KeyIDs()
	if len(ids) != 3 || ids[0] != first[0] || ids[1] != first[1] {
		t.Fatalf("ring after rotation = %v, want %v + a new next key", ids, first)
	}
	if _, err := verify(t, s.JWKS(), last); err != nil {
		t.Errorf("the retired key's last token no longer verifies: %v", err)
	}
	// Rotating again before the last token expired keeps the key.
	c.t = c.t.Add(ttl - 2*time.Second)
	if err := s.rotate(c.t); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(s.KeyIDs(), first[0]) {
		t.Errorf("retired key dropped while its tokens are valid: %v", s.KeyIDs())
	}
	// Once they have all expired, it goes.
	c.t = c.t.Add(2 * time.Second)
	if err := s.rotate(c.t); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(s.KeyIDs(), first[0]) {
		t.Errorf("retired key still published after its tokens expired: %v", s.KeyIDs())
	}
}

func TestJWKSHandler(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	resp, err := http.Get(srv.URL + JWKSPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Content-Type") != "application/jwk-set+json" || len(set.Keys) != 2 {
		t.Fatalf("JWKS %s with %d keys, want 2", resp.Header.Get("Content-Type"), len(set.Keys))
	}
	for _, k := range set.Keys {
		if k["d"] != nil {
			t.Fatal("the JWKS holds a private key")
		}
		if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["use"] != "sig" || k["kid"] == "" {
			t.Errorf("key %v", k)
		}
	}
}

// BenchmarkSign compares the two algorithms the gateway could sign with, on
// the same claims; the gateway uses ES256 (see Algorithm).
func BenchmarkSign(b *testing.B) {
	r := Request{
		Audience: "demo.internal", Subject: "spiffe://example.org/app/alice", CertSHA256: strings.Repeat("ab", 32),
		Organizations: []string{"Acme"}, OrganizationalUnits: []string{"Payments"},
		RequestID: "0f8fad5b-d9cb-469f-a165-70867728950e", Method: "GET", Path: "/base/items/42",
	}
	b.Run("EdDSA", func(b *testing.B) {
		s, err := New(Config{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Sign(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ES256", func(b *testing.B) {
		priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		s, err := New(Config{})
		if err != nil {
			b.Fatal(err)
		}
		sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: priv}, (&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			b.Fatal(err)
		}
		for _, k := range s.ring {
			k.signer = sig
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Sign(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestMergeJWKS: the fleet's union has each kid once and never a private
// key, whatever an instance (or whoever writes the store) published.
func TestMergeJWKS(t *testing.T) {
	a := []byte(`{"keys":[{"kid":"k1","kty":"OKP","crv":"Ed25519","x":"AA"},{"kid":"k2","kty":"OKP","crv":"Ed25519","x":"BB"}]}`)
	b := []byte(`{"keys":[{"kid":"k2","kty":"OKP","crv":"Ed25519","x":"XX"},{"kid":"k3","kty":"OKP","crv":"Ed25519","x":"CC","d":"secret"},{"kty":"OKP"}]}`)
	var got struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(MergeJWKS(a, []byte("not json"), b), &got); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range got.Keys {
		ids = append(ids, k["kid"]+"="+k["x"])
	}
	if strings.Join(ids, ",") != "k1=AA,k2=BB" {
		t.Errorf("merged = %v, want k1=AA,k2=BB (k2 once, the first; k3 carries a private key; a key without kid)", ids)
	}
	if got := string(MergeJWKS()); got != `{"keys":[]}` {
		t.Errorf("empty union = %s", got)
	}
}
