// Package admin implements msg.admin.v1.AdminService on top of the store and
// serves it on the admin listener, both as gRPC and as REST through a
// grpc-gateway mux that calls the same gRPC server over a real connection, so
// authentication, roles, logging and audit run for every REST call too.
package admin
