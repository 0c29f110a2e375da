package authz

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/msg-gateway/msg/internal/canon"
)

// This file holds the three glob dialects rules use. Each is compiled once by
// NewPolicy and matched by hand-written loops: no regexp, no allocation, and
// time linear in pattern times subject length (the classic wildcard algorithm
// with a single backtrack point, applied to labels and segments).
//
//   - Common-name globs: '*' matches any run of bytes, including none; every
//     other byte matches itself. Case-sensitive.
//   - Host globs: "name" or "name:port", lower case. In the name, '*' as a
//     whole label matches exactly one non-empty label and '**' as a whole
//     label matches one or more labels, so "*.internal" matches
//     "a.internal" but not "a.b.internal" or "internal", and "**.internal"
//     matches both of the first two but not "internal". Wildcards inside a
//     label ("api-*") are rejected. The port is part of the host's identity:
//     a glob without a port matches only hosts without one, ":8443" matches
//     that port and ":*" any explicit port. The lone glob "**" is the
//     catch-all: it matches every host, with or without a port, IPv6 literals
//     included. An IPv6 literal is written in brackets in its canonical form
//     ("[::1]", "[2001:db8::1]:8443") and takes no wildcards except ":*".
//     Matching is ASCII case-insensitive, as DNS is.
//   - Path globs: '*' matches any run of bytes within one segment (never '/'),
//     and "**" as a whole segment matches zero or more segments, so
//     "/files/**" matches "/files", "/files/" and "/files/a/b". Matching is
//     case-sensitive.

// globElemKind is what one element (a host label or a path segment) of a
// sequence glob matches.
type globElemKind uint8

const (
	globLiteral globElemKind = iota // text exactly (ASCII-folded for hosts)
	globOne                         // exactly one non-empty element
	globStar                        // one element matching the '*' glob in text
	globAny                         // zero or more elements
)

type globElem struct {
	kind globElemKind
	text string
}

