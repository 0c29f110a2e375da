package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"

	gatewayv1 "github.com/msg-gateway/msg/gen/msg/gateway/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// The floor of the gateway's design: a bare grpc-go server with mutual TLS
// and no interceptors whose Forward answers every call with a static 1 KiB
// body, driven by a bare grpc-go unary client. No proxy built on these
// libraries can relay a request for less server CPU than this mode spends
// answering one, nor call it for less client CPU. It runs as its own
// process (this binary's "floor" subcommand), so that its CPU is measured
// like every proxy's, and only in the GET 1 KiB cells.

// floorResponse is what the floor answers: what the backend's /1k sends.
func floorResponse() *gatewayv1.ForwardResponse {
	body := make([]byte, 1024)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	return &gatewayv1.ForwardResponse{
		StatusCode: 200,
		Headers: []*gatewayv1.Header{
			{Name: "Content-Length", Value: "1024"},
			{Name: "Content-Type", Value: "application/octet-stream"},
		},
		Body: body,
	}
}

type floorService struct {
	gatewayv1.UnimplementedGatewayServiceServer
	resp *gatewayv1.ForwardResponse
}

func (f floorService) Forward(context.Context, *gatewayv1.ForwardRequest) (*gatewayv1.ForwardResponse, error) {
	return f.resp, nil
}

// runFloor is the "floor" subcommand. It prints its address on stdout and
// serves until stdin closes (the harness exiting) or it is killed.
func runFloor(args []string) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	certFile := fs.String("cert", "", "server certificate file")
	keyFile := fs.String("key", "", "server key file")
	caFile := fs.String("ca", "", "the CA that client certificates must chain to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		return err
	}
	roots, err := loadPool(*caFile)
	if err != nil {
		return err
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    roots,
		MinVersion:   tls.VersionTLS12,
	})))
	gatewayv1.RegisterGatewayServiceServer(srv, floorService{resp: floorResponse()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	go func() {
		_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
		srv.Stop()
		os.Exit(0)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}

// startFloor runs the floor subcommand with the run's server certificate.
func startFloor(dir string, f *pkiFiles) (*child, string, error) {
	return startSelf(dir, "floor", "-cert", f.serverCert, "-key", f.serverKey, "-ca", f.ca)
}

// floorTarget calls the floor with a bare unary stub over one connection.
func floorTarget(addr string, f *pkiFiles, proxy *child) (*target, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{f.client},
		RootCAs:      f.roots,
		ServerName:   "localhost",
		MinVersion:   tls.VersionTLS12,
	})))
	if err != nil {
		return nil, err
	}
	stub := gatewayv1.NewGatewayServiceClient(conn)
	call := func(path string) (int64, error) {
		resp, err := stub.Forward(context.Background(), &gatewayv1.ForwardRequest{Host: benchHost, Method: "GET", Path: path})
		if err != nil {
			return 0, err
		}
		if resp.GetStatusCode() != 200 {
			return 0, fmt.Errorf("status %d", resp.GetStatusCode())
		}
		return int64(len(resp.GetBody())), nil
	}
	return &target{name: "floor", call: call, proxy: proxy, only: map[string]bool{"get1k": true},
		close: func() { conn.Close() }}, nil
}
