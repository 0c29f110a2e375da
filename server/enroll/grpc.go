package enroll

import (
	"context"
	"crypto/x509"
	"net"

	enrollv1 "github.com/msg-gateway/msg/gen/msg/enroll/v1"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// grpcService is msg.enroll.v1.EnrollmentService over the Service.
type grpcService struct {
	enrollv1.UnimplementedEnrollmentServiceServer
	s *Service
}

// Enroll implements EnrollmentService.
func (g *grpcService) Enroll(ctx context.Context, req *enrollv1.EnrollRequest) (*enrollv1.EnrollResponse, error) {
	r := request{protocol: protocolGRPC, secret: req.GetSecret(), csr: req.GetCsr()}
	r.source, _ = callerOf(ctx)
	iss, ref := g.s.enroll(ctx, r)
	if ref != nil {
		return nil, ref.status()
	}
	return &enrollv1.EnrollResponse{CertificateChain: iss.chain, DeviceId: iss.deviceID, GatewayAddress: g.s.o.GatewayAddress()}, nil
}

// Renew implements EnrollmentService.
func (g *grpcService) Renew(ctx context.Context, req *enrollv1.RenewRequest) (*enrollv1.RenewResponse, error) {
	r := request{protocol: protocolGRPC, csr: req.GetCsr()}
	r.source, r.peer = callerOf(ctx)
	iss, ref := g.s.renew(ctx, r)
	if ref != nil {
		return nil, ref.status()
	}
	return &enrollv1.RenewResponse{CertificateChain: iss.chain, DeviceId: iss.deviceID}, nil
}

// callerOf returns the call's source address and verified client chain.
func callerOf(ctx context.Context) (src net.Addr, chain []*x509.Certificate) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil, nil
	}
	if info, ok := p.AuthInfo.(credentials.TLSInfo); ok {
		chain = peerChain(info.State.VerifiedChains)
	}
	return p.Addr, chain
}
