package canon

import (
	"net/netip"
	"net/textproto"
	"strings"
	"unicode/utf8"
)

// Limits on the size of each part of an inner request. Inputs longer than
// these are rejected with an [*Error].
const (
	// MaxTargetLen is the longest request target (path plus "?query"), in
	// bytes, both as given and after canonicalization.
	MaxTargetLen = 8192
	// MaxMethodLen is the longest method token, in bytes.
	MaxMethodLen = 32
	// MaxHeaderNameLen is the longest header field name, in bytes.
	MaxHeaderNameLen = 256
	// MaxHeaderValueLen is the longest header field value, in bytes, before
	// trimming.
	MaxHeaderValueLen = 16 << 10
	// maxHostLen bounds the work done on a host before it is parsed: a
	// 253-byte name, ':' and a 5-digit port; any IPv6 literal is shorter.
	maxHostLen = 253 + 1 + 5
)

// Error is the error every function in this package returns. Reason is a
// fixed phrase that never quotes the input, so it is safe to send to the app;
// the caller adds the name of the field at fault.
type Error struct {
	Reason string
}

// Error returns the reason.
func (e *Error) Error() string { return e.Reason }

func fail(reason string) error { return &Error{Reason: reason} }

// PathOptions are the per-host choices that change which paths [Target]
// accepts. The zero value is the strict default.
type PathOptions struct {
	// AllowParameters accepts ';' (and "%3B") inside path segments. By default
	// a segment with one is rejected: Java servlet containers and Spring strip
	// ";parameters" from every segment before routing, so "/private;x/secret"
	// is "/private/secret" to them while a rule would see another path. With
	// it, a segment's parameters are part of the segment, as they are to an
	// upstream that does not strip them; "..;x" is rejected either way.
	AllowParameters bool
}

// Target canonicalizes an origin-form request target such as "/a/b?x=1" and
// returns the canonical path (without the query) and the validated raw query
// (without the '?'; "" when there is none or it is empty).
//
// The target must start with a single '/', be at most [MaxTargetLen] bytes
// and consist of printable ASCII only (anything else must be
// percent-encoded); a fragment ('#') is rejected. In the path, a literal or
// encoded '\', an encoded '/', NUL or other control character, an empty
// segment ("//"), a malformed or non-UTF-8 percent-encoding, a dot segment
// carrying parameters ("..;x") and a ".." that climbs above the root are
// rejected. So are spellings that some upstream family reads as another
// path: a ';' in a segment unless opts allow parameters (servlet
// containers strip ";params"), a segment ending in '.' or a space (Windows
// and IIS drop them), an NTFS stream suffix (":$", e.g. "::$DATA"), and an
// encoded '%' that starts another escape ("%252e", which a second decoding
// turns into "."). Each check applies to the segment as decoded, so "%3B"
// counts as ';' and "%3A%24" as ":$". Otherwise the path is normalized:
// percent-encoded unreserved characters are decoded, every other
// percent-encoding is written with upper-case hex, the printable characters
// RFC 3986 does not allow in a path (`"<>[]^{|}` and the backquote) are
// percent-encoded, and dot segments are removed as in RFC 3986 section 5.2.4.
// The query is only checked for well-formed percent-encodings and is
// returned byte for byte.
//
// For every target it accepts, Target(path + "?" + rawQuery, opts) returns
// path and rawQuery again.
func Target(target string, opts PathOptions) (path, rawQuery string, err error) {
	switch {
	case target == "":
		return "", "", fail("empty request target")
	case len(target) > MaxTargetLen:
		return "", "", fail("request target is too long")
	case target == "*":
		return "", "", fail("asterisk-form request target is not allowed")
	case target[0] != '/':
		if hasSchemeOrHostPrefix(target) {
			return "", "", fail("absolute-form or authority-form request target is not allowed")
		}
		return "", "", fail("request target must start with /")
	case strings.HasPrefix(target, "//"):
		return "", "", fail("network-path reference (//) is not allowed")
	}
	for i := 0; i < len(target); i++ {
		switch c := target[i]; {
		case c < 0x21 || c >= 0x7f:
			return "", "", fail("control, space or non-ASCII byte in request target must be percent-encoded")
		case c == '#':
			return "", "", fail("fragment (#) is not allowed in a request target")
		}
	}
	rawPath, rawQuery, _ := strings.Cut(target, "?")
	if !validPercentEncoding(rawQuery) {
		return "", "", fail("malformed percent-encoding in query")
	}
	path, err = canonicalPath(rawPath, opts)
	if err != nil {
		return "", "", err
	}
	n := len(path)
	if rawQuery != "" {
		n += 1 + len(rawQuery)
	}
	if n > MaxTargetLen {
		// Encoding characters a path may not hold can lengthen it; refuse
		// rather than return a target Target itself would refuse.
		return "", "", fail("request target is too long")
	}
	return path, rawQuery, nil
}

