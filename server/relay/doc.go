// Package relay implements GatewayService.Forward: it looks the canonical
// inner request's host up in the allow-list, sends exactly that request to the
// host's upstream over a pooled transport, and returns the response. Errors
// are mapped to gRPC statuses in one place and never carry internal host names
// or upstream error text to the app.
package relay
