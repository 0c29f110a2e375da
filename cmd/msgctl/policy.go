package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
)

// policyCommand runs "policy test": the gateway's policy tester
// (POST /v1/policy:evaluate).
func (c *cli) policyCommand(ctx context.Context, o *options, args []string) error {
	if _, rest, err := verb("policy", args, "test"); err != nil {
		return err
	} else {
		args = rest
	}
	const cmd = "policy test"
	fs := newFlagSet(cmd)
	id := &adminv1.PolicyIdentity{}
	var orgs, ous string
	fs.StringVar(&id.PrincipalId, "principal", "", "the principal id (the SPIFFE ID, else the CN)")
	fs.StringVar(&id.CommonName, "cn", "", "the certificate's subject common name")
	fs.StringVar(&orgs, "org", "", "subject organizations (O), comma-separated")
	fs.StringVar(&ous, "ou", "", "subject organizational units (OU), comma-separated")
	fs.StringVar(&id.SpiffeId, "spiffe-id", "", "the certificate's SPIFFE ID")
	fs.StringVar(&id.FingerprintSha256, "fingerprint", "", "the certificate's SHA-256 fingerprint")
	pos, err := parseLeaf(cmd, fs, o, args)
	if err != nil {
		return err
	}
	if len(pos) != 3 {
		return usagef("%s: want METHOD HOST PATH, e.g. GET demo.internal /hello", cmd)
	}
	id.Organizations, id.OrganizationalUnits = splitComma(orgs), splitComma(ous)
	if id.GetPrincipalId() == "" && id.GetCommonName() == "" && id.GetSpiffeId() == "" {
		return usagef("%s: name the caller with --principal, --cn or --spiffe-id", cmd)
	}
	cl, err := c.connect(o)
	if err != nil {
		return err
	}
	req := &adminv1.EvaluatePolicyRequest{Identity: id, Request: &adminv1.PolicyRequest{Method: pos[0], Host: pos[1], Path: pos[2]}}
	resp := &adminv1.EvaluatePolicyResponse{}
	if err := cl.call(ctx, http.MethodPost, "/v1/policy:evaluate", nil, req, resp); err != nil {
		return err
	}
	if o.json() {
		return writeJSON(c.stdout, resp)
	}
	return writeEvaluation(c, resp)
}

func splitComma(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func writeEvaluation(c *cli, r *adminv1.EvaluatePolicyResponse) error {
	verdict := "DENIED"
	if r.GetDecision() == adminv1.Decision_DECISION_ALLOW {
		verdict = "ALLOWED"
	}
	rule := r.GetRuleId()
	if rule == "" {
		rule = "(none)"
	}
	target := r.GetCanonicalPath()
	if q := r.GetCanonicalQuery(); q != "" {
		target += "?" + q
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 1, ' ', 0)
	lines := []struct{ k, v string }{
		{"decision", verdict},
		{"reason", clean(r.GetReason())},
		{"rule", clean(rule)},
		{"app gets", clean(strings.TrimSpace(r.GetCode() + " " + r.GetMessage()))},
		{"principal", clean(r.GetPrincipalId())},
		{"canonical", clean(strings.TrimSpace(r.GetCanonicalMethod() + " " + r.GetCanonicalHost() + target))},
		{"revision", strconv.FormatInt(r.GetRevision(), 10)},
	}
	for _, l := range lines {
		fmt.Fprintf(tw, "%s:\t%s\n", l.k, l.v)
	}
	return tw.Flush()
}