// hasSchemeOrHostPrefix reports whether s starts like "scheme:" or
// "host:port", the absolute and authority forms of a request target.
func hasSchemeOrHostPrefix(s string) bool {
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return false
	}
	for j := 0; j < i; j++ {
		c := s[j]
		if !isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// canonicalPath normalizes p, which starts with '/' and holds printable
// ASCII only, in two steps: decode and re-encode its bytes, then check each
// segment and remove dot segments.
func canonicalPath(p string, opts PathOptions) (string, error) {
	if strings.IndexByte(p, '\\') >= 0 {
		return "", fail("backslash in path is not allowed")
	}
	if strings.Contains(p, "//") {
		return "", fail("empty path segment (//)")
	}
	enc, err := normalizeEncoding(p)
	if err != nil {
		return "", err
	}

	// Remove dot segments (RFC 3986 section 5.2.4). A final "." or ".."
	// leaves a trailing slash, kept as a final empty segment.
	segs := strings.Split(enc[1:], "/")
	out := segs[:0]
	for i, s := range segs {
		if err := checkSegment(s, opts); err != nil {
			return "", err
		}
		switch s {
		case ".":
		case "..":
			if len(out) == 0 {
				return "", fail("path climbs above the root")
			}
			out = out[:len(out)-1]
		default:
			out = append(out, s)
			continue
		}
		if i == len(segs)-1 {
			out = append(out, "")
		}
	}
	return "/" + strings.Join(out, "/"), nil
}

// checkSegment rejects a normalized path segment that some upstream family
// reads as a different segment, so that a rule and the upstream can never
// disagree about it. It looks at the segment decoded: an upstream decodes
// before it strips or folds.
func checkSegment(s string, opts PathOptions) error {
	d := s
	if strings.IndexByte(s, '%') >= 0 {
		d = decode([]byte(s))
	}
	base, _, params := strings.Cut(d, ";")
	switch {
	case params && (base == "." || base == ".."):
		// Servlet containers strip ";params" before removing dot
		// segments, so "..;x" would climb there while it is an ordinary
		// name here.
		return fail("dot segment with parameters (;) is not allowed")
	case params && !opts.AllowParameters:
		return fail("path parameter (;) is not allowed")
	case d == "." || d == ".." || d == "":
		return nil
	case strings.HasSuffix(d, "."):
		// Windows and IIS drop trailing dots and spaces from a name, so
		// "/private./x" is "/private/x" there.
		return fail("path segment ending in a dot is not allowed")
	case strings.HasSuffix(d, " "):
		return fail("path segment ending in a space is not allowed")
	case strings.Contains(d, ":$"):
		// NTFS stream names: IIS serves "/private::$INDEX_ALLOCATION/x"
		// from the directory "/private".
		return fail("NTFS stream name (:$) in path is not allowed")
	case strings.Contains(s, "%25") && hasEncodedEscape(s):
		return fail("double percent-encoding (%25 before an escape) is not allowed")
	}
	return nil
}

// hasEncodedEscape reports whether the normalized segment s holds "%25"
// followed by two hex digits: one more decoding, which some proxies and
// frameworks apply, turns it into an escape ("%252e" into "%2e", then ".").
func hasEncodedEscape(s string) bool {
	for i := 0; i+4 < len(s); i++ {
		if s[i] == '%' && s[i+1] == '2' && s[i+2] == '5' && isHex(s[i+3]) && isHex(s[i+4]) {
			return true
		}
	}
	return false
}

// normalizeEncoding decodes the percent-encoded unreserved characters of p,
// writes every other percent-encoding with upper-case hex and percent-encodes
// the printable characters a path may not hold. It rejects encoded '/', '\'
// and control characters (NUL among them), malformed triplets, and decoded
// bytes that are not UTF-8.
func normalizeEncoding(p string) (string, error) {
	b := make([]byte, 0, len(p))
	highBytes := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '%':
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return "", fail("malformed percent-encoding in path")
			}
			c = unhex(p[i+1])<<4 | unhex(p[i+2])
			i += 2
			switch {
			case c == '/':
				return "", fail("encoded slash (%2F) is not allowed")
			case c == '\\':
				return "", fail("encoded backslash (%5C) is not allowed")
			case c == 0:
				return "", fail("encoded NUL (%00) is not allowed")
			case c < 0x20 || c == 0x7f:
				// Nothing legitimate needs them, and stacks that trim
				// (Java's String.trim, Python's strip) drop them at the
				// end of a name.
				return "", fail("encoded control character in path is not allowed")
			case isUnreserved(c):
				b = append(b, c)
			default:
				highBytes = highBytes || c >= 0x80
				b = appendEncoded(b, c)
			}
		case c == '/' || isPathChar(c):
			b = append(b, c)
		default:
			b = appendEncoded(b, c)
		}
	}
	if highBytes && !utf8.ValidString(decode(b)) {
		// Overlong forms such as %C0%AF are how '/' and '.' were smuggled
		// past decoders that are lax about UTF-8.
		return "", fail("percent-encoded bytes in path are not valid UTF-8")
	}
	return string(b), nil
}

