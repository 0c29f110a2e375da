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

// streamWorkers is how many goroutines serve new calls (grpc's
// NumStreamWorkers). A worker keeps the stack it has grown, which the deep
// interceptor chain and the relay need, where a goroutine per call grows a
// fresh 8 KiB stack (runtime.newstack and copystack were 6% of the gateway's
// CPU in make bench's GET 1 KiB); calls beyond the pool still get a goroutine
// each. Measured with make bench, GET 1 KiB at concurrency 64, in one run:
// 9,600–9,700 req/s at 112–115 µs of gateway CPU per request with the pool,
// 8,000–8,700 req/s at 130–142 µs without.
const streamWorkers = 64

// streamServerOptions are the gRPC server options that ForwardStream's bulk
// transfers and small calls need: see the measurements above.
//
// Per connection the gateway holds no buffer of its own while idle, which
// with 10,000 idle app connections is most of its memory: the write buffer
// is shared (SharedWriteBuffer: taken from a pool while the connection
// writes, returned when it is idle), and frames are read straight from the
// TLS connection, which buffers a record anyway, instead of through a 32 KiB
// bufio.Reader (ReadBufferSize 0). Together they took make bench's idle
// connections from 52–54 KiB of RSS each to 38–43 KiB; the GET 1 KiB and
// 16 MiB workloads did not move beyond the noise.
func streamServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.InitialWindowSize(streamWindowBytes),
		grpc.InitialConnWindowSize(connectionWindowBytes),
		grpc.NumStreamWorkers(streamWorkers),
		grpc.SharedWriteBuffer(true),
		grpc.ReadBufferSize(0),
	}
}
