package httpmsg

import (
	"net/http"
	"strconv"
)

// ParseLength parses a Content-Length value. It accepts decimal digits only,
// at most 18 of them so that the value cannot overflow: anything a peer could
// read as a different length (a list, a sign, spaces, an overflow) is refused
// rather than guessed at.
func ParseLength(v string) (int64, bool) {
	if v == "" || len(v) > 18 {
		return 0, false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// BodyAllowed reports whether a response with status code to a request with
// method can carry a body (RFC 9110 section 6.4.1): a response to HEAD, a
// 1xx, a 204 and a 304 announce a length they do not carry.
func BodyAllowed(method string, code int) bool {
	return method != http.MethodHead && (code < 100 || code >= 200) && code != http.StatusNoContent && code != http.StatusNotModified
}
