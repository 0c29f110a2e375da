package enroll

import (
	"net/http"
	"strconv"
	"time"

	"github.com/msg-gateway/msg/authz"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Why a request was refused: the label values of the metrics' reason and
// the audit records' reason. The caller sees far less (see the messages).
const (
	reasonIssued          = "issued"
	reasonRateLimited     = "rate_limited"
	reasonBadRequest      = "bad_request"   // a malformed CSR
	reasonWeakKey         = "weak_key"      // a CSR for a key or signature the issuer refuses
	reasonBadSecret       = "bad_secret"    // a secret of the wrong form
	reasonUnknownToken    = "unknown_token" // no such token: never was, spent, or deleted
	reasonTokenExpired    = "token_expired"
	reasonNoCertificate   = "no_certificate" // a renewal without a client certificate
	reasonRevoked         = "revoked"
	reasonUnknownDevice   = "unknown_device" // a certificate of no device (deleted, or not enrolled)
	reasonCANotTrusted    = "ca_not_trusted" // the client CAs in force no longer include the issuer
	reasonStoreConflict   = "store_conflict" // the token or device kept changing under us
	reasonStoreUnavailble = "store_unavailable"
	reasonInternal        = "internal"
)

var reasons = []string{
	reasonIssued, reasonRateLimited, reasonBadRequest, reasonWeakKey, reasonBadSecret, reasonUnknownToken,
	reasonTokenExpired, reasonNoCertificate, reasonRevoked, reasonUnknownDevice, reasonCANotTrusted,
	reasonStoreConflict, reasonStoreUnavailble, reasonInternal,
}

// Stable ErrorInfo reasons (domain authz.ErrorDomain) an app can rely on.
const (
	// ErrorReasonEnrollmentRefused: the secret is not (or no longer) valid.
	// Wrong, expired, spent and deleted secrets are indistinguishable.
	ErrorReasonEnrollmentRefused = "ENROLLMENT_REFUSED"
	// ErrorReasonRenewalRefused: the presented certificate belongs to no
	// device that may renew (deleted, revoked, or not enrolled).
	ErrorReasonRenewalRefused = "RENEWAL_REFUSED"
	// ErrorReasonRateLimited: too many requests from this address; retry
	// after the RetryInfo delay.
	ErrorReasonRateLimited = "RATE_LIMITED"
	// ErrorReasonUnavailable: the gateway cannot issue now; retry later.
	ErrorReasonUnavailable = "UNAVAILABLE"
)

// The messages callers get. They never say which check failed beyond what
// the caller can know anyway.
const (
	msgEnrollmentRefused = "enrollment secret not accepted"
	msgRenewalRefused    = "renewal refused"
	msgNoCertificate     = "renewal needs the device's current client certificate"
	msgRateLimited       = "too many enrollment requests from this address"
	msgUnavailable       = "cannot issue certificates right now; retry later"
)

// refusal is why a request gets no certificate: what the caller is told
// (code, msg, info) and what the metrics and the audit trail record
// (reason, detail).
type refusal struct {
	code       codes.Code
	msg        string
	info       string // ErrorInfo reason
	field      string // for INVALID_REQUEST: the field at fault
	reason     string
	retryAfter time.Duration
	// detail is for the log and the audit record, never for the caller.
	detail string
}

func refuseSecret(reason, detail string) *refusal {
	return &refusal{code: codes.Unauthenticated, msg: msgEnrollmentRefused, info: ErrorReasonEnrollmentRefused, reason: reason, detail: detail}
}

func refuseRenewal(reason, detail string) *refusal {
	return &refusal{code: codes.PermissionDenied, msg: msgRenewalRefused, info: ErrorReasonRenewalRefused, reason: reason, detail: detail}
}

func refuseUnavailable(reason, detail string) *refusal {
	return &refusal{code: codes.Unavailable, msg: msgUnavailable, info: ErrorReasonUnavailable, reason: reason, retryAfter: time.Second, detail: detail}
}

func refuseCSR(err *csrError) *refusal {
	reason := reasonBadRequest
	if err.weak {
		reason = reasonWeakKey
	}
	return &refusal{code: codes.InvalidArgument, msg: err.Error(), info: authz.ErrorReasonInvalidRequest, field: "csr", reason: reason, detail: err.Error()}
}

// status is the refusal as a gRPC status, with an ErrorInfo and, when a
// retry can succeed, a RetryInfo.
func (r *refusal) status() error {
	st := status.New(r.code, r.msg)
	info := &errdetails.ErrorInfo{Reason: r.info, Domain: authz.ErrorDomain}
	if r.field != "" {
		info.Metadata = map[string]string{"field": r.field}
	}
	var d *status.Status
	var err error
	if r.retryAfter > 0 {
		d, err = st.WithDetails(info, &errdetails.RetryInfo{RetryDelay: durationpb.New(r.retryAfter)})
	} else {
		d, err = st.WithDetails(info)
	}
	if err == nil {
		st = d
	}
	return st.Err()
}

// writeHTTP answers an EST request with the refusal: a plain-text message
// and the HTTP status of its code (401 with a Bearer challenge, 403, 400,
// 429 or 503 with Retry-After).
func (r *refusal) writeHTTP(w http.ResponseWriter) {
	code := http.StatusInternalServerError
	switch r.code {
	case codes.Unauthenticated:
		code = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="msg-gateway enrollment"`)
	case codes.PermissionDenied:
		code = http.StatusForbidden
	case codes.InvalidArgument:
		code = http.StatusBadRequest
	case codes.ResourceExhausted:
		code = http.StatusTooManyRequests
	case codes.Unavailable:
		code = http.StatusServiceUnavailable
	}
	if r.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((r.retryAfter+time.Second-1)/time.Second)))
	}
	http.Error(w, r.msg, code)
}
