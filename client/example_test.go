package client_test

import (
	"fmt"
	"io"
	"log"
	"net/http"

	"github.com/msg-gateway/msg/client"
)

func ExampleNew() {
	// An in-process stand-in for the gateway, with a test CA and a client
	// certificate for "alice". A real app loads its material with
	// WithCertificateFiles and WithRootCAFile.
	gw, err := newTestGateway(gatewaySetup{handle: demoHost})
	if err != nil {
		log.Fatal(err)
	}
	defer gw.Close()

	t, err := client.New(gw.Addr,
		client.WithCertificate(gw.ClientCert),
		client.WithRootCAs(gw.CA.Pool()),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer t.Close()

	hc := &http.Client{Transport: t}
	resp, err := hc.Get("https://demo.internal/hello")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status)
	fmt.Println(string(body))
	// Output:
	// 200 OK
	// hello from demo.internal/hello
}
