package server

import "google.golang.org/grpc"

// HTTP/2 flow-control windows for data the gateway receives (uploads). They
// were chosen with BenchmarkStreamTransfer (256 MiB each way, through the
// app library and the gateway on loopback, 2 shared cores), comparing CPU
// per byte and MB/s over interleaved runs:
//
//   - gRPC's defaults (64 KiB windows grown by BDP estimation, 32 KiB read
//     and write buffers): 3.0–3.6 CPU-ns/B upload, 3.3–3.7 download.
//   - Static 1 MiB stream / 4 MiB connection windows: the same within the
//     noise of a shared machine (3.1–3.5 upload).
//   - Read and write buffers of 128, 256 and 512 KiB: the same within the
//     noise, and the same number of read and write syscalls under strace
//     (the loopy writer flushes per message, not per buffer), so they would
//     only cost memory on every connection. Not set.
//
// Static windows are set anyway, for what loopback cannot show: BDP
// estimation may grow a window to 16 MiB, and a fast client in front of a
// slow upstream can make the gateway hold that much per connection; a static
// window bounds it at 1 MiB per stream and 4 MiB per connection, and gives a
// high-latency mobile uplink a 1 MiB window from the first byte instead of
// one that grows from 64 KiB. 1 MiB per round trip is 80 Mbit/s at 100 ms.
const (
	streamWindowBytes     = 1 << 20
	connectionWindowBytes = 4 << 20
)

// streamServerOptions are the gRPC server options that ForwardStream's bulk
// transfers need: see the measurements above.
func streamServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.InitialWindowSize(streamWindowBytes),
		grpc.InitialConnWindowSize(connectionWindowBytes),
	}
}