// decode percent-decodes b, which holds well-formed triplets only.
func decode(b []byte) string {
	d := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '%' {
			d = append(d, unhex(b[i+1])<<4|unhex(b[i+2]))
			i += 2
			continue
		}
		d = append(d, b[i])
	}
	return string(d)
}

func appendEncoded(b []byte, c byte) []byte {
	const upperHex = "0123456789ABCDEF"
	return append(b, '%', upperHex[c>>4], upperHex[c&0x0f])
}

// validPercentEncoding reports whether every '%' in s starts a triplet.
func validPercentEncoding(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

// Method validates an RFC 9110 method token of 1 to [MaxMethodLen] bytes and
// returns it in upper case, so that "get" and "GET" authorize and relay alike.
func Method(m string) (string, error) {
	switch {
	case m == "":
		return "", fail("empty method")
	case len(m) > MaxMethodLen:
		return "", fail("method is too long")
	case !isToken(m):
		return "", fail("method is not a valid token")
	}
	return upperASCII(m), nil
}

// HeaderName validates an RFC 9110 field name (a token) of 1 to
// [MaxHeaderNameLen] bytes and returns it in canonical MIME form, as
// [textproto.CanonicalMIMEHeaderKey] spells it ("content-type" becomes
// "Content-Type").
func HeaderName(n string) (string, error) {
	switch {
	case n == "":
		return "", fail("empty header name")
	case len(n) > MaxHeaderNameLen:
		return "", fail("header name is too long")
	case !isToken(n):
		return "", fail("header name is not a valid token")
	}
	return textproto.CanonicalMIMEHeaderKey(n), nil
}

// HeaderValue validates a field value of at most [MaxHeaderValueLen] bytes
// and returns it with leading and trailing spaces and horizontal tabs
// removed, as RFC 9110 section 5.5 says a recipient sees it. Control bytes
// (CR, LF and NUL among them) other than horizontal tab are rejected, so a
// value can never start a new header line; bytes 0x80 and above (obs-text)
// are kept as given. An empty value is valid.
func HeaderValue(v string) (string, error) {
	if len(v) > MaxHeaderValueLen {
		return "", fail("header value is too long")
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return "", fail("control character in header value")
		}
	}
	return strings.Trim(v, " \t"), nil
}