// globMatchStar reports whether s matches pattern, in which '*' matches any run
// of bytes, including none, and every other byte matches itself.
func globMatchStar(pattern, s string) bool {
	p, i := 0, 0
	starP, starI := -1, 0
	for i < len(s) {
		if p < len(pattern) {
			if pattern[p] == '*' {
				starP, starI = p, i
				p++
				continue
			}
			if pattern[p] == s[i] {
				p++
				i++
				continue
			}
		}
		if starP < 0 {
			return false
		}
		// Let the last '*' swallow one more byte and retry from there.
		p = starP + 1
		starI++
		i = starI
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// globNextElem returns where the element after the one starting at i begins in s:
// just past the next sep, or len(s)+1 when the element at i is the last one.
func globNextElem(s string, i int, sep byte) int {
	for j := i; j < len(s); j++ {
		if s[j] == sep {
			return j + 1
		}
	}
	return len(s) + 1
}

// globMatchSeq reports whether the sep-separated elements of s, starting at byte
// offset start, match pat. Literal elements compare ASCII case-insensitively
// when fold is set; their text is then lower case.
func globMatchSeq(pat []globElem, s string, start int, sep byte, fold bool) bool {
	p, i := 0, start
	starP, starI := -1, 0
	for i <= len(s) {
		next := globNextElem(s, i, sep)
		if p < len(pat) {
			e := &pat[p]
			var ok bool
			switch e.kind {
			case globAny:
				starP, starI = p, i
				p++
				continue
			case globOne:
				ok = next-1 > i
			case globStar:
				ok = globMatchStar(e.text, s[i:next-1])
			case globLiteral:
				if fold {
					ok = globEqualFold(e.text, s[i:next-1])
				} else {
					ok = e.text == s[i:next-1]
				}
			}
			if ok {
				p++
				i = next
				continue
			}
		}
		if starP < 0 {
			return false
		}
		// Let the last "**" swallow one more element and retry from there.
		p = starP + 1
		starI = globNextElem(s, starI, sep)
		i = starI
	}
	for p < len(pat) && pat[p].kind == globAny {
		p++
	}
	return p == len(pat)
}

// globEqualFold reports whether s equals lower, which is lower case, when
// ASCII letters in s are folded to lower case. Unlike strings.EqualFold it
// never folds non-ASCII runes (the Kelvin sign is not a 'k').
func globEqualFold(lower, s string) bool {
	if len(lower) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// Limits on pattern length keep the worst case of a match (pattern length
// times subject length) small; nothing useful is longer.
const (
	maxCNGlob   = 256 // a subject common name is at most 64 characters
	maxPathRule = 4096
)

// cnGlob is a compiled common-name glob.
type cnGlob struct {
	pattern string
}

func compileCNGlob(s string) (cnGlob, error) {
	if s == "" {
		return cnGlob{}, errors.New("empty common name glob")
	}
	if len(s) > maxCNGlob {
		return cnGlob{}, fmt.Errorf("common name glob longer than %d bytes", maxCNGlob)
	}
	return cnGlob{pattern: s}, nil
}

// match reports whether cn matches. An empty common name never matches: a
// certificate without one has no common name to select.
func (g *cnGlob) match(cn string) bool {
	return cn != "" && globMatchStar(g.pattern, cn)
}

// globPort describes the port part of a host glob.
type globPort uint8

const (
	globPortNone  globPort = iota // the host must have no port
	globPortExact                 // the host's port must equal hostGlob.port
	globPortAny                   // the host must have some port
)

// hostGlob is a compiled host glob.
type hostGlob struct {
	pattern  string     // the whole glob, lower case
	all      bool       // the lone "**": every host
	literal  bool       // no wildcard anywhere: compare pattern with the host
	ipv6     string     // the bracketed IPv6 literal name, or ""
	labels   []globElem // the name's labels, when not ipv6
	portKind globPort
	port     string
}

func compileHostGlob(s string) (hostGlob, error) {
	g := hostGlob{pattern: strings.ToLower(s)}
	if err := g.compile(s); err != nil {
		return hostGlob{}, fmt.Errorf("invalid glob %q: %w", s, err)
	}
	return g, nil
}

// compile fills g from its pattern (s as written, for the character check).
func (g *hostGlob) compile(s string) error {
	if s == "" {
		return errors.New("empty host")
	}
	if len(s) > 300 {
		return errors.New("longer than 300 bytes")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(ruleAlnum(c) || c == '-' || c == '.' || c == '*' || c == ':' || c == '[' || c == ']') {
			return fmt.Errorf("invalid character %q", c)
		}
	}
	if g.pattern == "**" {
		g.all = true
		return nil
	}
	g.literal = !strings.Contains(s, "*")
	name, port, hasPort, err := splitGlobPort(g.pattern)
	if err != nil {
		return err
	}
	if err := g.compilePort(port, hasPort); err != nil {
		return err
	}
	return g.compileName(name)
}

// splitGlobPort splits a lower-cased host glob into its name and port.
func splitGlobPort(pattern string) (name, port string, hasPort bool, err error) {
	name = pattern
	switch {
	case name[0] == '[':
		end := strings.IndexByte(name, ']')
		if end < 0 {
			return "", "", false, errors.New("unclosed '['")
		}
		name, port = pattern[:end+1], pattern[end+1:]
		if port != "" {
			if port[0] != ':' {
				return "", "", false, fmt.Errorf("unexpected %q after the IPv6 literal", port)
			}
			port, hasPort = port[1:], true
		}
	case strings.Count(name, ":") > 1:
		return "", "", false, errors.New("an IPv6 literal must be in brackets")
	default:
		if i := strings.IndexByte(name, ':'); i >= 0 {
			name, port, hasPort = name[:i], name[i+1:], true
		}
	}
	return name, port, hasPort, nil
}

func (g *hostGlob) compilePort(port string, hasPort bool) error {
	switch {
	case !hasPort:
		g.portKind = globPortNone
	case port == "*":
		g.portKind = globPortAny
	case port == "":
		return errors.New("empty port")
	case canon.Port(port) != nil:
		return fmt.Errorf("invalid port %q", port)
	default:
		g.portKind, g.port = globPortExact, port
	}
	return nil
}

func (g *hostGlob) compileName(name string) error {
	if name == "" {
		return errors.New("empty host name")
	}
	if name[0] == '[' {
		inner := name[1 : len(name)-1]
		if strings.ContainsAny(inner, "*[]") {
			return errors.New("wildcards are not allowed in an IPv6 literal")
		}
		a, err := netip.ParseAddr(inner)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return fmt.Errorf("%q is not an IPv6 address", inner)
		}
		if a.String() != inner {
			return fmt.Errorf("write the IPv6 literal in canonical form, %q", "["+a.String()+"]")
		}
		g.ipv6 = name
		return nil
	}
	if strings.ContainsAny(name, "[]") {
		return errors.New("'[' and ']' only enclose an IPv6 literal")
	}
	for _, label := range strings.Split(name, ".") {
		switch {
		case label == "":
			return errors.New("empty label")
		case len(label) > 63:
			return errors.New("label longer than 63 bytes")
		case label == "*":
			g.labels = append(g.labels, globElem{kind: globOne})
		case label == "**":
			// One or more labels: exactly one, then any number more.
			g.labels = append(g.labels, globElem{kind: globOne}, globElem{kind: globAny})
		case strings.Contains(label, "*"):
			return errors.New(`"*" and "**" must be whole labels`)
		default:
			g.labels = append(g.labels, globElem{kind: globLiteral, text: label})
		}
	}
	return nil
}

// match reports whether host ("name" or "name:port") matches the glob.
func (g *hostGlob) match(host string) bool {
	if host == "" {
		return false
	}
	if g.all {
		return true
	}
	if g.literal {
		return globEqualFold(g.pattern, host)
	}
	name, port, ok := splitGlobHost(host)
	if !ok {
		return false
	}
	switch g.portKind {
	case globPortNone:
		if port != "" {
			return false
		}
	case globPortAny:
		if port == "" {
			return false
		}
	case globPortExact:
		if port != g.port {
			return false
		}
	}
	if g.ipv6 != "" {
		return globEqualFold(g.ipv6, name)
	}
	if name[0] == '[' || name[0] == '.' || name[len(name)-1] == '.' || strings.Contains(name, "..") {
		return false // an IPv6 literal, or a name with an empty label
	}
	return globMatchSeq(g.labels, name, 0, '.', true)
}

// splitGlobHost splits "name", "name:port", "[v6]" or "[v6]:port" without
// allocating. ok is false when the form is none of those.
func splitGlobHost(host string) (name, port string, ok bool) {
	if host[0] == '[' {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return "", "", false
		}
		name, rest := host[:end+1], host[end+1:]
		if rest == "" {
			return name, "", true
		}
		if rest[0] != ':' || len(rest) == 1 {
			return "", "", false
		}
		return name, rest[1:], true
	}
	i := strings.IndexByte(host, ':')
	if i < 0 {
		return host, "", true
	}
	if i == 0 || i == len(host)-1 || strings.IndexByte(host[i+1:], ':') >= 0 {
		return "", "", false
	}
	return host[:i], host[i+1:], true
}

// pathGlob is a compiled path glob.
type pathGlob struct {
	pattern string
	segs    []globElem
}

func compilePathGlob(s string) (pathGlob, error) {
	if err := checkRulePath(s, true); err != nil {
		return pathGlob{}, fmt.Errorf("invalid glob %q: %w", s, err)
	}
	g := pathGlob{pattern: s}
	for _, seg := range strings.Split(s[1:], "/") {
		switch {
		case seg == "**":
			if n := len(g.segs); n > 0 && g.segs[n-1].kind == globAny {
				continue // "**/**" is "**"
			}
			g.segs = append(g.segs, globElem{kind: globAny})
		case strings.Contains(seg, "*"):
			g.segs = append(g.segs, globElem{kind: globStar, text: seg})
		default:
			g.segs = append(g.segs, globElem{kind: globLiteral, text: seg})
		}
	}
	return g, nil
}

// match reports whether the canonical path matches the glob.
func (g *pathGlob) match(path string) bool {
	if path == "" || path[0] != '/' {
		return false
	}
	return globMatchSeq(g.segs, path, 1, '/', false)
}

// checkRulePath validates the path of an exact, prefix or glob path matcher: it
// must be something a canonical path can equal, so that no rule silently
// never matches.
func checkRulePath(s string, glob bool) error {
	if s == "" {
		return errors.New("empty path")
	}
	if s[0] != '/' {
		return errors.New(`must start with "/"`)
	}
	if len(s) > maxPathRule {
		return fmt.Errorf("longer than %d bytes", maxPathRule)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c <= ' ' || c == 0x7f:
			return errors.New("must not contain spaces or control characters")
		case c == '?' || c == '#':
			return fmt.Errorf("must not contain %q: paths are matched without the query", c)
		case c == '*' && !glob:
			return errors.New(`"*" is only a wildcard in a glob path matcher`)
		}
	}
	segs := strings.Split(s[1:], "/")
	for i, seg := range segs {
		switch {
		case seg == "" && i < len(segs)-1:
			return errors.New(`must not contain "//"`)
		case seg == "." || seg == "..":
			return errors.New(`must not contain "." or ".." segments`)
		case glob && strings.Contains(seg, "**") && seg != "**":
			return errors.New(`"**" must be a whole segment`)
		}
	}
	return nil
}

func ruleAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
