package authz

import (
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorDomain is the domain of the google.rpc.ErrorInfo details the gateway
// attaches to its errors.
const ErrorDomain = "msg.gateway"

// Stable ErrorInfo reasons an app can rely on.
const (
	// ErrorReasonDenied: the policy does not allow this request, or the host
	// is not allow-listed. The two are deliberately indistinguishable to the
	// app; the log and the audit record say which.
	ErrorReasonDenied = "POLICY_DENIED"
	// ErrorReasonUnauthenticated: no usable client identity.
	ErrorReasonUnauthenticated = "UNAUTHENTICATED"
	// ErrorReasonInvalidRequest: the inner request is malformed.
	ErrorReasonInvalidRequest = "INVALID_REQUEST"
)

// Fixed messages: nothing about the rule, the host table or the upstream ever
// reaches the app.
const (
	deniedMessage          = "request denied by policy"
	unauthenticatedMessage = "no usable client identity"
)

// DeniedError returns the one PermissionDenied status the gateway sends for
// every denial.
func DeniedError() error {
	return withInfo(codes.PermissionDenied, deniedMessage, ErrorReasonDenied, nil)
}

// UnauthenticatedError returns the Unauthenticated status for a caller
// without a usable identity.
func UnauthenticatedError() error {
	return withInfo(codes.Unauthenticated, unauthenticatedMessage, ErrorReasonUnauthenticated, nil)
}

// InvalidArgumentError returns the InvalidArgument status for a malformed
// inner request; msg names the field and says what is wrong with it, without
// echoing the value.
func InvalidArgumentError(field, msg string) error {
	return withInfo(codes.InvalidArgument, field+": "+msg, ErrorReasonInvalidRequest, map[string]string{"field": field})
}

func withInfo(c codes.Code, msg, reason string, md map[string]string) error {
	st := status.New(c, msg)
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain, Metadata: md}); err == nil {
		st = d
	}
	return st.Err()
}