// Host validates the internal host an app names, "name" or "name:port", and
// returns it in lower case. The name is a DNS name (labels of 1 to 63
// letters, digits and hyphens, not starting or ending with a hyphen, at most
// 253 bytes, no trailing dot), a dotted-quad IPv4 literal, or a bracketed
// IPv6 literal without a zone, which is returned in its RFC 5952 spelling
// ("[0:0::1]" becomes "[::1]"). A name whose last label looks like a number
// must be a dotted-quad literal, so that spellings such as "2130706433" or
// "0x7f.1" that some resolvers read as 127.0.0.1 are rejected. The port is
// 1 to 65535 without leading zeros.
//
// Host only validates and canonicalizes the spelling; whether the host may be
// reached is for the host table to decide.
func Host(h string) (string, error) {
	if h == "" {
		return "", fail("empty host")
	}
	if len(h) > maxHostLen {
		return "", fail("host is too long")
	}
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case c == '@':
			return "", fail("userinfo (@) is not allowed in host")
		case c < 0x21 || c >= 0x7f:
			return "", fail("space, control or non-ASCII byte in host")
		case c == '/' || c == '?' || c == '#' || c == '%' || c == '\\':
			return "", fail("invalid character in host")
		}
	}
	h = strings.ToLower(h)

	var name, port string
	hasPort := false
	if h[0] == '[' {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", fail("unterminated IPv6 literal in host")
		}
		addr, err := netip.ParseAddr(h[1:end])
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", fail("invalid IPv6 literal in host")
		}
		name = "[" + addr.String() + "]"
		switch rest := h[end+1:]; {
		case rest == "":
		case rest[0] == ':':
			port, hasPort = rest[1:], true
		default:
			return "", fail("invalid character after IPv6 literal in host")
		}
	} else {
		if strings.Count(h, ":") > 1 {
			return "", fail("IPv6 literal in host must be in brackets")
		}
		name, port, hasPort = strings.Cut(h, ":")
		if err := checkName(name); err != nil {
			return "", err
		}
	}
	if !hasPort {
		return name, nil
	}
	if err := Port(port); err != nil {
		return "", err
	}
	return name + ":" + port, nil
}

// checkName validates a lower-case DNS name or dotted-quad IPv4 literal.
func checkName(name string) error {
	if name == "" {
		return fail("empty host name")
	}
	if len(name) > 253 {
		return fail("host name is too long")
	}
	if strings.HasSuffix(name, ".") {
		return fail("trailing dot in host name is not allowed")
	}
	labels := strings.Split(name, ".")
	if looksNumeric(labels[len(labels)-1]) {
		addr, err := netip.ParseAddr(name)
		if err != nil || !addr.Is4() {
			return fail("invalid IPv4 literal in host")
		}
		return nil
	}
	for _, l := range labels {
		switch {
		case l == "":
			return fail("empty label in host name")
		case len(l) > 63:
			return fail("host name label is too long")
		case l[0] == '-' || l[len(l)-1] == '-':
			return fail("host name label starts or ends with a hyphen")
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !isLowerAlpha(c) && !isDigit(c) && c != '-' {
				return fail("invalid character in host name")
			}
		}
	}
	return nil
}

// looksNumeric reports whether a last label would be read as a number by an
// IPv4 parser that accepts decimal or hexadecimal parts (WHATWG URL's
// "ends in a number" check).
func looksNumeric(l string) bool {
	if l == "" {
		return false
	}
	if strings.HasPrefix(l, "0x") {
		for i := 2; i < len(l); i++ {
			if !isHex(l[i]) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(l); i++ {
		if !isDigit(l[i]) {
			return false
		}
	}
	return true
}

// Port checks a port as the host of a request and a host glob write it: a
// decimal number 1-65535 without leading zeros, so that each port has one
// spelling.
func Port(p string) error {
	switch {
	case p == "":
		return fail("empty port in host")
	case len(p) > 5 || (len(p) > 1 && p[0] == '0'):
		return fail("invalid port in host")
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if !isDigit(p[i]) {
			return fail("invalid port in host")
		}
		n = n*10 + int(p[i]-'0')
	}
	if n < 1 || n > 65535 {
		return fail("port in host is out of range")
	}
	return nil
}

// isToken reports whether s is a non-empty RFC 9110 token (1*tchar).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

func isTchar(c byte) bool {
	if isAlpha(c) || isDigit(c) {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// isUnreserved reports whether c is an RFC 3986 unreserved character.
func isUnreserved(c byte) bool {
	return isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~'
}

// isPathChar reports whether c may appear literally in a canonical path
// segment: an RFC 3986 pchar other than '%' (unreserved, sub-delims, ':' and
// '@').
func isPathChar(c byte) bool {
	return isUnreserved(c) || strings.IndexByte("!$&'()*+,;=:@", c) >= 0
}

func isAlpha(c byte) bool      { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isLowerAlpha(c byte) bool { return 'a' <= c && c <= 'z' }
func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isHex(c byte) bool        { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
