package msg.gateway.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * GatewayService is the data plane of the mobile secure gateway. Every call
 * must arrive over mutual TLS; the caller's identity is taken from its verified
 * client certificate, never from a field of the request.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class GatewayServiceGrpc {

  private GatewayServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "msg.gateway.v1.GatewayService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<msg.gateway.v1.Gateway.ForwardRequest,
      msg.gateway.v1.Gateway.ForwardResponse> getForwardMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Forward",
      requestType = msg.gateway.v1.Gateway.ForwardRequest.class,
      responseType = msg.gateway.v1.Gateway.ForwardResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.gateway.v1.Gateway.ForwardRequest,
      msg.gateway.v1.Gateway.ForwardResponse> getForwardMethod() {
    io.grpc.MethodDescriptor<msg.gateway.v1.Gateway.ForwardRequest, msg.gateway.v1.Gateway.ForwardResponse> getForwardMethod;
    if ((getForwardMethod = GatewayServiceGrpc.getForwardMethod) == null) {
      synchronized (GatewayServiceGrpc.class) {
        if ((getForwardMethod = GatewayServiceGrpc.getForwardMethod) == null) {
          GatewayServiceGrpc.getForwardMethod = getForwardMethod =
              io.grpc.MethodDescriptor.<msg.gateway.v1.Gateway.ForwardRequest, msg.gateway.v1.Gateway.ForwardResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Forward"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.gateway.v1.Gateway.ForwardRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.gateway.v1.Gateway.ForwardResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getForwardMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.gateway.v1.Gateway.ForwardStreamRequest,
      msg.gateway.v1.Gateway.ForwardStreamResponse> getForwardStreamMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ForwardStream",
      requestType = msg.gateway.v1.Gateway.ForwardStreamRequest.class,
      responseType = msg.gateway.v1.Gateway.ForwardStreamResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
  public static io.grpc.MethodDescriptor<msg.gateway.v1.Gateway.ForwardStreamRequest,
      msg.gateway.v1.Gateway.ForwardStreamResponse> getForwardStreamMethod() {
    io.grpc.MethodDescriptor<msg.gateway.v1.Gateway.ForwardStreamRequest, msg.gateway.v1.Gateway.ForwardStreamResponse> getForwardStreamMethod;
    if ((getForwardStreamMethod = GatewayServiceGrpc.getForwardStreamMethod) == null) {
      synchronized (GatewayServiceGrpc.class) {
        if ((getForwardStreamMethod = GatewayServiceGrpc.getForwardStreamMethod) == null) {
          GatewayServiceGrpc.getForwardStreamMethod = getForwardStreamMethod =
              io.grpc.MethodDescriptor.<msg.gateway.v1.Gateway.ForwardStreamRequest, msg.gateway.v1.Gateway.ForwardStreamResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ForwardStream"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.gateway.v1.Gateway.ForwardStreamRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.gateway.v1.Gateway.ForwardStreamResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getForwardStreamMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static GatewayServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<GatewayServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<GatewayServiceStub>() {
        @java.lang.Override
        public GatewayServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new GatewayServiceStub(channel, callOptions);
        }
      };
    return GatewayServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static GatewayServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<GatewayServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<GatewayServiceBlockingV2Stub>() {
        @java.lang.Override
        public GatewayServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new GatewayServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return GatewayServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static GatewayServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<GatewayServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<GatewayServiceBlockingStub>() {
        @java.lang.Override
        public GatewayServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new GatewayServiceBlockingStub(channel, callOptions);
        }
      };
    return GatewayServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static GatewayServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<GatewayServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<GatewayServiceFutureStub>() {
        @java.lang.Override
        public GatewayServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new GatewayServiceFutureStub(channel, callOptions);
        }
      };
    return GatewayServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * GatewayService is the data plane of the mobile secure gateway. Every call
   * must arrive over mutual TLS; the caller's identity is taken from its verified
   * client certificate, never from a field of the request.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Forward relays one inner HTTP request to an allow-listed internal host and
     * returns the complete response. The inner request is canonicalized once; the
     * policy decides on that canonical form and the relay sends exactly that form.
     * Errors: UNAUTHENTICATED (no usable identity), PERMISSION_DENIED (policy, or a
     * host that is not allow-listed), INVALID_ARGUMENT (malformed inner request,
     * the field is named), UNAVAILABLE (upstream unreachable), DEADLINE_EXCEEDED,
     * RESOURCE_EXHAUSTED (size or rate limits). An upstream 4xx or 5xx is a
     * successful call that carries that status code.
     * </pre>
     */
    default void forward(msg.gateway.v1.Gateway.ForwardRequest request,
        io.grpc.stub.StreamObserver<msg.gateway.v1.Gateway.ForwardResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getForwardMethod(), responseObserver);
    }

    /**
     * <pre>
     * ForwardStream relays one inner HTTP request whose bodies are streamed in
     * both directions, in constant memory at the gateway: uploads and downloads
     * of any size up to the host's stream limits, and responses that arrive
     * incrementally (server-sent events, chunked JSON lines).
     * The client sends a RequestHead first, then zero or more body chunks, then
     * a RequestEnd, and then half-closes. Canonicalization and the policy
     * decision happen on the head, exactly as for Forward, before any body byte
     * reaches the internal host. The gateway answers with a ResponseHead, zero or
     * more body chunks as the internal host produces them, and a ResponseEnd
     * carrying the HTTP trailers, and then ends the call with OK. A call that
     * ends any other way, or without a ResponseEnd, is a failed exchange even if
     * a head and body chunks arrived: the body was not delivered completely.
     * A "Content-Length" header in the head declares the request body's exact
     * length; the gateway relays it and fails the call with INVALID_ARGUMENT
     * when the body is shorter or longer. Without it the body is relayed with
     * chunked transfer coding.
     * Errors are those of Forward, plus: INVALID_ARGUMENT when the messages do
     * not follow the order above, DEADLINE_EXCEEDED when no body chunk moved in
     * either direction for the host's stream_idle_timeout or the call outlived
     * its max_stream_duration, RESOURCE_EXHAUSTED when a body exceeds the host's
     * max_stream_request_body_bytes or max_stream_response_body_bytes, and
     * UNAVAILABLE when the internal host fails in the middle of its response
     * (for example it closes the connection before sending all the bytes its
     * Content-Length announced). Cancelling the call cancels the upstream
     * request.
     * </pre>
     */
    default io.grpc.stub.StreamObserver<msg.gateway.v1.Gateway.ForwardStreamRequest> forwardStream(
        io.grpc.stub.StreamObserver<msg.gateway.v1.Gateway.ForwardStreamResponse> responseObserver) {
      return io.grpc.stub.ServerCalls.asyncUnimplementedStreamingCall(getForwardStreamMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service GatewayService.
   * <pre>
   * GatewayService is the data plane of the mobile secure gateway. Every call
   * must arrive over mutual TLS; the caller's identity is taken from its verified
   * client certificate, never from a field of the request.
   * </pre>
   */
  public static abstract class GatewayServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return GatewayServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service GatewayService.
   * <pre>
   * GatewayService is the data plane of the mobile secure gateway. Every call
   * must arrive over mutual TLS; the caller's identity is taken from its verified
   * client certificate, never from a field of the request.
   * </pre>
   */
  public static final class GatewayServiceStub
      extends io.grpc.stub.AbstractAsyncStub<GatewayServiceStub> {
    private GatewayServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected GatewayServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new GatewayServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Forward relays one inner HTTP request to an allow-listed internal host and
     * returns the complete response. The inner request is canonicalized once; the
     * policy decides on that canonical form and the relay sends exactly that form.
     * Errors: UNAUTHENTICATED (no usable identity), PERMISSION_DENIED (policy, or a
     * host that is not allow-listed), INVALID_ARGUMENT (malformed inner request,
     * the field is named), UNAVAILABLE (upstream unreachable), DEADLINE_EXCEEDED,
     * RESOURCE_EXHAUSTED (size or rate limits). An upstream 4xx or 5xx is a
     * successful call that carries that status code.
     * </pre>
     */
    public void forward(msg.gateway.v1.Gateway.ForwardRequest request,
        io.grpc.stub.StreamObserver<msg.gateway.v1.Gateway.ForwardResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getForwardMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ForwardStream relays one inner HTTP request whose bodies are streamed in
     * both directions, in constant memory at the gateway: uploads and downloads
     * of any size up to the host's stream limits, and responses that arrive
     * incrementally (server-sent events, chunked JSON lines).
     * The client sends a RequestHead first, then zero or more body chunks, then
     * a RequestEnd, and then half-closes. Canonicalization and the policy
     * decision happen on the head, exactly as for Forward, before any body byte
     * reaches the internal host. The gateway answers with a ResponseHead, zero or
     * more body chunks as the internal host produces them, and a ResponseEnd
     * carrying the HTTP trailers, and then ends the call with OK. A call that
     * ends any other way, or without a ResponseEnd, is a failed exchange even if
     * a head and body chunks arrived: the body was not delivered completely.
     * A "Content-Length" header in the head declares the request body's exact
     * length; the gateway relays it and fails the call with INVALID_ARGUMENT
     * when the body is shorter or longer. Without it the body is relayed with
     * chunked transfer coding.
     * Errors are those of Forward, plus: INVALID_ARGUMENT when the messages do
     * not follow the order above, DEADLINE_EXCEEDED when no body chunk moved in
     * either direction for the host's stream_idle_timeout or the call outlived
     * its max_stream_duration, RESOURCE_EXHAUSTED when a body exceeds the host's
     * max_stream_request_body_bytes or max_stream_response_body_bytes, and
     * UNAVAILABLE when the internal host fails in the middle of its response
     * (for example it closes the connection before sending all the bytes its
     * Content-Length announced). Cancelling the call cancels the upstream
     * request.
     * </pre>
     */
    public io.grpc.stub.StreamObserver<msg.gateway.v1.Gateway.ForwardStreamRequest> forwardStream(
        io.grpc.stub.StreamObserver<msg.gateway.v1.Gateway.ForwardStreamResponse> responseObserver) {
      return io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
          getChannel().newCall(getForwardStreamMethod(), getCallOptions()), responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service GatewayService.
   * <pre>
   * GatewayService is the data plane of the mobile secure gateway. Every call
   * must arrive over mutual TLS; the caller's identity is taken from its verified
   * client certificate, never from a field of the request.
   * </pre>
   */
  public static final class GatewayServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<GatewayServiceBlockingV2Stub> {
    private GatewayServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected GatewayServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new GatewayServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Forward relays one inner HTTP request to an allow-listed internal host and
     * returns the complete response. The inner request is canonicalized once; the
     * policy decides on that canonical form and the relay sends exactly that form.
     * Errors: UNAUTHENTICATED (no usable identity), PERMISSION_DENIED (policy, or a
     * host that is not allow-listed), INVALID_ARGUMENT (malformed inner request,
     * the field is named), UNAVAILABLE (upstream unreachable), DEADLINE_EXCEEDED,
     * RESOURCE_EXHAUSTED (size or rate limits). An upstream 4xx or 5xx is a
     * successful call that carries that status code.
     * </pre>
     */
    public msg.gateway.v1.Gateway.ForwardResponse forward(msg.gateway.v1.Gateway.ForwardRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getForwardMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ForwardStream relays one inner HTTP request whose bodies are streamed in
     * both directions, in constant memory at the gateway: uploads and downloads
     * of any size up to the host's stream limits, and responses that arrive
     * incrementally (server-sent events, chunked JSON lines).
     * The client sends a RequestHead first, then zero or more body chunks, then
     * a RequestEnd, and then half-closes. Canonicalization and the policy
     * decision happen on the head, exactly as for Forward, before any body byte
     * reaches the internal host. The gateway answers with a ResponseHead, zero or
     * more body chunks as the internal host produces them, and a ResponseEnd
     * carrying the HTTP trailers, and then ends the call with OK. A call that
     * ends any other way, or without a ResponseEnd, is a failed exchange even if
     * a head and body chunks arrived: the body was not delivered completely.
     * A "Content-Length" header in the head declares the request body's exact
     * length; the gateway relays it and fails the call with INVALID_ARGUMENT
     * when the body is shorter or longer. Without it the body is relayed with
     * chunked transfer coding.
     * Errors are those of Forward, plus: INVALID_ARGUMENT when the messages do
     * not follow the order above, DEADLINE_EXCEEDED when no body chunk moved in
     * either direction for the host's stream_idle_timeout or the call outlived
     * its max_stream_duration, RESOURCE_EXHAUSTED when a body exceeds the host's
     * max_stream_request_body_bytes or max_stream_response_body_bytes, and
     * UNAVAILABLE when the internal host fails in the middle of its response
     * (for example it closes the connection before sending all the bytes its
     * Content-Length announced). Cancelling the call cancels the upstream
     * request.
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<msg.gateway.v1.Gateway.ForwardStreamRequest, msg.gateway.v1.Gateway.ForwardStreamResponse>
        forwardStream() {
      return io.grpc.stub.ClientCalls.blockingBidiStreamingCall(
          getChannel(), getForwardStreamMethod(), getCallOptions());
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service GatewayService.
   * <pre>
   * GatewayService is the data plane of the mobile secure gateway. Every call
   * must arrive over mutual TLS; the caller's identity is taken from its verified
   * client certificate, never from a field of the request.
   * </pre>
   */
  public static final class GatewayServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<GatewayServiceBlockingStub> {
    private GatewayServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected GatewayServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new GatewayServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Forward relays one inner HTTP request to an allow-listed internal host and
     * returns the complete response. The inner request is canonicalized once; the
     * policy decides on that canonical form and the relay sends exactly that form.
     * Errors: UNAUTHENTICATED (no usable identity), PERMISSION_DENIED (policy, or a
     * host that is not allow-listed), INVALID_ARGUMENT (malformed inner request,
     * the field is named), UNAVAILABLE (upstream unreachable), DEADLINE_EXCEEDED,
     * RESOURCE_EXHAUSTED (size or rate limits). An upstream 4xx or 5xx is a
     * successful call that carries that status code.
     * </pre>
     */
    public msg.gateway.v1.Gateway.ForwardResponse forward(msg.gateway.v1.Gateway.ForwardRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getForwardMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service GatewayService.
   * <pre>
   * GatewayService is the data plane of the mobile secure gateway. Every call
   * must arrive over mutual TLS; the caller's identity is taken from its verified
   * client certificate, never from a field of the request.
   * </pre>
   */
  public static final class GatewayServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<GatewayServiceFutureStub> {
    private GatewayServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected GatewayServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new GatewayServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Forward relays one inner HTTP request to an allow-listed internal host and
     * returns the complete response. The inner request is canonicalized once; the
     * policy decides on that canonical form and the relay sends exactly that form.
     * Errors: UNAUTHENTICATED (no usable identity), PERMISSION_DENIED (policy, or a
     * host that is not allow-listed), INVALID_ARGUMENT (malformed inner request,
     * the field is named), UNAVAILABLE (upstream unreachable), DEADLINE_EXCEEDED,
     * RESOURCE_EXHAUSTED (size or rate limits). An upstream 4xx or 5xx is a
     * successful call that carries that status code.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.gateway.v1.Gateway.ForwardResponse> forward(
        msg.gateway.v1.Gateway.ForwardRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getForwardMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_FORWARD = 0;
  private static final int METHODID_FORWARD_STREAM = 1;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final AsyncService serviceImpl;
    private final int methodId;

    MethodHandlers(AsyncService serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_FORWARD:
          serviceImpl.forward((msg.gateway.v1.Gateway.ForwardRequest) request,
              (io.grpc.stub.StreamObserver<msg.gateway.v1.Gateway.ForwardResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_FORWARD_STREAM:
          return (io.grpc.stub.StreamObserver<Req>) serviceImpl.forwardStream(
              (io.grpc.stub.StreamObserver<msg.gateway.v1.Gateway.ForwardStreamResponse>) responseObserver);
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getForwardMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.gateway.v1.Gateway.ForwardRequest,
              msg.gateway.v1.Gateway.ForwardResponse>(
                service, METHODID_FORWARD)))
        .addMethod(
          getForwardStreamMethod(),
          io.grpc.stub.ServerCalls.asyncBidiStreamingCall(
            new MethodHandlers<
              msg.gateway.v1.Gateway.ForwardStreamRequest,
              msg.gateway.v1.Gateway.ForwardStreamResponse>(
                service, METHODID_FORWARD_STREAM)))
        .build();
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (GatewayServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .addMethod(getForwardMethod())
              .addMethod(getForwardStreamMethod())
              .build();
        }
      }
    }
    return result;
  }
}
