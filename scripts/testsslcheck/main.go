// Command testsslcheck reads the flat JSON report of testssl.sh (--jsonfile)
// and fails when the scanned endpoint's TLS posture is weaker than the
// gateway promises in docs/SECURITY.md: SSLv2/SSLv3/TLS 1.0/1.1, a cipher
// without forward secrecy, a CBC, RC4, 3DES or other non-AEAD suite, a curve
// other than X25519 or P-256, finite-field DHE, client-initiated
// renegotiation, or any known vulnerability testssl.sh finds. It also fails
// when the report shows that the scan did not really talk to the endpoint.
//
//	go run ./scripts/testsslcheck REPORT.json
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// finding is one entry of testssl.sh's flat JSON report.
type finding struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Finding  string `json:"finding"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: testsslcheck REPORT.json")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsslcheck:", err)
		os.Exit(2)
	}
	defer f.Close()
	problems, summary, err := check(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsslcheck:", err)
		os.Exit(2)
	}
	for _, s := range summary {
		fmt.Println("  " + s)
	}
	if len(problems) > 0 {
		fmt.Println("TLS posture check FAILED:")
		for _, p := range problems {
			fmt.Println("  - " + p)
		}
		os.Exit(1)
	}
	fmt.Println("TLS posture check passed")
}

// allowedCurves are the key-exchange groups the gateway may offer, as
// testssl.sh names them (the hybrid X25519MLKEM768 is unknown to the
// OpenSSL testssl.sh runs on, so it is never listed).
var allowedCurves = map[string]bool{"X25519": true, "prime256v1": true, "secp256r1": true, "X25519MLKEM768": true}

// vulnerabilityIDs are testssl.sh's checks of known attacks; each must come
// out OK or INFO.
var vulnerabilityIDs = []string{
	"heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_renego", "secure_client_renego", "CRIME_TLS",
	"POODLE_SSL", "fallback_SCSV", "SWEET32", "FREAK", "DROWN", "LOGJAM", "LOGJAM-common_primes",
	"BEAST", "LUCKY13", "RC4",
}

// check applies the rules to a report. problems lists every violation;
// summary says what was seen.
func check(r io.Reader) (problems, summary []string, err error) {
	var report []finding
	if err := json.NewDecoder(r).Decode(&report); err != nil {
		return nil, nil, fmt.Errorf("not a testssl.sh JSON report: %w", err)
	}
	byID := map[string]finding{}
	var ciphers []finding
	for _, f := range report {
		byID[f.ID] = f
		if strings.HasPrefix(f.ID, "cipher-") {
			ciphers = append(ciphers, f)
		}
		if f.Severity == "FATAL" {
			problems = append(problems, fmt.Sprintf("%s: scan error: %s", f.ID, f.Finding))
		}
	}
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	get := func(id string) (finding, bool) {
		f, ok := byID[id]
		if !ok {
			fail("%s: missing from the report (the scan did not run this check)", id)
		}
		return f, ok
	}

	// The scan really talked TLS to the endpoint.
	offered := 0
	for _, id := range []string{"TLS1_2", "TLS1_3"} {
		if f, ok := get(id); ok && strings.HasPrefix(f.Finding, "offered") {
			offered++
			summary = append(summary, id+": "+f.Finding)
		}
	}
	if offered == 0 {
		fail("neither TLS 1.2 nor TLS 1.3 offered: the scan did not reach the gateway")
	}
	if len(ciphers) == 0 {
		fail("no cipher suites listed: run testssl.sh with -E (cipher per protocol)")
	}

	for _, id := range []string{"SSLv2", "SSLv3", "TLS1", "TLS1_1"} {
		if f, ok := get(id); ok && !strings.HasPrefix(f.Finding, "not offered") {
			fail("%s offered (%s)", id, f.Finding)
		}
	}
	for _, id := range []string{"cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW",
		"cipherlist_3DES_IDEA", "cipherlist_AVERAGE"} {
		if f, ok := get(id); ok && !strings.HasPrefix(f.Finding, "not offered") {
			fail("%s: %s", id, f.Finding)
		}
	}
	for _, c := range ciphers {
		if p := weakCipher(c.Finding); p != "" {
			fail("%s: %s (%s)", c.ID, p, strings.Join(strings.Fields(c.Finding), " "))
		} else {
			summary = append(summary, "cipher "+strings.Join(strings.Fields(c.Finding), " "))
		}
	}

	if f, ok := get("PFS"); ok && !strings.HasPrefix(f.Finding, "offered") {
		fail("forward secrecy: %s", f.Finding)
	}
	if f, ok := get("PFS_ECDHE_curves"); ok {
		curves := strings.Fields(f.Finding)
		for _, c := range curves {
			if !allowedCurves[c] {
				fail("curve %s offered (allowed: X25519, P-256)", c)
			}
		}
		sort.Strings(curves)
		summary = append(summary, "curves: "+strings.Join(curves, " "))
	}
	if f, ok := byID["PFS_DH_groups"]; ok {
		fail("finite-field DHE offered: %s", f.Finding)
	}
	if f, ok := get("secure_client_renego"); ok && !strings.HasPrefix(f.Finding, "not vulnerable") {
		fail("client-initiated renegotiation: %s", f.Finding)
	}
	for _, id := range vulnerabilityIDs {
		f, ok := byID[id]
		if !ok {
			continue // not applicable to every endpoint (ticketbleed needs HTTP)
		}
		if f.Severity != "OK" && f.Severity != "INFO" {
			fail("%s: %s (%s)", id, f.Finding, f.Severity)
		}
	}
	if f, ok := byID["ALPN_HTTP2"]; ok {
		summary = append(summary, "ALPN: "+f.Finding)
	}
	return problems, summary, nil
}

// weakCipher returns why a cipher line of testssl.sh's -E output is not
// allowed, or "". A line reads: proto, hexcode, OpenSSL name, key exchange
// (e.g. "ECDH 253"), encryption, bits, IANA name.
func weakCipher(line string) string {
	fields := strings.Fields(line)
	up := strings.ToUpper(line)
	switch {
	case strings.Contains(up, "CBC") || strings.Contains(up, "RC4") || strings.Contains(up, "DES") ||
		strings.Contains(up, "NULL") || strings.Contains(up, "EXPORT") || strings.Contains(up, "IDEA") ||
		strings.Contains(up, "CAMELLIA") || strings.Contains(up, "SEED") || strings.Contains(up, "ARIA"):
		return "not an allowed AEAD cipher"
	case !strings.Contains(up, "GCM") && !strings.Contains(up, "CHACHA20"):
		return "not AES-GCM or ChaCha20-Poly1305"
	}
	if strings.HasPrefix(line, "TLS 1.3") {
		return "" // every TLS 1.3 suite is (EC)DHE with AEAD
	}
	for _, f := range fields {
		if f == "ECDH" || strings.HasPrefix(f, "ECDH/") {
			return ""
		}
	}
	return "no ECDHE key exchange (no forward secrecy)"
}
