package admin

import (
	"context"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/resource"
)

// The generated AdminService methods of the resource kinds: each one is the
// standard implementation (resources.go) for its kind.

// ListHosts implements AdminService.
func (s *Service) ListHosts(ctx context.Context, req *adminv1.ListHostsRequest) (*adminv1.ListHostsResponse, error) {
	return call[*adminv1.ListHostsResponse](ctx, s.list, resource.Host, req)
}

// GetHost implements AdminService.
func (s *Service) GetHost(ctx context.Context, req *adminv1.GetHostRequest) (*adminv1.GetHostResponse, error) {
	return call[*adminv1.GetHostResponse](ctx, s.get, resource.Host, req)
}

// CreateHost implements AdminService.
func (s *Service) CreateHost(ctx context.Context, req *adminv1.CreateHostRequest) (*adminv1.CreateHostResponse, error) {
	return call[*adminv1.CreateHostResponse](ctx, s.create, resource.Host, req)
}

// UpdateHost implements AdminService.
func (s *Service) UpdateHost(ctx context.Context, req *adminv1.UpdateHostRequest) (*adminv1.UpdateHostResponse, error) {
	return call[*adminv1.UpdateHostResponse](ctx, s.update, resource.Host, req)
}

// DeleteHost implements AdminService.
func (s *Service) DeleteHost(ctx context.Context, req *adminv1.DeleteHostRequest) (*adminv1.DeleteHostResponse, error) {
	return call[*adminv1.DeleteHostResponse](ctx, s.delete, resource.Host, req)
}

// ListRules implements AdminService.
func (s *Service) ListRules(ctx context.Context, req *adminv1.ListRulesRequest) (*adminv1.ListRulesResponse, error) {
	return call[*adminv1.ListRulesResponse](ctx, s.list, resource.Rule, req)
}

// GetRule implements AdminService.
func (s *Service) GetRule(ctx context.Context, req *adminv1.GetRuleRequest) (*adminv1.GetRuleResponse, error) {
	return call[*adminv1.GetRuleResponse](ctx, s.get, resource.Rule, req)
}

// CreateRule implements AdminService.
func (s *Service) CreateRule(ctx context.Context, req *adminv1.CreateRuleRequest) (*adminv1.CreateRuleResponse, error) {
	return call[*adminv1.CreateRuleResponse](ctx, s.create, resource.Rule, req)
}

// UpdateRule implements AdminService.
func (s *Service) UpdateRule(ctx context.Context, req *adminv1.UpdateRuleRequest) (*adminv1.UpdateRuleResponse, error) {
	return call[*adminv1.UpdateRuleResponse](ctx, s.update, resource.Rule, req)
}

// DeleteRule implements AdminService.
func (s *Service) DeleteRule(ctx context.Context, req *adminv1.DeleteRuleRequest) (*adminv1.DeleteRuleResponse, error) {
	return call[*adminv1.DeleteRuleResponse](ctx, s.delete, resource.Rule, req)
}

// ListRevocations implements AdminService.
func (s *Service) ListRevocations(ctx context.Context, req *adminv1.ListRevocationsRequest) (*adminv1.ListRevocationsResponse, error) {
	return call[*adminv1.ListRevocationsResponse](ctx, s.list, resource.Revocation, req)
}

// CreateRevocation implements AdminService: see [NormalizeRevocation].
func (s *Service) CreateRevocation(ctx context.Context, req *adminv1.CreateRevocationRequest) (*adminv1.CreateRevocationResponse, error) {
	return call[*adminv1.CreateRevocationResponse](ctx, s.create, resource.Revocation, req)
}

// DeleteRevocation implements AdminService.
func (s *Service) DeleteRevocation(ctx context.Context, req *adminv1.DeleteRevocationRequest) (*adminv1.DeleteRevocationResponse, error) {
	return call[*adminv1.DeleteRevocationResponse](ctx, s.delete, resource.Revocation, req)
}

// ListEnrollmentTokens implements AdminService.
func (s *Service) ListEnrollmentTokens(ctx context.Context, req *adminv1.ListEnrollmentTokensRequest) (*adminv1.ListEnrollmentTokensResponse, error) {
	return call[*adminv1.ListEnrollmentTokensResponse](ctx, s.list, resource.EnrollmentToken, req)
}

// GetEnrollmentToken implements AdminService.
func (s *Service) GetEnrollmentToken(ctx context.Context, req *adminv1.GetEnrollmentTokenRequest) (*adminv1.GetEnrollmentTokenResponse, error) {
	return call[*adminv1.GetEnrollmentTokenResponse](ctx, s.get, resource.EnrollmentToken, req)
}

// CreateEnrollmentToken implements AdminService: the kind's Lifecycle makes
// the secret and the bundle.
func (s *Service) CreateEnrollmentToken(ctx context.Context, req *adminv1.CreateEnrollmentTokenRequest) (*adminv1.CreateEnrollmentTokenResponse, error) {
	return call[*adminv1.CreateEnrollmentTokenResponse](ctx, s.create, resource.EnrollmentToken, req)
}

// DeleteEnrollmentToken implements AdminService.
func (s *Service) DeleteEnrollmentToken(ctx context.Context, req *adminv1.DeleteEnrollmentTokenRequest) (*adminv1.DeleteEnrollmentTokenResponse, error) {
	return call[*adminv1.DeleteEnrollmentTokenResponse](ctx, s.delete, resource.EnrollmentToken, req)
}

// ListDevices implements AdminService.
func (s *Service) ListDevices(ctx context.Context, req *adminv1.ListDevicesRequest) (*adminv1.ListDevicesResponse, error) {
	return call[*adminv1.ListDevicesResponse](ctx, s.list, resource.Device, req)
}

// GetDevice implements AdminService.
func (s *Service) GetDevice(ctx context.Context, req *adminv1.GetDeviceRequest) (*adminv1.GetDeviceResponse, error) {
	return call[*adminv1.GetDeviceResponse](ctx, s.get, resource.Device, req)
}

// DeleteDevice implements AdminService: the kind's Lifecycle revokes the
// device's certificates in the same write.
func (s *Service) DeleteDevice(ctx context.Context, req *adminv1.DeleteDeviceRequest) (*adminv1.DeleteDeviceResponse, error) {
	return call[*adminv1.DeleteDeviceResponse](ctx, s.delete, resource.Device, req)
}
