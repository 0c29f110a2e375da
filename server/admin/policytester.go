package admin

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/msg-gateway/msg/authz"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Bounds on a policy tester identity: generous for real certificates, small
// enough that a request cannot make the tester work hard.
const (
	maxIdentityString = 2048
	maxIdentityList   = 64
)

// EvaluatePolicy implements AdminService: the policy tester. It decides the
// way the data plane does, with the same functions on the same state:
// [authz.Canonicalize] with the data plane's limits, then [authz.Policy.Decide]
// on the live policy, then the host table check the relay makes (a host that
// is not in the table is refused even when a rule allows it, as the relay
// refuses it). Nothing is relayed. Revocations and rate limits are not
// considered: the tester has no certificate, only its attributes.
func (s *Service) EvaluatePolicy(_ context.Context, req *adminv1.EvaluatePolicyRequest) (*adminv1.EvaluatePolicyResponse, error) {
	if s.o.DataPlane == nil {
		return nil, status.Error(codes.Unavailable, "the policy tester is not connected to a data plane")
	}
	principal, err := testPrincipal(req.GetIdentity())
	if err != nil {
		return nil, err
	}
	live := s.o.DataPlane.LiveState()
	resp := &adminv1.EvaluatePolicyResponse{
		Decision:    adminv1.Decision_DECISION_DENY,
		PrincipalId: principal.ID,
		Revision:    live.Revision,
	}
	r := req.GetRequest()
	creq, err := authz.Canonicalize(&gatewayv1.ForwardRequest{Host: r.GetHost(), Method: r.GetMethod(), Path: r.GetPath()}, live.Limits, live.HostOptions)
	if err != nil {
		// The app would get this InvalidArgument, field named, and nothing
		// would be decided.
		resp.Reason, resp.Code, resp.Message = "invalid_request", codes.InvalidArgument.String(), status.Convert(err).Message()
		return resp, nil
	}
	resp.CanonicalHost, resp.CanonicalMethod, resp.CanonicalPath, resp.CanonicalQuery = creq.Host, creq.Method, creq.Path, creq.RawQuery
	d := live.Policy.Decide(principal, creq)
	resp.RuleId, resp.Reason = d.RuleID, string(d.Reason)
	switch {
	case !d.Allowed:
		resp.Code = codes.PermissionDenied.String()
	case live.HasHost == nil || !live.HasHost(creq.Host):
		// The audit trail's word for the relay's refusal.
		resp.Reason, resp.Code = "host_not_allowlisted", codes.PermissionDenied.String()
	default:
		resp.Decision, resp.Code = adminv1.Decision_DECISION_ALLOW, codes.OK.String()
	}
	return resp, nil
}

// testPrincipal builds the [authz.Principal] a certificate with these
// attributes would yield, through [authz.PrincipalFromCertificate] itself, so
// that the principal id is derived and the SPIFFE ID validated exactly as in
// the data plane. Errors are InvalidArgument naming the field.
func testPrincipal(id *adminv1.PolicyIdentity) (*authz.Principal, error) {
	cn, spiffe, pid := id.GetCommonName(), id.GetSpiffeId(), id.GetPrincipalId()
	for field, v := range map[string]string{"principal_id": pid, "common_name": cn, "spiffe_id": spiffe} {
		if len(v) > maxIdentityString {
			return nil, invalid("identity."+field, fmt.Sprintf("longer than %d bytes", maxIdentityString))
		}
	}
	for field, list := range map[string][]string{"organizations": id.GetOrganizations(), "organizational_units": id.GetOrganizationalUnits()} {
		if len(list) > maxIdentityList {
			return nil, invalid("identity."+field, fmt.Sprintf("more than %d entries", maxIdentityList))
		}
		for i, v := range list {
			if len(v) > maxIdentityString {
				return nil, invalid(fmt.Sprintf("identity.%s[%d]", field, i), fmt.Sprintf("longer than %d bytes", maxIdentityString))
			}
		}
	}
	if pid != "" && cn == "" && spiffe == "" {
		if strings.HasPrefix(pid, "spiffe://") {
			spiffe = pid
		} else {
			cn = pid
		}
	}
	fp := strings.ToLower(strings.ReplaceAll(id.GetFingerprintSha256(), ":", ""))
	if fp != "" {
		if b, err := hex.DecodeString(fp); err != nil || len(b) != sha256.Size {
			return nil, invalid("identity.fingerprint_sha256", "must be 64 hex digits")
		}
	}
	cert := &x509.Certificate{
		// PrincipalFromCertificate wants a DER encoding to fingerprint; the
		// fingerprint is replaced by the one given below.
		Raw: []byte("policy tester"),
		Subject: pkix.Name{
			CommonName:         cn,
			Organization:       id.GetOrganizations(),
			OrganizationalUnit: id.GetOrganizationalUnits(),
		},
	}
	if spiffe != "" {
		// An in-memory certificate's URI SANs are read back with
		// url.URL.String; a SPIFFE ID that does not survive that round trip
		// is not one a certificate could carry as written.
		u, err := url.Parse(spiffe)
		if err != nil || u.String() != spiffe {
			return nil, invalid("identity.spiffe_id", "not a valid URI")
		}
		cert.URIs = []*url.URL{u}
	}
	p, err := authz.PrincipalFromCertificate(cert)
	if err != nil {
		field := "identity.spiffe_id"
		if spiffe == "" {
			field = "identity"
		}
		return nil, invalid(field, strings.TrimPrefix(strings.TrimPrefix(err.Error(), "authz: "), "client certificate: "))
	}
	p.FingerprintSHA256 = fp
	if pid != "" && p.ID != pid {
		return nil, invalid("identity.principal_id", fmt.Sprintf("the principal id is the SPIFFE ID when there is one, else the common name: %q here", p.ID))
	}
	return p, nil
}
