package msg.enroll.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * EnrollmentService issues the client certificates that devices present to
 * the gateway. It is served on the gateway's enrollment listener
 * (enroll.listen), over TLS with the gateway's server certificate; a client
 * certificate is optional there. Nothing else is served on that listener
 * except the same two operations as EST (RFC 7030).
 * The device makes its key pair itself and sends only a certificate signing
 * request (PKCS #10): the private key never leaves the device. The
 * certificate's subject and SPIFFE ID come from the enrollment token, never
 * from the request; only the request's public key is used, after its
 * signature is checked (proof of possession). Accepted keys: ECDSA P-256,
 * Ed25519 and RSA of at least 2048 bits.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class EnrollmentServiceGrpc {

  private EnrollmentServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "msg.enroll.v1.EnrollmentService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<msg.enroll.v1.Enroll.EnrollRequest,
      msg.enroll.v1.Enroll.EnrollResponse> getEnrollMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Enroll",
      requestType = msg.enroll.v1.Enroll.EnrollRequest.class,
      responseType = msg.enroll.v1.Enroll.EnrollResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.enroll.v1.Enroll.EnrollRequest,
      msg.enroll.v1.Enroll.EnrollResponse> getEnrollMethod() {
    io.grpc.MethodDescriptor<msg.enroll.v1.Enroll.EnrollRequest, msg.enroll.v1.Enroll.EnrollResponse> getEnrollMethod;
    if ((getEnrollMethod = EnrollmentServiceGrpc.getEnrollMethod) == null) {
      synchronized (EnrollmentServiceGrpc.class) {
        if ((getEnrollMethod = EnrollmentServiceGrpc.getEnrollMethod) == null) {
          EnrollmentServiceGrpc.getEnrollMethod = getEnrollMethod =
              io.grpc.MethodDescriptor.<msg.enroll.v1.Enroll.EnrollRequest, msg.enroll.v1.Enroll.EnrollResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Enroll"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.enroll.v1.Enroll.EnrollRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.enroll.v1.Enroll.EnrollResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getEnrollMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.enroll.v1.Enroll.RenewRequest,
      msg.enroll.v1.Enroll.RenewResponse> getRenewMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Renew",
      requestType = msg.enroll.v1.Enroll.RenewRequest.class,
      responseType = msg.enroll.v1.Enroll.RenewResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.enroll.v1.Enroll.RenewRequest,
      msg.enroll.v1.Enroll.RenewResponse> getRenewMethod() {
    io.grpc.MethodDescriptor<msg.enroll.v1.Enroll.RenewRequest, msg.enroll.v1.Enroll.RenewResponse> getRenewMethod;
    if ((getRenewMethod = EnrollmentServiceGrpc.getRenewMethod) == null) {
      synchronized (EnrollmentServiceGrpc.class) {
        if ((getRenewMethod = EnrollmentServiceGrpc.getRenewMethod) == null) {
          EnrollmentServiceGrpc.getRenewMethod = getRenewMethod =
              io.grpc.MethodDescriptor.<msg.enroll.v1.Enroll.RenewRequest, msg.enroll.v1.Enroll.RenewResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Renew"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.enroll.v1.Enroll.RenewRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.enroll.v1.Enroll.RenewResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getRenewMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static EnrollmentServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<EnrollmentServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<EnrollmentServiceStub>() {
        @java.lang.Override
        public EnrollmentServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new EnrollmentServiceStub(channel, callOptions);
        }
      };
    return EnrollmentServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static EnrollmentServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<EnrollmentServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<EnrollmentServiceBlockingV2Stub>() {
        @java.lang.Override
        public EnrollmentServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new EnrollmentServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return EnrollmentServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static EnrollmentServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<EnrollmentServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<EnrollmentServiceBlockingStub>() {
        @java.lang.Override
        public EnrollmentServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new EnrollmentServiceBlockingStub(channel, callOptions);
        }
      };
    return EnrollmentServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static EnrollmentServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<EnrollmentServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<EnrollmentServiceFutureStub>() {
        @java.lang.Override
        public EnrollmentServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new EnrollmentServiceFutureStub(channel, callOptions);
        }
      };
    return EnrollmentServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * EnrollmentService issues the client certificates that devices present to
   * the gateway. It is served on the gateway's enrollment listener
   * (enroll.listen), over TLS with the gateway's server certificate; a client
   * certificate is optional there. Nothing else is served on that listener
   * except the same two operations as EST (RFC 7030).
   * The device makes its key pair itself and sends only a certificate signing
   * request (PKCS #10): the private key never leaves the device. The
   * certificate's subject and SPIFFE ID come from the enrollment token, never
   * from the request; only the request's public key is used, after its
   * signature is checked (proof of possession). Accepted keys: ECDSA P-256,
   * Ed25519 and RSA of at least 2048 bits.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Enroll exchanges a one-time enrollment secret (from an enrollment bundle)
     * and a certificate signing request for a certificate and a device record.
     * Each use of the secret counts against its token's max_uses, atomically
     * (also across a fleet); the token is deleted with its last use.
     * Errors: UNAUTHENTICATED for a secret that is wrong, expired, spent or
     * revoked (one message for all of them), INVALID_ARGUMENT for a malformed
     * request or a key that is not accepted (the field is named),
     * RESOURCE_EXHAUSTED (with RetryInfo) when the source address sent too many
     * requests, UNAVAILABLE when the configuration store cannot be written.
     * </pre>
     */
    default void enroll(msg.enroll.v1.Enroll.EnrollRequest request,
        io.grpc.stub.StreamObserver<msg.enroll.v1.Enroll.EnrollResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getEnrollMethod(), responseObserver);
    }

    /**
     * <pre>
     * Renew issues a new certificate for the device whose current (or previous,
     * still valid) certificate the call presents as its TLS client
     * certificate. The identity stays; the request may carry a new key. The
     * device record is updated; earlier certificates stay valid until they
     * expire and are revoked with the device.
     * Errors: UNAUTHENTICATED without a client certificate, PERMISSION_DENIED
     * for a certificate of no device (deleted, revoked, or not issued by
     * enrollment; one message for all), INVALID_ARGUMENT and
     * RESOURCE_EXHAUSTED as for Enroll.
     * </pre>
     */
    default void renew(msg.enroll.v1.Enroll.RenewRequest request,
        io.grpc.stub.StreamObserver<msg.enroll.v1.Enroll.RenewResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRenewMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service EnrollmentService.
   * <pre>
   * EnrollmentService issues the client certificates that devices present to
   * the gateway. It is served on the gateway's enrollment listener
   * (enroll.listen), over TLS with the gateway's server certificate; a client
   * certificate is optional there. Nothing else is served on that listener
   * except the same two operations as EST (RFC 7030).
   * The device makes its key pair itself and sends only a certificate signing
   * request (PKCS #10): the private key never leaves the device. The
   * certificate's subject and SPIFFE ID come from the enrollment token, never
   * from the request; only the request's public key is used, after its
   * signature is checked (proof of possession). Accepted keys: ECDSA P-256,
   * Ed25519 and RSA of at least 2048 bits.
   * </pre>
   */
  public static abstract class EnrollmentServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return EnrollmentServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service EnrollmentService.
   * <pre>
   * EnrollmentService issues the client certificates that devices present to
   * the gateway. It is served on the gateway's enrollment listener
   * (enroll.listen), over TLS with the gateway's server certificate; a client
   * certificate is optional there. Nothing else is served on that listener
   * except the same two operations as EST (RFC 7030).
   * The device makes its key pair itself and sends only a certificate signing
   * request (PKCS #10): the private key never leaves the device. The
   * certificate's subject and SPIFFE ID come from the enrollment token, never
   * from the request; only the request's public key is used, after its
   * signature is checked (proof of possession). Accepted keys: ECDSA P-256,
   * Ed25519 and RSA of at least 2048 bits.
   * </pre>
   */
  public static final class EnrollmentServiceStub
      extends io.grpc.stub.AbstractAsyncStub<EnrollmentServiceStub> {
    private EnrollmentServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected EnrollmentServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new EnrollmentServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Enroll exchanges a one-time enrollment secret (from an enrollment bundle)
     * and a certificate signing request for a certificate and a device record.
     * Each use of the secret counts against its token's max_uses, atomically
     * (also across a fleet); the token is deleted with its last use.
     * Errors: UNAUTHENTICATED for a secret that is wrong, expired, spent or
     * revoked (one message for all of them), INVALID_ARGUMENT for a malformed
     * request or a key that is not accepted (the field is named),
     * RESOURCE_EXHAUSTED (with RetryInfo) when the source address sent too many
     * requests, UNAVAILABLE when the configuration store cannot be written.
     * </pre>
     */
    public void enroll(msg.enroll.v1.Enroll.EnrollRequest request,
        io.grpc.stub.StreamObserver<msg.enroll.v1.Enroll.EnrollResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getEnrollMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Renew issues a new certificate for the device whose current (or previous,
     * still valid) certificate the call presents as its TLS client
     * certificate. The identity stays; the request may carry a new key. The
     * device record is updated; earlier certificates stay valid until they
     * expire and are revoked with the device.
     * Errors: UNAUTHENTICATED without a client certificate, PERMISSION_DENIED
     * for a certificate of no device (deleted, revoked, or not issued by
     * enrollment; one message for all), INVALID_ARGUMENT and
     * RESOURCE_EXHAUSTED as for Enroll.
     * </pre>
     */
    public void renew(msg.enroll.v1.Enroll.RenewRequest request,
        io.grpc.stub.StreamObserver<msg.enroll.v1.Enroll.RenewResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRenewMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service EnrollmentService.
   * <pre>
   * EnrollmentService issues the client certificates that devices present to
   * the gateway. It is served on the gateway's enrollment listener
   * (enroll.listen), over TLS with the gateway's server certificate; a client
   * certificate is optional there. Nothing else is served on that listener
   * except the same two operations as EST (RFC 7030).
   * The device makes its key pair itself and sends only a certificate signing
   * request (PKCS #10): the private key never leaves the device. The
   * certificate's subject and SPIFFE ID come from the enrollment token, never
   * from the request; only the request's public key is used, after its
   * signature is checked (proof of possession). Accepted keys: ECDSA P-256,
   * Ed25519 and RSA of at least 2048 bits.
   * </pre>
   */
  public static final class EnrollmentServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<EnrollmentServiceBlockingV2Stub> {
    private EnrollmentServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected EnrollmentServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new EnrollmentServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Enroll exchanges a one-time enrollment secret (from an enrollment bundle)
     * and a certificate signing request for a certificate and a device record.
     * Each use of the secret counts against its token's max_uses, atomically
     * (also across a fleet); the token is deleted with its last use.
     * Errors: UNAUTHENTICATED for a secret that is wrong, expired, spent or
     * revoked (one message for all of them), INVALID_ARGUMENT for a malformed
     * request or a key that is not accepted (the field is named),
     * RESOURCE_EXHAUSTED (with RetryInfo) when the source address sent too many
     * requests, UNAVAILABLE when the configuration store cannot be written.
     * </pre>
     */
    public msg.enroll.v1.Enroll.EnrollResponse enroll(msg.enroll.v1.Enroll.EnrollRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getEnrollMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Renew issues a new certificate for the device whose current (or previous,
     * still valid) certificate the call presents as its TLS client
     * certificate. The identity stays; the request may carry a new key. The
     * device record is updated; earlier certificates stay valid until they
     * expire and are revoked with the device.
     * Errors: UNAUTHENTICATED without a client certificate, PERMISSION_DENIED
     * for a certificate of no device (deleted, revoked, or not issued by
     * enrollment; one message for all), INVALID_ARGUMENT and
     * RESOURCE_EXHAUSTED as for Enroll.
     * </pre>
     */
    public msg.enroll.v1.Enroll.RenewResponse renew(msg.enroll.v1.Enroll.RenewRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRenewMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service EnrollmentService.
   * <pre>
   * EnrollmentService issues the client certificates that devices present to
   * the gateway. It is served on the gateway's enrollment listener
   * (enroll.listen), over TLS with the gateway's server certificate; a client
   * certificate is optional there. Nothing else is served on that listener
   * except the same two operations as EST (RFC 7030).
   * The device makes its key pair itself and sends only a certificate signing
   * request (PKCS #10): the private key never leaves the device. The
   * certificate's subject and SPIFFE ID come from the enrollment token, never
   * from the request; only the request's public key is used, after its
   * signature is checked (proof of possession). Accepted keys: ECDSA P-256,
   * Ed25519 and RSA of at least 2048 bits.
   * </pre>
   */
  public static final class EnrollmentServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<EnrollmentServiceBlockingStub> {
    private EnrollmentServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected EnrollmentServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new EnrollmentServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Enroll exchanges a one-time enrollment secret (from an enrollment bundle)
     * and a certificate signing request for a certificate and a device record.
     * Each use of the secret counts against its token's max_uses, atomically
     * (also across a fleet); the token is deleted with its last use.
     * Errors: UNAUTHENTICATED for a secret that is wrong, expired, spent or
     * revoked (one message for all of them), INVALID_ARGUMENT for a malformed
     * request or a key that is not accepted (the field is named),
     * RESOURCE_EXHAUSTED (with RetryInfo) when the source address sent too many
     * requests, UNAVAILABLE when the configuration store cannot be written.
     * </pre>
     */
    public msg.enroll.v1.Enroll.EnrollResponse enroll(msg.enroll.v1.Enroll.EnrollRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getEnrollMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Renew issues a new certificate for the device whose current (or previous,
     * still valid) certificate the call presents as its TLS client
     * certificate. The identity stays; the request may carry a new key. The
     * device record is updated; earlier certificates stay valid until they
     * expire and are revoked with the device.
     * Errors: UNAUTHENTICATED without a client certificate, PERMISSION_DENIED
     * for a certificate of no device (deleted, revoked, or not issued by
     * enrollment; one message for all), INVALID_ARGUMENT and
     * RESOURCE_EXHAUSTED as for Enroll.
     * </pre>
     */
    public msg.enroll.v1.Enroll.RenewResponse renew(msg.enroll.v1.Enroll.RenewRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRenewMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service EnrollmentService.
   * <pre>
   * EnrollmentService issues the client certificates that devices present to
   * the gateway. It is served on the gateway's enrollment listener
   * (enroll.listen), over TLS with the gateway's server certificate; a client
   * certificate is optional there. Nothing else is served on that listener
   * except the same two operations as EST (RFC 7030).
   * The device makes its key pair itself and sends only a certificate signing
   * request (PKCS #10): the private key never leaves the device. The
   * certificate's subject and SPIFFE ID come from the enrollment token, never
   * from the request; only the request's public key is used, after its
   * signature is checked (proof of possession). Accepted keys: ECDSA P-256,
   * Ed25519 and RSA of at least 2048 bits.
   * </pre>
   */
  public static final class EnrollmentServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<EnrollmentServiceFutureStub> {
    private EnrollmentServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected EnrollmentServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new EnrollmentServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Enroll exchanges a one-time enrollment secret (from an enrollment bundle)
     * and a certificate signing request for a certificate and a device record.
     * Each use of the secret counts against its token's max_uses, atomically
     * (also across a fleet); the token is deleted with its last use.
     * Errors: UNAUTHENTICATED for a secret that is wrong, expired, spent or
     * revoked (one message for all of them), INVALID_ARGUMENT for a malformed
     * request or a key that is not accepted (the field is named),
     * RESOURCE_EXHAUSTED (with RetryInfo) when the source address sent too many
     * requests, UNAVAILABLE when the configuration store cannot be written.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.enroll.v1.Enroll.EnrollResponse> enroll(
        msg.enroll.v1.Enroll.EnrollRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getEnrollMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Renew issues a new certificate for the device whose current (or previous,
     * still valid) certificate the call presents as its TLS client
     * certificate. The identity stays; the request may carry a new key. The
     * device record is updated; earlier certificates stay valid until they
     * expire and are revoked with the device.
     * Errors: UNAUTHENTICATED without a client certificate, PERMISSION_DENIED
     * for a certificate of no device (deleted, revoked, or not issued by
     * enrollment; one message for all), INVALID_ARGUMENT and
     * RESOURCE_EXHAUSTED as for Enroll.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.enroll.v1.Enroll.RenewResponse> renew(
        msg.enroll.v1.Enroll.RenewRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRenewMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_ENROLL = 0;
  private static final int METHODID_RENEW = 1;

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
        case METHODID_ENROLL:
          serviceImpl.enroll((msg.enroll.v1.Enroll.EnrollRequest) request,
              (io.grpc.stub.StreamObserver<msg.enroll.v1.Enroll.EnrollResponse>) responseObserver);
          break;
        case METHODID_RENEW:
          serviceImpl.renew((msg.enroll.v1.Enroll.RenewRequest) request,
              (io.grpc.stub.StreamObserver<msg.enroll.v1.Enroll.RenewResponse>) responseObserver);
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
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getEnrollMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.enroll.v1.Enroll.EnrollRequest,
              msg.enroll.v1.Enroll.EnrollResponse>(
                service, METHODID_ENROLL)))
        .addMethod(
          getRenewMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.enroll.v1.Enroll.RenewRequest,
              msg.enroll.v1.Enroll.RenewResponse>(
                service, METHODID_RENEW)))
        .build();
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (EnrollmentServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .addMethod(getEnrollMethod())
              .addMethod(getRenewMethod())
              .build();
        }
      }
    }
    return result;
  }
}
