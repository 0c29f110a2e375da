package enroll

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/msg-gateway/msg/internal/requestid"
)

// EST (RFC 7030) paths. Only the default CA (no label) is served.
const (
	estPrefix         = "/.well-known/est/"
	estCACerts        = estPrefix + "cacerts"
	estSimpleEnroll   = estPrefix + "simpleenroll"
	estSimpleReenroll = estPrefix + "simplereenroll"
)

// maxESTBody bounds an EST request body: a base64 CSR of maxCSRBytes with
// line breaks.
const maxESTBody = maxCSRBytes*4/3 + 4096

const pkcs7Type = "application/pkcs7-mime; smime-type=certs-only"

// estHandler serves the three EST operations. The secret of simpleenroll
// comes as "Authorization: Bearer SECRET", or, for EST clients that only
// speak HTTP Basic (RFC 7030 section 3.2.3), as the Basic password with
// any user name; simplereenroll is authenticated by the TLS client
// certificate.
func (s *Service) estHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+estCACerts, s.estCACerts)
	mux.HandleFunc("POST "+estSimpleEnroll, func(w http.ResponseWriter, r *http.Request) { s.estEnroll(w, r, false) })
	mux.HandleFunc("POST "+estSimpleReenroll, func(w http.ResponseWriter, r *http.Request) { s.estEnroll(w, r, true) })
	return mux
}

// estCACerts answers the CA certificates a device should know: the trust
// anchor of the gateway's server certificate (RFC 7030's explicit trust
// anchor, the one bundles pin), then the issuing CA's chain.
func (s *Service) estCACerts(w http.ResponseWriter, _ *http.Request) {
	certs := [][]byte{s.o.Anchor.Raw}
	for _, c := range s.o.Issuer.chain {
		if !c.Equal(s.o.Anchor) {
			certs = append(certs, c.Raw)
		}
	}
	writeCerts(w, certs)
}

func (s *Service) estEnroll(w http.ResponseWriter, r *http.Request, renew bool) {
	ctx := requestid.NewContext(r.Context(), requestid.New())
	req := request{protocol: protocolEST, source: remoteAddr(r)}
	if renew && r.TLS != nil {
		req.peer = peerChain(r.TLS.VerifiedChains)
	}
	if !renew {
		req.secret = bearerSecret(r.Header)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxESTBody))
	if err != nil {
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if req.csr, err = decodeCSRBody(body); err != nil {
		// Passed on as is: checkCSR refuses it with the same words as a
		// gRPC request's, and the refusal is audited.
		req.csr = nil
	}
	var iss *issued
	var ref *refusal
	if renew {
		iss, ref = s.renew(ctx, req)
	} else {
		iss, ref = s.enroll(ctx, req)
	}
	if ref != nil {
		ref.writeHTTP(w)
		return
	}
	// RFC 7030 section 4.2.3: only the issued certificate; the chain is
	// what /cacerts answers.
	writeCerts(w, [][]byte{iss.leaf.Raw})
}

func writeCerts(w http.ResponseWriter, certs [][]byte) {
	der, err := certsOnly(certs)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", pkcs7Type)
	w.Header().Set("Content-Transfer-Encoding", "base64")
	_, _ = w.Write(base64Lines(der))
}

// bearerSecret returns the enrollment secret of an Authorization header:
// "Bearer SECRET", or "Basic" with SECRET as the password. Anything else
// is "" (refused like a wrong secret).
func bearerSecret(h http.Header) string {
	vals := h.Values("Authorization")
	if len(vals) != 1 {
		return ""
	}
	scheme, cred, ok := strings.Cut(strings.TrimSpace(vals[0]), " ")
	if !ok {
		return ""
	}
	cred = strings.TrimSpace(cred)
	switch strings.ToLower(scheme) {
	case "bearer":
		return cred
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return ""
		}
		_, password, ok := strings.Cut(string(raw), ":")
		if !ok {
			return ""
		}
		return password
	}
	return ""
}

// decodeCSRBody reads an EST request body: base64 of a DER PKCS #10 request
// (RFC 7030), with any line breaks and padding or none; a PEM "CERTIFICATE
// REQUEST" is accepted too, as some clients send that.
func decodeCSRBody(body []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(body)
	if bytes.HasPrefix(trimmed, []byte("-----BEGIN")) {
		block, _ := pem.Decode(trimmed)
		if block == nil || (block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST") {
			return nil, errors.New("not a PEM certificate request")
		}
		return block.Bytes, nil
	}
	compact := make([]byte, 0, len(trimmed))
	for _, c := range trimmed {
		switch c {
		case ' ', '\t', '\r', '\n':
		default:
			compact = append(compact, c)
		}
	}
	compact = bytes.TrimRight(compact, "=")
	der := make([]byte, base64.RawStdEncoding.DecodedLen(len(compact)))
	n, err := base64.RawStdEncoding.Decode(der, compact)
	if err != nil {
		return nil, errors.New("not base64")
	}
	return der[:n], nil
}

// remoteAddr is the request's source address.
func remoteAddr(r *http.Request) net.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}

// peerChain returns a verified client chain, leaf first, or nil.
func peerChain(chains [][]*x509.Certificate) []*x509.Certificate {
	if len(chains) == 0 || len(chains[0]) == 0 {
		return nil
	}
	return chains[0]
}
