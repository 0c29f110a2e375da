//go:build !linux

package server

import (
	"net"
	"time"
)

// setUserTimeout does nothing where TCP_USER_TIMEOUT does not exist (gRPC
// sets it on Linux only, too).
func setUserTimeout(*net.TCPConn, time.Duration) error { return nil }
