package msg.admin.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * AdminService manages the gateway's hosts, rules, revocations, enrollment
 * tokens and devices while it runs, and reads the audit trail. Every call needs a bearer token or an admin
 * client certificate; reads need the viewer role, writes the editor role.
 * Writes are validated completely before anything is applied and take effect
 * on the next Forward call. Updates and deletes carry the etag they were based
 * on; a stale etag fails with ABORTED (HTTP 409) so that two admins cannot
 * silently overwrite each other.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class AdminServiceGrpc {

  private AdminServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "msg.admin.v1.AdminService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.ListHostsRequest,
      msg.admin.v1.Admin.ListHostsResponse> getListHostsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListHosts",
      requestType = msg.admin.v1.Admin.ListHostsRequest.class,
      responseType = msg.admin.v1.Admin.ListHostsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.ListHostsRequest,
      msg.admin.v1.Admin.ListHostsResponse> getListHostsMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.ListHostsRequest, msg.admin.v1.Admin.ListHostsResponse> getListHostsMethod;
    if ((getListHostsMethod = AdminServiceGrpc.getListHostsMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getListHostsMethod = AdminServiceGrpc.getListHostsMethod) == null) {
          AdminServiceGrpc.getListHostsMethod = getListHostsMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.ListHostsRequest, msg.admin.v1.Admin.ListHostsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListHosts"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.ListHostsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.ListHostsResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getListHostsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetHostRequest,
      msg.admin.v1.Admin.GetHostResponse> getGetHostMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetHost",
      requestType = msg.admin.v1.Admin.GetHostRequest.class,
      responseType = msg.admin.v1.Admin.GetHostResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetHostRequest,
      msg.admin.v1.Admin.GetHostResponse> getGetHostMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetHostRequest, msg.admin.v1.Admin.GetHostResponse> getGetHostMethod;
    if ((getGetHostMethod = AdminServiceGrpc.getGetHostMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getGetHostMethod = AdminServiceGrpc.getGetHostMethod) == null) {
          AdminServiceGrpc.getGetHostMethod = getGetHostMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.GetHostRequest, msg.admin.v1.Admin.GetHostResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetHost"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.GetHostRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.GetHostResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getGetHostMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.CreateHostRequest,
      msg.admin.v1.Admin.CreateHostResponse> getCreateHostMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateHost",
      requestType = msg.admin.v1.Admin.CreateHostRequest.class,
      responseType = msg.admin.v1.Admin.CreateHostResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.CreateHostRequest,
      msg.admin.v1.Admin.CreateHostResponse> getCreateHostMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.CreateHostRequest, msg.admin.v1.Admin.CreateHostResponse> getCreateHostMethod;
    if ((getCreateHostMethod = AdminServiceGrpc.getCreateHostMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getCreateHostMethod = AdminServiceGrpc.getCreateHostMethod) == null) {
          AdminServiceGrpc.getCreateHostMethod = getCreateHostMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.CreateHostRequest, msg.admin.v1.Admin.CreateHostResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateHost"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.CreateHostRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.CreateHostResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getCreateHostMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.UpdateHostRequest,
      msg.admin.v1.Admin.UpdateHostResponse> getUpdateHostMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "UpdateHost",
      requestType = msg.admin.v1.Admin.UpdateHostRequest.class,
      responseType = msg.admin.v1.Admin.UpdateHostResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.UpdateHostRequest,
      msg.admin.v1.Admin.UpdateHostResponse> getUpdateHostMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.UpdateHostRequest, msg.admin.v1.Admin.UpdateHostResponse> getUpdateHostMethod;
    if ((getUpdateHostMethod = AdminServiceGrpc.getUpdateHostMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getUpdateHostMethod = AdminServiceGrpc.getUpdateHostMethod) == null) {
          AdminServiceGrpc.getUpdateHostMethod = getUpdateHostMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.UpdateHostRequest, msg.admin.v1.Admin.UpdateHostResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "UpdateHost"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.UpdateHostRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.UpdateHostResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getUpdateHostMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.DeleteHostRequest,
      msg.admin.v1.Admin.DeleteHostResponse> getDeleteHostMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteHost",
      requestType = msg.admin.v1.Admin.DeleteHostRequest.class,
      responseType = msg.admin.v1.Admin.DeleteHostResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.DeleteHostRequest,
      msg.admin.v1.Admin.DeleteHostResponse> getDeleteHostMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.DeleteHostRequest, msg.admin.v1.Admin.DeleteHostResponse> getDeleteHostMethod;
    if ((getDeleteHostMethod = AdminServiceGrpc.getDeleteHostMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getDeleteHostMethod = AdminServiceGrpc.getDeleteHostMethod) == null) {
          AdminServiceGrpc.getDeleteHostMethod = getDeleteHostMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.DeleteHostRequest, msg.admin.v1.Admin.DeleteHostResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteHost"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.DeleteHostRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.DeleteHostResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getDeleteHostMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.ListRulesRequest,
      msg.admin.v1.Admin.ListRulesResponse> getListRulesMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListRules",
      requestType = msg.admin.v1.Admin.ListRulesRequest.class,
      responseType = msg.admin.v1.Admin.ListRulesResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.ListRulesRequest,
      msg.admin.v1.Admin.ListRulesResponse> getListRulesMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.ListRulesRequest, msg.admin.v1.Admin.ListRulesResponse> getListRulesMethod;
    if ((getListRulesMethod = AdminServiceGrpc.getListRulesMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getListRulesMethod = AdminServiceGrpc.getListRulesMethod) == null) {
          AdminServiceGrpc.getListRulesMethod = getListRulesMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.ListRulesRequest, msg.admin.v1.Admin.ListRulesResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListRules"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.ListRulesRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.ListRulesResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getListRulesMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetRuleRequest,
      msg.admin.v1.Admin.GetRuleResponse> getGetRuleMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetRule",
      requestType = msg.admin.v1.Admin.GetRuleRequest.class,
      responseType = msg.admin.v1.Admin.GetRuleResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetRuleRequest,
      msg.admin.v1.Admin.GetRuleResponse> getGetRuleMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetRuleRequest, msg.admin.v1.Admin.GetRuleResponse> getGetRuleMethod;
    if ((getGetRuleMethod = AdminServiceGrpc.getGetRuleMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getGetRuleMethod = AdminServiceGrpc.getGetRuleMethod) == null) {
          AdminServiceGrpc.getGetRuleMethod = getGetRuleMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.GetRuleRequest, msg.admin.v1.Admin.GetRuleResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetRule"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.GetRuleRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.GetRuleResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getGetRuleMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.CreateRuleRequest,
      msg.admin.v1.Admin.CreateRuleResponse> getCreateRuleMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateRule",
      requestType = msg.admin.v1.Admin.CreateRuleRequest.class,
      responseType = msg.admin.v1.Admin.CreateRuleResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.CreateRuleRequest,
      msg.admin.v1.Admin.CreateRuleResponse> getCreateRuleMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.CreateRuleRequest, msg.admin.v1.Admin.CreateRuleResponse> getCreateRuleMethod;
    if ((getCreateRuleMethod = AdminServiceGrpc.getCreateRuleMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getCreateRuleMethod = AdminServiceGrpc.getCreateRuleMethod) == null) {
          AdminServiceGrpc.getCreateRuleMethod = getCreateRuleMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.CreateRuleRequest, msg.admin.v1.Admin.CreateRuleResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateRule"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.CreateRuleRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.CreateRuleResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getCreateRuleMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.UpdateRuleRequest,
      msg.admin.v1.Admin.UpdateRuleResponse> getUpdateRuleMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "UpdateRule",
      requestType = msg.admin.v1.Admin.UpdateRuleRequest.class,
      responseType = msg.admin.v1.Admin.UpdateRuleResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.UpdateRuleRequest,
      msg.admin.v1.Admin.UpdateRuleResponse> getUpdateRuleMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.UpdateRuleRequest, msg.admin.v1.Admin.UpdateRuleResponse> getUpdateRuleMethod;
    if ((getUpdateRuleMethod = AdminServiceGrpc.getUpdateRuleMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getUpdateRuleMethod = AdminServiceGrpc.getUpdateRuleMethod) == null) {
          AdminServiceGrpc.getUpdateRuleMethod = getUpdateRuleMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.UpdateRuleRequest, msg.admin.v1.Admin.UpdateRuleResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "UpdateRule"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.UpdateRuleRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.UpdateRuleResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getUpdateRuleMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.DeleteRuleRequest,
      msg.admin.v1.Admin.DeleteRuleResponse> getDeleteRuleMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteRule",
      requestType = msg.admin.v1.Admin.DeleteRuleRequest.class,
      responseType = msg.admin.v1.Admin.DeleteRuleResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.DeleteRuleRequest,
      msg.admin.v1.Admin.DeleteRuleResponse> getDeleteRuleMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.DeleteRuleRequest, msg.admin.v1.Admin.DeleteRuleResponse> getDeleteRuleMethod;
    if ((getDeleteRuleMethod = AdminServiceGrpc.getDeleteRuleMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getDeleteRuleMethod = AdminServiceGrpc.getDeleteRuleMethod) == null) {
          AdminServiceGrpc.getDeleteRuleMethod = getDeleteRuleMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.DeleteRuleRequest, msg.admin.v1.Admin.DeleteRuleResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteRule"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.DeleteRuleRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.DeleteRuleResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getDeleteRuleMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.ListRevocationsRequest,
      msg.admin.v1.Admin.ListRevocationsResponse> getListRevocationsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListRevocations",
      requestType = msg.admin.v1.Admin.ListRevocationsRequest.class,
      responseType = msg.admin.v1.Admin.ListRevocationsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.ListRevocationsRequest,
      msg.admin.v1.Admin.ListRevocationsResponse> getListRevocationsMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.ListRevocationsRequest, msg.admin.v1.Admin.ListRevocationsResponse> getListRevocationsMethod;
    if ((getListRevocationsMethod = AdminServiceGrpc.getListRevocationsMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getListRevocationsMethod = AdminServiceGrpc.getListRevocationsMethod) == null) {
          AdminServiceGrpc.getListRevocationsMethod = getListRevocationsMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.ListRevocationsRequest, msg.admin.v1.Admin.ListRevocationsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListRevocations"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.ListRevocationsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.ListRevocationsResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getListRevocationsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.CreateRevocationRequest,
      msg.admin.v1.Admin.CreateRevocationResponse> getCreateRevocationMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateRevocation",
      requestType = msg.admin.v1.Admin.CreateRevocationRequest.class,
      responseType = msg.admin.v1.Admin.CreateRevocationResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.CreateRevocationRequest,
      msg.admin.v1.Admin.CreateRevocationResponse> getCreateRevocationMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.CreateRevocationRequest, msg.admin.v1.Admin.CreateRevocationResponse> getCreateRevocationMethod;
    if ((getCreateRevocationMethod = AdminServiceGrpc.getCreateRevocationMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getCreateRevocationMethod = AdminServiceGrpc.getCreateRevocationMethod) == null) {
          AdminServiceGrpc.getCreateRevocationMethod = getCreateRevocationMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.CreateRevocationRequest, msg.admin.v1.Admin.CreateRevocationResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateRevocation"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.CreateRevocationRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.CreateRevocationResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getCreateRevocationMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.DeleteRevocationRequest,
      msg.admin.v1.Admin.DeleteRevocationResponse> getDeleteRevocationMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteRevocation",
      requestType = msg.admin.v1.Admin.DeleteRevocationRequest.class,
      responseType = msg.admin.v1.Admin.DeleteRevocationResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.DeleteRevocationRequest,
      msg.admin.v1.Admin.DeleteRevocationResponse> getDeleteRevocationMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.DeleteRevocationRequest, msg.admin.v1.Admin.DeleteRevocationResponse> getDeleteRevocationMethod;
    if ((getDeleteRevocationMethod = AdminServiceGrpc.getDeleteRevocationMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getDeleteRevocationMethod = AdminServiceGrpc.getDeleteRevocationMethod) == null) {
          AdminServiceGrpc.getDeleteRevocationMethod = getDeleteRevocationMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.DeleteRevocationRequest, msg.admin.v1.Admin.DeleteRevocationResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteRevocation"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.DeleteRevocationRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.DeleteRevocationResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getDeleteRevocationMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.ListEnrollmentTokensRequest,
      msg.admin.v1.Admin.ListEnrollmentTokensResponse> getListEnrollmentTokensMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListEnrollmentTokens",
      requestType = msg.admin.v1.Admin.ListEnrollmentTokensRequest.class,
      responseType = msg.admin.v1.Admin.ListEnrollmentTokensResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.ListEnrollmentTokensRequest,
      msg.admin.v1.Admin.ListEnrollmentTokensResponse> getListEnrollmentTokensMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.ListEnrollmentTokensRequest, msg.admin.v1.Admin.ListEnrollmentTokensResponse> getListEnrollmentTokensMethod;
    if ((getListEnrollmentTokensMethod = AdminServiceGrpc.getListEnrollmentTokensMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getListEnrollmentTokensMethod = AdminServiceGrpc.getListEnrollmentTokensMethod) == null) {
          AdminServiceGrpc.getListEnrollmentTokensMethod = getListEnrollmentTokensMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.ListEnrollmentTokensRequest, msg.admin.v1.Admin.ListEnrollmentTokensResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListEnrollmentTokens"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.ListEnrollmentTokensRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.ListEnrollmentTokensResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getListEnrollmentTokensMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetEnrollmentTokenRequest,
      msg.admin.v1.Admin.GetEnrollmentTokenResponse> getGetEnrollmentTokenMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetEnrollmentToken",
      requestType = msg.admin.v1.Admin.GetEnrollmentTokenRequest.class,
      responseType = msg.admin.v1.Admin.GetEnrollmentTokenResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetEnrollmentTokenRequest,
      msg.admin.v1.Admin.GetEnrollmentTokenResponse> getGetEnrollmentTokenMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetEnrollmentTokenRequest, msg.admin.v1.Admin.GetEnrollmentTokenResponse> getGetEnrollmentTokenMethod;
    if ((getGetEnrollmentTokenMethod = AdminServiceGrpc.getGetEnrollmentTokenMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getGetEnrollmentTokenMethod = AdminServiceGrpc.getGetEnrollmentTokenMethod) == null) {
          AdminServiceGrpc.getGetEnrollmentTokenMethod = getGetEnrollmentTokenMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.GetEnrollmentTokenRequest, msg.admin.v1.Admin.GetEnrollmentTokenResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetEnrollmentToken"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.GetEnrollmentTokenRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.GetEnrollmentTokenResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getGetEnrollmentTokenMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.CreateEnrollmentTokenRequest,
      msg.admin.v1.Admin.CreateEnrollmentTokenResponse> getCreateEnrollmentTokenMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateEnrollmentToken",
      requestType = msg.admin.v1.Admin.CreateEnrollmentTokenRequest.class,
      responseType = msg.admin.v1.Admin.CreateEnrollmentTokenResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.CreateEnrollmentTokenRequest,
      msg.admin.v1.Admin.CreateEnrollmentTokenResponse> getCreateEnrollmentTokenMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.CreateEnrollmentTokenRequest, msg.admin.v1.Admin.CreateEnrollmentTokenResponse> getCreateEnrollmentTokenMethod;
    if ((getCreateEnrollmentTokenMethod = AdminServiceGrpc.getCreateEnrollmentTokenMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getCreateEnrollmentTokenMethod = AdminServiceGrpc.getCreateEnrollmentTokenMethod) == null) {
          AdminServiceGrpc.getCreateEnrollmentTokenMethod = getCreateEnrollmentTokenMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.CreateEnrollmentTokenRequest, msg.admin.v1.Admin.CreateEnrollmentTokenResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateEnrollmentToken"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.CreateEnrollmentTokenRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.CreateEnrollmentTokenResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getCreateEnrollmentTokenMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.DeleteEnrollmentTokenRequest,
      msg.admin.v1.Admin.DeleteEnrollmentTokenResponse> getDeleteEnrollmentTokenMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteEnrollmentToken",
      requestType = msg.admin.v1.Admin.DeleteEnrollmentTokenRequest.class,
      responseType = msg.admin.v1.Admin.DeleteEnrollmentTokenResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.DeleteEnrollmentTokenRequest,
      msg.admin.v1.Admin.DeleteEnrollmentTokenResponse> getDeleteEnrollmentTokenMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.DeleteEnrollmentTokenRequest, msg.admin.v1.Admin.DeleteEnrollmentTokenResponse> getDeleteEnrollmentTokenMethod;
    if ((getDeleteEnrollmentTokenMethod = AdminServiceGrpc.getDeleteEnrollmentTokenMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getDeleteEnrollmentTokenMethod = AdminServiceGrpc.getDeleteEnrollmentTokenMethod) == null) {
          AdminServiceGrpc.getDeleteEnrollmentTokenMethod = getDeleteEnrollmentTokenMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.DeleteEnrollmentTokenRequest, msg.admin.v1.Admin.DeleteEnrollmentTokenResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteEnrollmentToken"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.DeleteEnrollmentTokenRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.DeleteEnrollmentTokenResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getDeleteEnrollmentTokenMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.ListDevicesRequest,
      msg.admin.v1.Admin.ListDevicesResponse> getListDevicesMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListDevices",
      requestType = msg.admin.v1.Admin.ListDevicesRequest.class,
      responseType = msg.admin.v1.Admin.ListDevicesResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.ListDevicesRequest,
      msg.admin.v1.Admin.ListDevicesResponse> getListDevicesMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.ListDevicesRequest, msg.admin.v1.Admin.ListDevicesResponse> getListDevicesMethod;
    if ((getListDevicesMethod = AdminServiceGrpc.getListDevicesMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getListDevicesMethod = AdminServiceGrpc.getListDevicesMethod) == null) {
          AdminServiceGrpc.getListDevicesMethod = getListDevicesMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.ListDevicesRequest, msg.admin.v1.Admin.ListDevicesResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListDevices"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.ListDevicesRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.ListDevicesResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getListDevicesMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetDeviceRequest,
      msg.admin.v1.Admin.GetDeviceResponse> getGetDeviceMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetDevice",
      requestType = msg.admin.v1.Admin.GetDeviceRequest.class,
      responseType = msg.admin.v1.Admin.GetDeviceResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetDeviceRequest,
      msg.admin.v1.Admin.GetDeviceResponse> getGetDeviceMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetDeviceRequest, msg.admin.v1.Admin.GetDeviceResponse> getGetDeviceMethod;
    if ((getGetDeviceMethod = AdminServiceGrpc.getGetDeviceMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getGetDeviceMethod = AdminServiceGrpc.getGetDeviceMethod) == null) {
          AdminServiceGrpc.getGetDeviceMethod = getGetDeviceMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.GetDeviceRequest, msg.admin.v1.Admin.GetDeviceResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetDevice"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.GetDeviceRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.GetDeviceResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getGetDeviceMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.DeleteDeviceRequest,
      msg.admin.v1.Admin.DeleteDeviceResponse> getDeleteDeviceMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteDevice",
      requestType = msg.admin.v1.Admin.DeleteDeviceRequest.class,
      responseType = msg.admin.v1.Admin.DeleteDeviceResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.DeleteDeviceRequest,
      msg.admin.v1.Admin.DeleteDeviceResponse> getDeleteDeviceMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.DeleteDeviceRequest, msg.admin.v1.Admin.DeleteDeviceResponse> getDeleteDeviceMethod;
    if ((getDeleteDeviceMethod = AdminServiceGrpc.getDeleteDeviceMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getDeleteDeviceMethod = AdminServiceGrpc.getDeleteDeviceMethod) == null) {
          AdminServiceGrpc.getDeleteDeviceMethod = getDeleteDeviceMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.DeleteDeviceRequest, msg.admin.v1.Admin.DeleteDeviceResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteDevice"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.DeleteDeviceRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.DeleteDeviceResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getDeleteDeviceMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.ListAuditRecordsRequest,
      msg.admin.v1.Admin.ListAuditRecordsResponse> getListAuditRecordsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListAuditRecords",
      requestType = msg.admin.v1.Admin.ListAuditRecordsRequest.class,
      responseType = msg.admin.v1.Admin.ListAuditRecordsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.ListAuditRecordsRequest,
      msg.admin.v1.Admin.ListAuditRecordsResponse> getListAuditRecordsMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.ListAuditRecordsRequest, msg.admin.v1.Admin.ListAuditRecordsResponse> getListAuditRecordsMethod;
    if ((getListAuditRecordsMethod = AdminServiceGrpc.getListAuditRecordsMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getListAuditRecordsMethod = AdminServiceGrpc.getListAuditRecordsMethod) == null) {
          AdminServiceGrpc.getListAuditRecordsMethod = getListAuditRecordsMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.ListAuditRecordsRequest, msg.admin.v1.Admin.ListAuditRecordsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListAuditRecords"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.ListAuditRecordsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.ListAuditRecordsResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getListAuditRecordsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetAuditLogRequest,
      msg.admin.v1.Admin.GetAuditLogResponse> getGetAuditLogMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetAuditLog",
      requestType = msg.admin.v1.Admin.GetAuditLogRequest.class,
      responseType = msg.admin.v1.Admin.GetAuditLogResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetAuditLogRequest,
      msg.admin.v1.Admin.GetAuditLogResponse> getGetAuditLogMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetAuditLogRequest, msg.admin.v1.Admin.GetAuditLogResponse> getGetAuditLogMethod;
    if ((getGetAuditLogMethod = AdminServiceGrpc.getGetAuditLogMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getGetAuditLogMethod = AdminServiceGrpc.getGetAuditLogMethod) == null) {
          AdminServiceGrpc.getGetAuditLogMethod = getGetAuditLogMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.GetAuditLogRequest, msg.admin.v1.Admin.GetAuditLogResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetAuditLog"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.GetAuditLogRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.GetAuditLogResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getGetAuditLogMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.ListAuditCheckpointsRequest,
      msg.admin.v1.Admin.ListAuditCheckpointsResponse> getListAuditCheckpointsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListAuditCheckpoints",
      requestType = msg.admin.v1.Admin.ListAuditCheckpointsRequest.class,
      responseType = msg.admin.v1.Admin.ListAuditCheckpointsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.ListAuditCheckpointsRequest,
      msg.admin.v1.Admin.ListAuditCheckpointsResponse> getListAuditCheckpointsMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.ListAuditCheckpointsRequest, msg.admin.v1.Admin.ListAuditCheckpointsResponse> getListAuditCheckpointsMethod;
    if ((getListAuditCheckpointsMethod = AdminServiceGrpc.getListAuditCheckpointsMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getListAuditCheckpointsMethod = AdminServiceGrpc.getListAuditCheckpointsMethod) == null) {
          AdminServiceGrpc.getListAuditCheckpointsMethod = getListAuditCheckpointsMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.ListAuditCheckpointsRequest, msg.admin.v1.Admin.ListAuditCheckpointsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListAuditCheckpoints"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.ListAuditCheckpointsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.ListAuditCheckpointsResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getListAuditCheckpointsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.VerifyAuditLogRequest,
      msg.admin.v1.Admin.VerifyAuditLogResponse> getVerifyAuditLogMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "VerifyAuditLog",
      requestType = msg.admin.v1.Admin.VerifyAuditLogRequest.class,
      responseType = msg.admin.v1.Admin.VerifyAuditLogResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.VerifyAuditLogRequest,
      msg.admin.v1.Admin.VerifyAuditLogResponse> getVerifyAuditLogMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.VerifyAuditLogRequest, msg.admin.v1.Admin.VerifyAuditLogResponse> getVerifyAuditLogMethod;
    if ((getVerifyAuditLogMethod = AdminServiceGrpc.getVerifyAuditLogMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getVerifyAuditLogMethod = AdminServiceGrpc.getVerifyAuditLogMethod) == null) {
          AdminServiceGrpc.getVerifyAuditLogMethod = getVerifyAuditLogMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.VerifyAuditLogRequest, msg.admin.v1.Admin.VerifyAuditLogResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "VerifyAuditLog"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.VerifyAuditLogRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.VerifyAuditLogResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getVerifyAuditLogMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetAuditProofRequest,
      msg.admin.v1.Admin.GetAuditProofResponse> getGetAuditProofMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetAuditProof",
      requestType = msg.admin.v1.Admin.GetAuditProofRequest.class,
      responseType = msg.admin.v1.Admin.GetAuditProofResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetAuditProofRequest,
      msg.admin.v1.Admin.GetAuditProofResponse> getGetAuditProofMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetAuditProofRequest, msg.admin.v1.Admin.GetAuditProofResponse> getGetAuditProofMethod;
    if ((getGetAuditProofMethod = AdminServiceGrpc.getGetAuditProofMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getGetAuditProofMethod = AdminServiceGrpc.getGetAuditProofMethod) == null) {
          AdminServiceGrpc.getGetAuditProofMethod = getGetAuditProofMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.GetAuditProofRequest, msg.admin.v1.Admin.GetAuditProofResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetAuditProof"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.GetAuditProofRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.GetAuditProofResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getGetAuditProofMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetAuditHashesRequest,
      msg.admin.v1.Admin.GetAuditHashesResponse> getGetAuditHashesMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetAuditHashes",
      requestType = msg.admin.v1.Admin.GetAuditHashesRequest.class,
      responseType = msg.admin.v1.Admin.GetAuditHashesResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetAuditHashesRequest,
      msg.admin.v1.Admin.GetAuditHashesResponse> getGetAuditHashesMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetAuditHashesRequest, msg.admin.v1.Admin.GetAuditHashesResponse> getGetAuditHashesMethod;
    if ((getGetAuditHashesMethod = AdminServiceGrpc.getGetAuditHashesMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getGetAuditHashesMethod = AdminServiceGrpc.getGetAuditHashesMethod) == null) {
          AdminServiceGrpc.getGetAuditHashesMethod = getGetAuditHashesMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.GetAuditHashesRequest, msg.admin.v1.Admin.GetAuditHashesResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetAuditHashes"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.GetAuditHashesRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.GetAuditHashesResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getGetAuditHashesMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetStatusRequest,
      msg.admin.v1.Admin.GetStatusResponse> getGetStatusMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetStatus",
      requestType = msg.admin.v1.Admin.GetStatusRequest.class,
      responseType = msg.admin.v1.Admin.GetStatusResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetStatusRequest,
      msg.admin.v1.Admin.GetStatusResponse> getGetStatusMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.GetStatusRequest, msg.admin.v1.Admin.GetStatusResponse> getGetStatusMethod;
    if ((getGetStatusMethod = AdminServiceGrpc.getGetStatusMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getGetStatusMethod = AdminServiceGrpc.getGetStatusMethod) == null) {
          AdminServiceGrpc.getGetStatusMethod = getGetStatusMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.GetStatusRequest, msg.admin.v1.Admin.GetStatusResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetStatus"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.GetStatusRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.GetStatusResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getGetStatusMethod;
  }

  private static volatile io.grpc.MethodDescriptor<msg.admin.v1.Admin.EvaluatePolicyRequest,
      msg.admin.v1.Admin.EvaluatePolicyResponse> getEvaluatePolicyMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "EvaluatePolicy",
      requestType = msg.admin.v1.Admin.EvaluatePolicyRequest.class,
      responseType = msg.admin.v1.Admin.EvaluatePolicyResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<msg.admin.v1.Admin.EvaluatePolicyRequest,
      msg.admin.v1.Admin.EvaluatePolicyResponse> getEvaluatePolicyMethod() {
    io.grpc.MethodDescriptor<msg.admin.v1.Admin.EvaluatePolicyRequest, msg.admin.v1.Admin.EvaluatePolicyResponse> getEvaluatePolicyMethod;
    if ((getEvaluatePolicyMethod = AdminServiceGrpc.getEvaluatePolicyMethod) == null) {
      synchronized (AdminServiceGrpc.class) {
        if ((getEvaluatePolicyMethod = AdminServiceGrpc.getEvaluatePolicyMethod) == null) {
          AdminServiceGrpc.getEvaluatePolicyMethod = getEvaluatePolicyMethod =
              io.grpc.MethodDescriptor.<msg.admin.v1.Admin.EvaluatePolicyRequest, msg.admin.v1.Admin.EvaluatePolicyResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "EvaluatePolicy"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.EvaluatePolicyRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.lite.ProtoLiteUtils.marshaller(
                  msg.admin.v1.Admin.EvaluatePolicyResponse.getDefaultInstance()))
              .build();
        }
      }
    }
    return getEvaluatePolicyMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static AdminServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<AdminServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<AdminServiceStub>() {
        @java.lang.Override
        public AdminServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new AdminServiceStub(channel, callOptions);
        }
      };
    return AdminServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static AdminServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<AdminServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<AdminServiceBlockingV2Stub>() {
        @java.lang.Override
        public AdminServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new AdminServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return AdminServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static AdminServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<AdminServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<AdminServiceBlockingStub>() {
        @java.lang.Override
        public AdminServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new AdminServiceBlockingStub(channel, callOptions);
        }
      };
    return AdminServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static AdminServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<AdminServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<AdminServiceFutureStub>() {
        @java.lang.Override
        public AdminServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new AdminServiceFutureStub(channel, callOptions);
        }
      };
    return AdminServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * AdminService manages the gateway's hosts, rules, revocations, enrollment
   * tokens and devices while it runs, and reads the audit trail. Every call needs a bearer token or an admin
   * client certificate; reads need the viewer role, writes the editor role.
   * Writes are validated completely before anything is applied and take effect
   * on the next Forward call. Updates and deletes carry the etag they were based
   * on; a stale etag fails with ABORTED (HTTP 409) so that two admins cannot
   * silently overwrite each other.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Lists the allow-listed hosts, sorted by name.
     * </pre>
     */
    default void listHosts(msg.admin.v1.Admin.ListHostsRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.ListHostsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListHostsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns one host.
     * </pre>
     */
    default void getHost(msg.admin.v1.Admin.GetHostRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetHostResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetHostMethod(), responseObserver);
    }

    /**
     * <pre>
     * Adds a host. Fails with ALREADY_EXISTS when the name is taken.
     * </pre>
     */
    default void createHost(msg.admin.v1.Admin.CreateHostRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.CreateHostResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateHostMethod(), responseObserver);
    }

    /**
     * <pre>
     * Changes a host. host.etag is required.
     * </pre>
     */
    default void updateHost(msg.admin.v1.Admin.UpdateHostRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.UpdateHostResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getUpdateHostMethod(), responseObserver);
    }

    /**
     * <pre>
     * Removes a host. Fails with FAILED_PRECONDITION while a rule names it.
     * </pre>
     */
    default void deleteHost(msg.admin.v1.Admin.DeleteHostRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.DeleteHostResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteHostMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists the authorization rules, sorted by id.
     * </pre>
     */
    default void listRules(msg.admin.v1.Admin.ListRulesRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.ListRulesResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListRulesMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns one rule.
     * </pre>
     */
    default void getRule(msg.admin.v1.Admin.GetRuleRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetRuleResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetRuleMethod(), responseObserver);
    }

    /**
     * <pre>
     * Adds a rule. Fails with ALREADY_EXISTS when the id is taken.
     * </pre>
     */
    default void createRule(msg.admin.v1.Admin.CreateRuleRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.CreateRuleResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateRuleMethod(), responseObserver);
    }

    /**
     * <pre>
     * Changes a rule. rule.etag is required.
     * </pre>
     */
    default void updateRule(msg.admin.v1.Admin.UpdateRuleRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.UpdateRuleResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getUpdateRuleMethod(), responseObserver);
    }

    /**
     * <pre>
     * Removes a rule.
     * </pre>
     */
    default void deleteRule(msg.admin.v1.Admin.DeleteRuleRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.DeleteRuleResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteRuleMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists the revocations, sorted by id.
     * </pre>
     */
    default void listRevocations(msg.admin.v1.Admin.ListRevocationsRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.ListRevocationsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListRevocationsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Revokes a certificate. Its open connections are closed.
     * </pre>
     */
    default void createRevocation(msg.admin.v1.Admin.CreateRevocationRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.CreateRevocationResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateRevocationMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lifts a revocation.
     * </pre>
     */
    default void deleteRevocation(msg.admin.v1.Admin.DeleteRevocationRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.DeleteRevocationResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteRevocationMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists the enrollment tokens, sorted by id. Their secrets are never
     * returned.
     * </pre>
     */
    default void listEnrollmentTokens(msg.admin.v1.Admin.ListEnrollmentTokensRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.ListEnrollmentTokensResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListEnrollmentTokensMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns one enrollment token, without its secret.
     * </pre>
     */
    default void getEnrollmentToken(msg.admin.v1.Admin.GetEnrollmentTokenRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetEnrollmentTokenResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetEnrollmentTokenMethod(), responseObserver);
    }

    /**
     * <pre>
     * Creates an enrollment token and returns its one-time secret and the
     * enrollment bundle that carries it: the only time either is shown. Fails
     * with FAILED_PRECONDITION when the gateway has no enroll section.
     * </pre>
     */
    default void createEnrollmentToken(msg.admin.v1.Admin.CreateEnrollmentTokenRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.CreateEnrollmentTokenResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateEnrollmentTokenMethod(), responseObserver);
    }

    /**
     * <pre>
     * Deletes an enrollment token: its secret stops working at once. Devices
     * that enrolled with it stay.
     * </pre>
     */
    default void deleteEnrollmentToken(msg.admin.v1.Admin.DeleteEnrollmentTokenRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.DeleteEnrollmentTokenResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteEnrollmentTokenMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists the enrolled devices, sorted by id.
     * </pre>
     */
    default void listDevices(msg.admin.v1.Admin.ListDevicesRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.ListDevicesResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListDevicesMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns one device.
     * </pre>
     */
    default void getDevice(msg.admin.v1.Admin.GetDeviceRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetDeviceResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetDeviceMethod(), responseObserver);
    }

    /**
     * <pre>
     * Deletes a device and, in the same write, revokes its certificates that
     * have not expired (revocations by fingerprint): its open connections
     * close and it can no longer renew.
     * </pre>
     */
    default void deleteDevice(msg.admin.v1.Admin.DeleteDeviceRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.DeleteDeviceResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteDeviceMethod(), responseObserver);
    }

    /**
     * <pre>
     * Queries the audit trail, newest first.
     * </pre>
     */
    default void listAuditRecords(msg.admin.v1.Admin.ListAuditRecordsRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.ListAuditRecordsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListAuditRecordsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Describes this instance's audit log: the instance id its records carry,
     * the key that verifies its checkpoints, how many records it holds and
     * which were pruned, and its latest signed checkpoint.
     * </pre>
     */
    default void getAuditLog(msg.admin.v1.Admin.GetAuditLogRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetAuditLogResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetAuditLogMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists the audit log's signed checkpoints, smallest tree first.
     * </pre>
     */
    default void listAuditCheckpoints(msg.admin.v1.Admin.ListAuditCheckpointsRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.ListAuditCheckpointsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListAuditCheckpointsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Verifies the stored audit trail against the signed checkpoints: the
     * stored ones and those given (kept by a witness). A modified, deleted,
     * inserted or reordered record, or records missing at the end, make the
     * answer not ok with the first bad index. Needs the viewer role.
     * </pre>
     */
    default void verifyAuditLog(msg.admin.v1.Admin.VerifyAuditLogRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.VerifyAuditLogResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getVerifyAuditLogMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns one audit record with its proof of inclusion in a signed
     * checkpoint.
     * </pre>
     */
    default void getAuditProof(msg.admin.v1.Admin.GetAuditProofRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetAuditProofResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetAuditProofMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns the leaf hashes of a range of audit records and the hashes that
     * sum up the log before it, so that a verifier can check a copy of the
     * records (the JSON-lines file) against the signed checkpoints and find
     * the first record that differs.
     * </pre>
     */
    default void getAuditHashes(msg.admin.v1.Admin.GetAuditHashesRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetAuditHashesResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetAuditHashesMethod(), responseObserver);
    }

    /**
     * <pre>
     * Reports the gateway's version, uptime, config revision, counts and
     * whether the configuration store is reachable.
     * </pre>
     */
    default void getStatus(msg.admin.v1.Admin.GetStatusRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetStatusResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetStatusMethod(), responseObserver);
    }

    /**
     * <pre>
     * Explains how the gateway decides a request right now, without sending
     * it: the identity and the inner request go through the same
     * canonicalization, policy decision and host table check as a Forward call,
     * on the configuration the data plane serves. Needs the viewer role.
     * </pre>
     */
    default void evaluatePolicy(msg.admin.v1.Admin.EvaluatePolicyRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.EvaluatePolicyResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getEvaluatePolicyMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service AdminService.
   * <pre>
   * AdminService manages the gateway's hosts, rules, revocations, enrollment
   * tokens and devices while it runs, and reads the audit trail. Every call needs a bearer token or an admin
   * client certificate; reads need the viewer role, writes the editor role.
   * Writes are validated completely before anything is applied and take effect
   * on the next Forward call. Updates and deletes carry the etag they were based
   * on; a stale etag fails with ABORTED (HTTP 409) so that two admins cannot
   * silently overwrite each other.
   * </pre>
   */
  public static abstract class AdminServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return AdminServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service AdminService.
   * <pre>
   * AdminService manages the gateway's hosts, rules, revocations, enrollment
   * tokens and devices while it runs, and reads the audit trail. Every call needs a bearer token or an admin
   * client certificate; reads need the viewer role, writes the editor role.
   * Writes are validated completely before anything is applied and take effect
   * on the next Forward call. Updates and deletes carry the etag they were based
   * on; a stale etag fails with ABORTED (HTTP 409) so that two admins cannot
   * silently overwrite each other.
   * </pre>
   */
  public static final class AdminServiceStub
      extends io.grpc.stub.AbstractAsyncStub<AdminServiceStub> {
    private AdminServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected AdminServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new AdminServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Lists the allow-listed hosts, sorted by name.
     * </pre>
     */
    public void listHosts(msg.admin.v1.Admin.ListHostsRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.ListHostsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListHostsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns one host.
     * </pre>
     */
    public void getHost(msg.admin.v1.Admin.GetHostRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetHostResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetHostMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Adds a host. Fails with ALREADY_EXISTS when the name is taken.
     * </pre>
     */
    public void createHost(msg.admin.v1.Admin.CreateHostRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.CreateHostResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateHostMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Changes a host. host.etag is required.
     * </pre>
     */
    public void updateHost(msg.admin.v1.Admin.UpdateHostRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.UpdateHostResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getUpdateHostMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Removes a host. Fails with FAILED_PRECONDITION while a rule names it.
     * </pre>
     */
    public void deleteHost(msg.admin.v1.Admin.DeleteHostRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.DeleteHostResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteHostMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists the authorization rules, sorted by id.
     * </pre>
     */
    public void listRules(msg.admin.v1.Admin.ListRulesRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.ListRulesResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListRulesMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns one rule.
     * </pre>
     */
    public void getRule(msg.admin.v1.Admin.GetRuleRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetRuleResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetRuleMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Adds a rule. Fails with ALREADY_EXISTS when the id is taken.
     * </pre>
     */
    public void createRule(msg.admin.v1.Admin.CreateRuleRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.CreateRuleResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateRuleMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Changes a rule. rule.etag is required.
     * </pre>
     */
    public void updateRule(msg.admin.v1.Admin.UpdateRuleRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.UpdateRuleResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getUpdateRuleMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Removes a rule.
     * </pre>
     */
    public void deleteRule(msg.admin.v1.Admin.DeleteRuleRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.DeleteRuleResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteRuleMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists the revocations, sorted by id.
     * </pre>
     */
    public void listRevocations(msg.admin.v1.Admin.ListRevocationsRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.ListRevocationsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListRevocationsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Revokes a certificate. Its open connections are closed.
     * </pre>
     */
    public void createRevocation(msg.admin.v1.Admin.CreateRevocationRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.CreateRevocationResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateRevocationMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lifts a revocation.
     * </pre>
     */
    public void deleteRevocation(msg.admin.v1.Admin.DeleteRevocationRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.DeleteRevocationResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteRevocationMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists the enrollment tokens, sorted by id. Their secrets are never
     * returned.
     * </pre>
     */
    public void listEnrollmentTokens(msg.admin.v1.Admin.ListEnrollmentTokensRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.ListEnrollmentTokensResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListEnrollmentTokensMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns one enrollment token, without its secret.
     * </pre>
     */
    public void getEnrollmentToken(msg.admin.v1.Admin.GetEnrollmentTokenRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetEnrollmentTokenResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetEnrollmentTokenMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Creates an enrollment token and returns its one-time secret and the
     * enrollment bundle that carries it: the only time either is shown. Fails
     * with FAILED_PRECONDITION when the gateway has no enroll section.
     * </pre>
     */
    public void createEnrollmentToken(msg.admin.v1.Admin.CreateEnrollmentTokenRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.CreateEnrollmentTokenResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateEnrollmentTokenMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Deletes an enrollment token: its secret stops working at once. Devices
     * that enrolled with it stay.
     * </pre>
     */
    public void deleteEnrollmentToken(msg.admin.v1.Admin.DeleteEnrollmentTokenRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.DeleteEnrollmentTokenResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteEnrollmentTokenMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists the enrolled devices, sorted by id.
     * </pre>
     */
    public void listDevices(msg.admin.v1.Admin.ListDevicesRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.ListDevicesResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListDevicesMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns one device.
     * </pre>
     */
    public void getDevice(msg.admin.v1.Admin.GetDeviceRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetDeviceResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetDeviceMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Deletes a device and, in the same write, revokes its certificates that
     * have not expired (revocations by fingerprint): its open connections
     * close and it can no longer renew.
     * </pre>
     */
    public void deleteDevice(msg.admin.v1.Admin.DeleteDeviceRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.DeleteDeviceResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteDeviceMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Queries the audit trail, newest first.
     * </pre>
     */
    public void listAuditRecords(msg.admin.v1.Admin.ListAuditRecordsRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.ListAuditRecordsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListAuditRecordsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Describes this instance's audit log: the instance id its records carry,
     * the key that verifies its checkpoints, how many records it holds and
     * which were pruned, and its latest signed checkpoint.
     * </pre>
     */
    public void getAuditLog(msg.admin.v1.Admin.GetAuditLogRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetAuditLogResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetAuditLogMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists the audit log's signed checkpoints, smallest tree first.
     * </pre>
     */
    public void listAuditCheckpoints(msg.admin.v1.Admin.ListAuditCheckpointsRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.ListAuditCheckpointsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListAuditCheckpointsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Verifies the stored audit trail against the signed checkpoints: the
     * stored ones and those given (kept by a witness). A modified, deleted,
     * inserted or reordered record, or records missing at the end, make the
     * answer not ok with the first bad index. Needs the viewer role.
     * </pre>
     */
    public void verifyAuditLog(msg.admin.v1.Admin.VerifyAuditLogRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.VerifyAuditLogResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getVerifyAuditLogMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns one audit record with its proof of inclusion in a signed
     * checkpoint.
     * </pre>
     */
    public void getAuditProof(msg.admin.v1.Admin.GetAuditProofRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetAuditProofResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetAuditProofMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns the leaf hashes of a range of audit records and the hashes that
     * sum up the log before it, so that a verifier can check a copy of the
     * records (the JSON-lines file) against the signed checkpoints and find
     * the first record that differs.
     * </pre>
     */
    public void getAuditHashes(msg.admin.v1.Admin.GetAuditHashesRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetAuditHashesResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetAuditHashesMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Reports the gateway's version, uptime, config revision, counts and
     * whether the configuration store is reachable.
     * </pre>
     */
    public void getStatus(msg.admin.v1.Admin.GetStatusRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetStatusResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetStatusMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Explains how the gateway decides a request right now, without sending
     * it: the identity and the inner request go through the same
     * canonicalization, policy decision and host table check as a Forward call,
     * on the configuration the data plane serves. Needs the viewer role.
     * </pre>
     */
    public void evaluatePolicy(msg.admin.v1.Admin.EvaluatePolicyRequest request,
        io.grpc.stub.StreamObserver<msg.admin.v1.Admin.EvaluatePolicyResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getEvaluatePolicyMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service AdminService.
   * <pre>
   * AdminService manages the gateway's hosts, rules, revocations, enrollment
   * tokens and devices while it runs, and reads the audit trail. Every call needs a bearer token or an admin
   * client certificate; reads need the viewer role, writes the editor role.
   * Writes are validated completely before anything is applied and take effect
   * on the next Forward call. Updates and deletes carry the etag they were based
   * on; a stale etag fails with ABORTED (HTTP 409) so that two admins cannot
   * silently overwrite each other.
   * </pre>
   */
  public static final class AdminServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<AdminServiceBlockingV2Stub> {
    private AdminServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected AdminServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new AdminServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Lists the allow-listed hosts, sorted by name.
     * </pre>
     */
    public msg.admin.v1.Admin.ListHostsResponse listHosts(msg.admin.v1.Admin.ListHostsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListHostsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one host.
     * </pre>
     */
    public msg.admin.v1.Admin.GetHostResponse getHost(msg.admin.v1.Admin.GetHostRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetHostMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Adds a host. Fails with ALREADY_EXISTS when the name is taken.
     * </pre>
     */
    public msg.admin.v1.Admin.CreateHostResponse createHost(msg.admin.v1.Admin.CreateHostRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateHostMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Changes a host. host.etag is required.
     * </pre>
     */
    public msg.admin.v1.Admin.UpdateHostResponse updateHost(msg.admin.v1.Admin.UpdateHostRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getUpdateHostMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Removes a host. Fails with FAILED_PRECONDITION while a rule names it.
     * </pre>
     */
    public msg.admin.v1.Admin.DeleteHostResponse deleteHost(msg.admin.v1.Admin.DeleteHostRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeleteHostMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the authorization rules, sorted by id.
     * </pre>
     */
    public msg.admin.v1.Admin.ListRulesResponse listRules(msg.admin.v1.Admin.ListRulesRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListRulesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one rule.
     * </pre>
     */
    public msg.admin.v1.Admin.GetRuleResponse getRule(msg.admin.v1.Admin.GetRuleRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetRuleMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Adds a rule. Fails with ALREADY_EXISTS when the id is taken.
     * </pre>
     */
    public msg.admin.v1.Admin.CreateRuleResponse createRule(msg.admin.v1.Admin.CreateRuleRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateRuleMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Changes a rule. rule.etag is required.
     * </pre>
     */
    public msg.admin.v1.Admin.UpdateRuleResponse updateRule(msg.admin.v1.Admin.UpdateRuleRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getUpdateRuleMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Removes a rule.
     * </pre>
     */
    public msg.admin.v1.Admin.DeleteRuleResponse deleteRule(msg.admin.v1.Admin.DeleteRuleRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeleteRuleMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the revocations, sorted by id.
     * </pre>
     */
    public msg.admin.v1.Admin.ListRevocationsResponse listRevocations(msg.admin.v1.Admin.ListRevocationsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListRevocationsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Revokes a certificate. Its open connections are closed.
     * </pre>
     */
    public msg.admin.v1.Admin.CreateRevocationResponse createRevocation(msg.admin.v1.Admin.CreateRevocationRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateRevocationMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lifts a revocation.
     * </pre>
     */
    public msg.admin.v1.Admin.DeleteRevocationResponse deleteRevocation(msg.admin.v1.Admin.DeleteRevocationRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeleteRevocationMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the enrollment tokens, sorted by id. Their secrets are never
     * returned.
     * </pre>
     */
    public msg.admin.v1.Admin.ListEnrollmentTokensResponse listEnrollmentTokens(msg.admin.v1.Admin.ListEnrollmentTokensRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListEnrollmentTokensMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one enrollment token, without its secret.
     * </pre>
     */
    public msg.admin.v1.Admin.GetEnrollmentTokenResponse getEnrollmentToken(msg.admin.v1.Admin.GetEnrollmentTokenRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetEnrollmentTokenMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Creates an enrollment token and returns its one-time secret and the
     * enrollment bundle that carries it: the only time either is shown. Fails
     * with FAILED_PRECONDITION when the gateway has no enroll section.
     * </pre>
     */
    public msg.admin.v1.Admin.CreateEnrollmentTokenResponse createEnrollmentToken(msg.admin.v1.Admin.CreateEnrollmentTokenRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateEnrollmentTokenMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes an enrollment token: its secret stops working at once. Devices
     * that enrolled with it stay.
     * </pre>
     */
    public msg.admin.v1.Admin.DeleteEnrollmentTokenResponse deleteEnrollmentToken(msg.admin.v1.Admin.DeleteEnrollmentTokenRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeleteEnrollmentTokenMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the enrolled devices, sorted by id.
     * </pre>
     */
    public msg.admin.v1.Admin.ListDevicesResponse listDevices(msg.admin.v1.Admin.ListDevicesRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListDevicesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one device.
     * </pre>
     */
    public msg.admin.v1.Admin.GetDeviceResponse getDevice(msg.admin.v1.Admin.GetDeviceRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetDeviceMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes a device and, in the same write, revokes its certificates that
     * have not expired (revocations by fingerprint): its open connections
     * close and it can no longer renew.
     * </pre>
     */
    public msg.admin.v1.Admin.DeleteDeviceResponse deleteDevice(msg.admin.v1.Admin.DeleteDeviceRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeleteDeviceMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Queries the audit trail, newest first.
     * </pre>
     */
    public msg.admin.v1.Admin.ListAuditRecordsResponse listAuditRecords(msg.admin.v1.Admin.ListAuditRecordsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListAuditRecordsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Describes this instance's audit log: the instance id its records carry,
     * the key that verifies its checkpoints, how many records it holds and
     * which were pruned, and its latest signed checkpoint.
     * </pre>
     */
    public msg.admin.v1.Admin.GetAuditLogResponse getAuditLog(msg.admin.v1.Admin.GetAuditLogRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetAuditLogMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the audit log's signed checkpoints, smallest tree first.
     * </pre>
     */
    public msg.admin.v1.Admin.ListAuditCheckpointsResponse listAuditCheckpoints(msg.admin.v1.Admin.ListAuditCheckpointsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListAuditCheckpointsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Verifies the stored audit trail against the signed checkpoints: the
     * stored ones and those given (kept by a witness). A modified, deleted,
     * inserted or reordered record, or records missing at the end, make the
     * answer not ok with the first bad index. Needs the viewer role.
     * </pre>
     */
    public msg.admin.v1.Admin.VerifyAuditLogResponse verifyAuditLog(msg.admin.v1.Admin.VerifyAuditLogRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getVerifyAuditLogMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one audit record with its proof of inclusion in a signed
     * checkpoint.
     * </pre>
     */
    public msg.admin.v1.Admin.GetAuditProofResponse getAuditProof(msg.admin.v1.Admin.GetAuditProofRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetAuditProofMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns the leaf hashes of a range of audit records and the hashes that
     * sum up the log before it, so that a verifier can check a copy of the
     * records (the JSON-lines file) against the signed checkpoints and find
     * the first record that differs.
     * </pre>
     */
    public msg.admin.v1.Admin.GetAuditHashesResponse getAuditHashes(msg.admin.v1.Admin.GetAuditHashesRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetAuditHashesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Reports the gateway's version, uptime, config revision, counts and
     * whether the configuration store is reachable.
     * </pre>
     */
    public msg.admin.v1.Admin.GetStatusResponse getStatus(msg.admin.v1.Admin.GetStatusRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetStatusMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Explains how the gateway decides a request right now, without sending
     * it: the identity and the inner request go through the same
     * canonicalization, policy decision and host table check as a Forward call,
     * on the configuration the data plane serves. Needs the viewer role.
     * </pre>
     */
    public msg.admin.v1.Admin.EvaluatePolicyResponse evaluatePolicy(msg.admin.v1.Admin.EvaluatePolicyRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getEvaluatePolicyMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service AdminService.
   * <pre>
   * AdminService manages the gateway's hosts, rules, revocations, enrollment
   * tokens and devices while it runs, and reads the audit trail. Every call needs a bearer token or an admin
   * client certificate; reads need the viewer role, writes the editor role.
   * Writes are validated completely before anything is applied and take effect
   * on the next Forward call. Updates and deletes carry the etag they were based
   * on; a stale etag fails with ABORTED (HTTP 409) so that two admins cannot
   * silently overwrite each other.
   * </pre>
   */
  public static final class AdminServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<AdminServiceBlockingStub> {
    private AdminServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected AdminServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new AdminServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Lists the allow-listed hosts, sorted by name.
     * </pre>
     */
    public msg.admin.v1.Admin.ListHostsResponse listHosts(msg.admin.v1.Admin.ListHostsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListHostsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one host.
     * </pre>
     */
    public msg.admin.v1.Admin.GetHostResponse getHost(msg.admin.v1.Admin.GetHostRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetHostMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Adds a host. Fails with ALREADY_EXISTS when the name is taken.
     * </pre>
     */
    public msg.admin.v1.Admin.CreateHostResponse createHost(msg.admin.v1.Admin.CreateHostRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateHostMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Changes a host. host.etag is required.
     * </pre>
     */
    public msg.admin.v1.Admin.UpdateHostResponse updateHost(msg.admin.v1.Admin.UpdateHostRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getUpdateHostMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Removes a host. Fails with FAILED_PRECONDITION while a rule names it.
     * </pre>
     */
    public msg.admin.v1.Admin.DeleteHostResponse deleteHost(msg.admin.v1.Admin.DeleteHostRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteHostMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the authorization rules, sorted by id.
     * </pre>
     */
    public msg.admin.v1.Admin.ListRulesResponse listRules(msg.admin.v1.Admin.ListRulesRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListRulesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one rule.
     * </pre>
     */
    public msg.admin.v1.Admin.GetRuleResponse getRule(msg.admin.v1.Admin.GetRuleRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetRuleMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Adds a rule. Fails with ALREADY_EXISTS when the id is taken.
     * </pre>
     */
    public msg.admin.v1.Admin.CreateRuleResponse createRule(msg.admin.v1.Admin.CreateRuleRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateRuleMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Changes a rule. rule.etag is required.
     * </pre>
     */
    public msg.admin.v1.Admin.UpdateRuleResponse updateRule(msg.admin.v1.Admin.UpdateRuleRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getUpdateRuleMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Removes a rule.
     * </pre>
     */
    public msg.admin.v1.Admin.DeleteRuleResponse deleteRule(msg.admin.v1.Admin.DeleteRuleRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteRuleMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the revocations, sorted by id.
     * </pre>
     */
    public msg.admin.v1.Admin.ListRevocationsResponse listRevocations(msg.admin.v1.Admin.ListRevocationsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListRevocationsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Revokes a certificate. Its open connections are closed.
     * </pre>
     */
    public msg.admin.v1.Admin.CreateRevocationResponse createRevocation(msg.admin.v1.Admin.CreateRevocationRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateRevocationMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lifts a revocation.
     * </pre>
     */
    public msg.admin.v1.Admin.DeleteRevocationResponse deleteRevocation(msg.admin.v1.Admin.DeleteRevocationRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteRevocationMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the enrollment tokens, sorted by id. Their secrets are never
     * returned.
     * </pre>
     */
    public msg.admin.v1.Admin.ListEnrollmentTokensResponse listEnrollmentTokens(msg.admin.v1.Admin.ListEnrollmentTokensRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListEnrollmentTokensMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one enrollment token, without its secret.
     * </pre>
     */
    public msg.admin.v1.Admin.GetEnrollmentTokenResponse getEnrollmentToken(msg.admin.v1.Admin.GetEnrollmentTokenRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetEnrollmentTokenMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Creates an enrollment token and returns its one-time secret and the
     * enrollment bundle that carries it: the only time either is shown. Fails
     * with FAILED_PRECONDITION when the gateway has no enroll section.
     * </pre>
     */
    public msg.admin.v1.Admin.CreateEnrollmentTokenResponse createEnrollmentToken(msg.admin.v1.Admin.CreateEnrollmentTokenRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateEnrollmentTokenMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes an enrollment token: its secret stops working at once. Devices
     * that enrolled with it stay.
     * </pre>
     */
    public msg.admin.v1.Admin.DeleteEnrollmentTokenResponse deleteEnrollmentToken(msg.admin.v1.Admin.DeleteEnrollmentTokenRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteEnrollmentTokenMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the enrolled devices, sorted by id.
     * </pre>
     */
    public msg.admin.v1.Admin.ListDevicesResponse listDevices(msg.admin.v1.Admin.ListDevicesRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListDevicesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one device.
     * </pre>
     */
    public msg.admin.v1.Admin.GetDeviceResponse getDevice(msg.admin.v1.Admin.GetDeviceRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetDeviceMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes a device and, in the same write, revokes its certificates that
     * have not expired (revocations by fingerprint): its open connections
     * close and it can no longer renew.
     * </pre>
     */
    public msg.admin.v1.Admin.DeleteDeviceResponse deleteDevice(msg.admin.v1.Admin.DeleteDeviceRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteDeviceMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Queries the audit trail, newest first.
     * </pre>
     */
    public msg.admin.v1.Admin.ListAuditRecordsResponse listAuditRecords(msg.admin.v1.Admin.ListAuditRecordsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListAuditRecordsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Describes this instance's audit log: the instance id its records carry,
     * the key that verifies its checkpoints, how many records it holds and
     * which were pruned, and its latest signed checkpoint.
     * </pre>
     */
    public msg.admin.v1.Admin.GetAuditLogResponse getAuditLog(msg.admin.v1.Admin.GetAuditLogRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetAuditLogMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the audit log's signed checkpoints, smallest tree first.
     * </pre>
     */
    public msg.admin.v1.Admin.ListAuditCheckpointsResponse listAuditCheckpoints(msg.admin.v1.Admin.ListAuditCheckpointsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListAuditCheckpointsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Verifies the stored audit trail against the signed checkpoints: the
     * stored ones and those given (kept by a witness). A modified, deleted,
     * inserted or reordered record, or records missing at the end, make the
     * answer not ok with the first bad index. Needs the viewer role.
     * </pre>
     */
    public msg.admin.v1.Admin.VerifyAuditLogResponse verifyAuditLog(msg.admin.v1.Admin.VerifyAuditLogRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getVerifyAuditLogMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one audit record with its proof of inclusion in a signed
     * checkpoint.
     * </pre>
     */
    public msg.admin.v1.Admin.GetAuditProofResponse getAuditProof(msg.admin.v1.Admin.GetAuditProofRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetAuditProofMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns the leaf hashes of a range of audit records and the hashes that
     * sum up the log before it, so that a verifier can check a copy of the
     * records (the JSON-lines file) against the signed checkpoints and find
     * the first record that differs.
     * </pre>
     */
    public msg.admin.v1.Admin.GetAuditHashesResponse getAuditHashes(msg.admin.v1.Admin.GetAuditHashesRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetAuditHashesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Reports the gateway's version, uptime, config revision, counts and
     * whether the configuration store is reachable.
     * </pre>
     */
    public msg.admin.v1.Admin.GetStatusResponse getStatus(msg.admin.v1.Admin.GetStatusRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetStatusMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Explains how the gateway decides a request right now, without sending
     * it: the identity and the inner request go through the same
     * canonicalization, policy decision and host table check as a Forward call,
     * on the configuration the data plane serves. Needs the viewer role.
     * </pre>
     */
    public msg.admin.v1.Admin.EvaluatePolicyResponse evaluatePolicy(msg.admin.v1.Admin.EvaluatePolicyRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getEvaluatePolicyMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service AdminService.
   * <pre>
   * AdminService manages the gateway's hosts, rules, revocations, enrollment
   * tokens and devices while it runs, and reads the audit trail. Every call needs a bearer token or an admin
   * client certificate; reads need the viewer role, writes the editor role.
   * Writes are validated completely before anything is applied and take effect
   * on the next Forward call. Updates and deletes carry the etag they were based
   * on; a stale etag fails with ABORTED (HTTP 409) so that two admins cannot
   * silently overwrite each other.
   * </pre>
   */
  public static final class AdminServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<AdminServiceFutureStub> {
    private AdminServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected AdminServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new AdminServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Lists the allow-listed hosts, sorted by name.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.ListHostsResponse> listHosts(
        msg.admin.v1.Admin.ListHostsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListHostsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns one host.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.GetHostResponse> getHost(
        msg.admin.v1.Admin.GetHostRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetHostMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Adds a host. Fails with ALREADY_EXISTS when the name is taken.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.CreateHostResponse> createHost(
        msg.admin.v1.Admin.CreateHostRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateHostMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Changes a host. host.etag is required.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.UpdateHostResponse> updateHost(
        msg.admin.v1.Admin.UpdateHostRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getUpdateHostMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Removes a host. Fails with FAILED_PRECONDITION while a rule names it.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.DeleteHostResponse> deleteHost(
        msg.admin.v1.Admin.DeleteHostRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteHostMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists the authorization rules, sorted by id.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.ListRulesResponse> listRules(
        msg.admin.v1.Admin.ListRulesRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListRulesMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns one rule.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.GetRuleResponse> getRule(
        msg.admin.v1.Admin.GetRuleRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetRuleMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Adds a rule. Fails with ALREADY_EXISTS when the id is taken.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.CreateRuleResponse> createRule(
        msg.admin.v1.Admin.CreateRuleRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateRuleMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Changes a rule. rule.etag is required.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.UpdateRuleResponse> updateRule(
        msg.admin.v1.Admin.UpdateRuleRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getUpdateRuleMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Removes a rule.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.DeleteRuleResponse> deleteRule(
        msg.admin.v1.Admin.DeleteRuleRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteRuleMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists the revocations, sorted by id.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.ListRevocationsResponse> listRevocations(
        msg.admin.v1.Admin.ListRevocationsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListRevocationsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Revokes a certificate. Its open connections are closed.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.CreateRevocationResponse> createRevocation(
        msg.admin.v1.Admin.CreateRevocationRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateRevocationMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lifts a revocation.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.DeleteRevocationResponse> deleteRevocation(
        msg.admin.v1.Admin.DeleteRevocationRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteRevocationMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists the enrollment tokens, sorted by id. Their secrets are never
     * returned.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.ListEnrollmentTokensResponse> listEnrollmentTokens(
        msg.admin.v1.Admin.ListEnrollmentTokensRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListEnrollmentTokensMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns one enrollment token, without its secret.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.GetEnrollmentTokenResponse> getEnrollmentToken(
        msg.admin.v1.Admin.GetEnrollmentTokenRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetEnrollmentTokenMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Creates an enrollment token and returns its one-time secret and the
     * enrollment bundle that carries it: the only time either is shown. Fails
     * with FAILED_PRECONDITION when the gateway has no enroll section.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.CreateEnrollmentTokenResponse> createEnrollmentToken(
        msg.admin.v1.Admin.CreateEnrollmentTokenRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateEnrollmentTokenMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Deletes an enrollment token: its secret stops working at once. Devices
     * that enrolled with it stay.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.DeleteEnrollmentTokenResponse> deleteEnrollmentToken(
        msg.admin.v1.Admin.DeleteEnrollmentTokenRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteEnrollmentTokenMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists the enrolled devices, sorted by id.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.ListDevicesResponse> listDevices(
        msg.admin.v1.Admin.ListDevicesRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListDevicesMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns one device.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.GetDeviceResponse> getDevice(
        msg.admin.v1.Admin.GetDeviceRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetDeviceMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Deletes a device and, in the same write, revokes its certificates that
     * have not expired (revocations by fingerprint): its open connections
     * close and it can no longer renew.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.DeleteDeviceResponse> deleteDevice(
        msg.admin.v1.Admin.DeleteDeviceRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteDeviceMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Queries the audit trail, newest first.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.ListAuditRecordsResponse> listAuditRecords(
        msg.admin.v1.Admin.ListAuditRecordsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListAuditRecordsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Describes this instance's audit log: the instance id its records carry,
     * the key that verifies its checkpoints, how many records it holds and
     * which were pruned, and its latest signed checkpoint.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.GetAuditLogResponse> getAuditLog(
        msg.admin.v1.Admin.GetAuditLogRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetAuditLogMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists the audit log's signed checkpoints, smallest tree first.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.ListAuditCheckpointsResponse> listAuditCheckpoints(
        msg.admin.v1.Admin.ListAuditCheckpointsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListAuditCheckpointsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Verifies the stored audit trail against the signed checkpoints: the
     * stored ones and those given (kept by a witness). A modified, deleted,
     * inserted or reordered record, or records missing at the end, make the
     * answer not ok with the first bad index. Needs the viewer role.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.VerifyAuditLogResponse> verifyAuditLog(
        msg.admin.v1.Admin.VerifyAuditLogRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getVerifyAuditLogMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns one audit record with its proof of inclusion in a signed
     * checkpoint.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.GetAuditProofResponse> getAuditProof(
        msg.admin.v1.Admin.GetAuditProofRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetAuditProofMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns the leaf hashes of a range of audit records and the hashes that
     * sum up the log before it, so that a verifier can check a copy of the
     * records (the JSON-lines file) against the signed checkpoints and find
     * the first record that differs.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.GetAuditHashesResponse> getAuditHashes(
        msg.admin.v1.Admin.GetAuditHashesRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetAuditHashesMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Reports the gateway's version, uptime, config revision, counts and
     * whether the configuration store is reachable.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.GetStatusResponse> getStatus(
        msg.admin.v1.Admin.GetStatusRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetStatusMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Explains how the gateway decides a request right now, without sending
     * it: the identity and the inner request go through the same
     * canonicalization, policy decision and host table check as a Forward call,
     * on the configuration the data plane serves. Needs the viewer role.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<msg.admin.v1.Admin.EvaluatePolicyResponse> evaluatePolicy(
        msg.admin.v1.Admin.EvaluatePolicyRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getEvaluatePolicyMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_LIST_HOSTS = 0;
  private static final int METHODID_GET_HOST = 1;
  private static final int METHODID_CREATE_HOST = 2;
  private static final int METHODID_UPDATE_HOST = 3;
  private static final int METHODID_DELETE_HOST = 4;
  private static final int METHODID_LIST_RULES = 5;
  private static final int METHODID_GET_RULE = 6;
  private static final int METHODID_CREATE_RULE = 7;
  private static final int METHODID_UPDATE_RULE = 8;
  private static final int METHODID_DELETE_RULE = 9;
  private static final int METHODID_LIST_REVOCATIONS = 10;
  private static final int METHODID_CREATE_REVOCATION = 11;
  private static final int METHODID_DELETE_REVOCATION = 12;
  private static final int METHODID_LIST_ENROLLMENT_TOKENS = 13;
  private static final int METHODID_GET_ENROLLMENT_TOKEN = 14;
  private static final int METHODID_CREATE_ENROLLMENT_TOKEN = 15;
  private static final int METHODID_DELETE_ENROLLMENT_TOKEN = 16;
  private static final int METHODID_LIST_DEVICES = 17;
  private static final int METHODID_GET_DEVICE = 18;
  private static final int METHODID_DELETE_DEVICE = 19;
  private static final int METHODID_LIST_AUDIT_RECORDS = 20;
  private static final int METHODID_GET_AUDIT_LOG = 21;
  private static final int METHODID_LIST_AUDIT_CHECKPOINTS = 22;
  private static final int METHODID_VERIFY_AUDIT_LOG = 23;
  private static final int METHODID_GET_AUDIT_PROOF = 24;
  private static final int METHODID_GET_AUDIT_HASHES = 25;
  private static final int METHODID_GET_STATUS = 26;
  private static final int METHODID_EVALUATE_POLICY = 27;

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
        case METHODID_LIST_HOSTS:
          serviceImpl.listHosts((msg.admin.v1.Admin.ListHostsRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.ListHostsResponse>) responseObserver);
          break;
        case METHODID_GET_HOST:
          serviceImpl.getHost((msg.admin.v1.Admin.GetHostRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetHostResponse>) responseObserver);
          break;
        case METHODID_CREATE_HOST:
          serviceImpl.createHost((msg.admin.v1.Admin.CreateHostRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.CreateHostResponse>) responseObserver);
          break;
        case METHODID_UPDATE_HOST:
          serviceImpl.updateHost((msg.admin.v1.Admin.UpdateHostRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.UpdateHostResponse>) responseObserver);
          break;
        case METHODID_DELETE_HOST:
          serviceImpl.deleteHost((msg.admin.v1.Admin.DeleteHostRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.DeleteHostResponse>) responseObserver);
          break;
        case METHODID_LIST_RULES:
          serviceImpl.listRules((msg.admin.v1.Admin.ListRulesRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.ListRulesResponse>) responseObserver);
          break;
        case METHODID_GET_RULE:
          serviceImpl.getRule((msg.admin.v1.Admin.GetRuleRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetRuleResponse>) responseObserver);
          break;
        case METHODID_CREATE_RULE:
          serviceImpl.createRule((msg.admin.v1.Admin.CreateRuleRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.CreateRuleResponse>) responseObserver);
          break;
        case METHODID_UPDATE_RULE:
          serviceImpl.updateRule((msg.admin.v1.Admin.UpdateRuleRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.UpdateRuleResponse>) responseObserver);
          break;
        case METHODID_DELETE_RULE:
          serviceImpl.deleteRule((msg.admin.v1.Admin.DeleteRuleRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.DeleteRuleResponse>) responseObserver);
          break;
        case METHODID_LIST_REVOCATIONS:
          serviceImpl.listRevocations((msg.admin.v1.Admin.ListRevocationsRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.ListRevocationsResponse>) responseObserver);
          break;
        case METHODID_CREATE_REVOCATION:
          serviceImpl.createRevocation((msg.admin.v1.Admin.CreateRevocationRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.CreateRevocationResponse>) responseObserver);
          break;
        case METHODID_DELETE_REVOCATION:
          serviceImpl.deleteRevocation((msg.admin.v1.Admin.DeleteRevocationRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.DeleteRevocationResponse>) responseObserver);
          break;
        case METHODID_LIST_ENROLLMENT_TOKENS:
          serviceImpl.listEnrollmentTokens((msg.admin.v1.Admin.ListEnrollmentTokensRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.ListEnrollmentTokensResponse>) responseObserver);
          break;
        case METHODID_GET_ENROLLMENT_TOKEN:
          serviceImpl.getEnrollmentToken((msg.admin.v1.Admin.GetEnrollmentTokenRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetEnrollmentTokenResponse>) responseObserver);
          break;
        case METHODID_CREATE_ENROLLMENT_TOKEN:
          serviceImpl.createEnrollmentToken((msg.admin.v1.Admin.CreateEnrollmentTokenRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.CreateEnrollmentTokenResponse>) responseObserver);
          break;
        case METHODID_DELETE_ENROLLMENT_TOKEN:
          serviceImpl.deleteEnrollmentToken((msg.admin.v1.Admin.DeleteEnrollmentTokenRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.DeleteEnrollmentTokenResponse>) responseObserver);
          break;
        case METHODID_LIST_DEVICES:
          serviceImpl.listDevices((msg.admin.v1.Admin.ListDevicesRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.ListDevicesResponse>) responseObserver);
          break;
        case METHODID_GET_DEVICE:
          serviceImpl.getDevice((msg.admin.v1.Admin.GetDeviceRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetDeviceResponse>) responseObserver);
          break;
        case METHODID_DELETE_DEVICE:
          serviceImpl.deleteDevice((msg.admin.v1.Admin.DeleteDeviceRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.DeleteDeviceResponse>) responseObserver);
          break;
        case METHODID_LIST_AUDIT_RECORDS:
          serviceImpl.listAuditRecords((msg.admin.v1.Admin.ListAuditRecordsRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.ListAuditRecordsResponse>) responseObserver);
          break;
        case METHODID_GET_AUDIT_LOG:
          serviceImpl.getAuditLog((msg.admin.v1.Admin.GetAuditLogRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetAuditLogResponse>) responseObserver);
          break;
        case METHODID_LIST_AUDIT_CHECKPOINTS:
          serviceImpl.listAuditCheckpoints((msg.admin.v1.Admin.ListAuditCheckpointsRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.ListAuditCheckpointsResponse>) responseObserver);
          break;
        case METHODID_VERIFY_AUDIT_LOG:
          serviceImpl.verifyAuditLog((msg.admin.v1.Admin.VerifyAuditLogRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.VerifyAuditLogResponse>) responseObserver);
          break;
        case METHODID_GET_AUDIT_PROOF:
          serviceImpl.getAuditProof((msg.admin.v1.Admin.GetAuditProofRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetAuditProofResponse>) responseObserver);
          break;
        case METHODID_GET_AUDIT_HASHES:
          serviceImpl.getAuditHashes((msg.admin.v1.Admin.GetAuditHashesRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetAuditHashesResponse>) responseObserver);
          break;
        case METHODID_GET_STATUS:
          serviceImpl.getStatus((msg.admin.v1.Admin.GetStatusRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.GetStatusResponse>) responseObserver);
          break;
        case METHODID_EVALUATE_POLICY:
          serviceImpl.evaluatePolicy((msg.admin.v1.Admin.EvaluatePolicyRequest) request,
              (io.grpc.stub.StreamObserver<msg.admin.v1.Admin.EvaluatePolicyResponse>) responseObserver);
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
          getListHostsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.ListHostsRequest,
              msg.admin.v1.Admin.ListHostsResponse>(
                service, METHODID_LIST_HOSTS)))
        .addMethod(
          getGetHostMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.GetHostRequest,
              msg.admin.v1.Admin.GetHostResponse>(
                service, METHODID_GET_HOST)))
        .addMethod(
          getCreateHostMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.CreateHostRequest,
              msg.admin.v1.Admin.CreateHostResponse>(
                service, METHODID_CREATE_HOST)))
        .addMethod(
          getUpdateHostMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.UpdateHostRequest,
              msg.admin.v1.Admin.UpdateHostResponse>(
                service, METHODID_UPDATE_HOST)))
        .addMethod(
          getDeleteHostMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.DeleteHostRequest,
              msg.admin.v1.Admin.DeleteHostResponse>(
                service, METHODID_DELETE_HOST)))
        .addMethod(
          getListRulesMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.ListRulesRequest,
              msg.admin.v1.Admin.ListRulesResponse>(
                service, METHODID_LIST_RULES)))
        .addMethod(
          getGetRuleMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.GetRuleRequest,
              msg.admin.v1.Admin.GetRuleResponse>(
                service, METHODID_GET_RULE)))
        .addMethod(
          getCreateRuleMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.CreateRuleRequest,
              msg.admin.v1.Admin.CreateRuleResponse>(
                service, METHODID_CREATE_RULE)))
        .addMethod(
          getUpdateRuleMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.UpdateRuleRequest,
              msg.admin.v1.Admin.UpdateRuleResponse>(
                service, METHODID_UPDATE_RULE)))
        .addMethod(
          getDeleteRuleMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.DeleteRuleRequest,
              msg.admin.v1.Admin.DeleteRuleResponse>(
                service, METHODID_DELETE_RULE)))
        .addMethod(
          getListRevocationsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.ListRevocationsRequest,
              msg.admin.v1.Admin.ListRevocationsResponse>(
                service, METHODID_LIST_REVOCATIONS)))
        .addMethod(
          getCreateRevocationMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.CreateRevocationRequest,
              msg.admin.v1.Admin.CreateRevocationResponse>(
                service, METHODID_CREATE_REVOCATION)))
        .addMethod(
          getDeleteRevocationMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.DeleteRevocationRequest,
              msg.admin.v1.Admin.DeleteRevocationResponse>(
                service, METHODID_DELETE_REVOCATION)))
        .addMethod(
          getListEnrollmentTokensMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.ListEnrollmentTokensRequest,
              msg.admin.v1.Admin.ListEnrollmentTokensResponse>(
                service, METHODID_LIST_ENROLLMENT_TOKENS)))
        .addMethod(
          getGetEnrollmentTokenMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.GetEnrollmentTokenRequest,
              msg.admin.v1.Admin.GetEnrollmentTokenResponse>(
                service, METHODID_GET_ENROLLMENT_TOKEN)))
        .addMethod(
          getCreateEnrollmentTokenMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.CreateEnrollmentTokenRequest,
              msg.admin.v1.Admin.CreateEnrollmentTokenResponse>(
                service, METHODID_CREATE_ENROLLMENT_TOKEN)))
        .addMethod(
          getDeleteEnrollmentTokenMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.DeleteEnrollmentTokenRequest,
              msg.admin.v1.Admin.DeleteEnrollmentTokenResponse>(
                service, METHODID_DELETE_ENROLLMENT_TOKEN)))
        .addMethod(
          getListDevicesMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.ListDevicesRequest,
              msg.admin.v1.Admin.ListDevicesResponse>(
                service, METHODID_LIST_DEVICES)))
        .addMethod(
          getGetDeviceMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.GetDeviceRequest,
              msg.admin.v1.Admin.GetDeviceResponse>(
                service, METHODID_GET_DEVICE)))
        .addMethod(
          getDeleteDeviceMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.DeleteDeviceRequest,
              msg.admin.v1.Admin.DeleteDeviceResponse>(
                service, METHODID_DELETE_DEVICE)))
        .addMethod(
          getListAuditRecordsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.ListAuditRecordsRequest,
              msg.admin.v1.Admin.ListAuditRecordsResponse>(
                service, METHODID_LIST_AUDIT_RECORDS)))
        .addMethod(
          getGetAuditLogMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.GetAuditLogRequest,
              msg.admin.v1.Admin.GetAuditLogResponse>(
                service, METHODID_GET_AUDIT_LOG)))
        .addMethod(
          getListAuditCheckpointsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.ListAuditCheckpointsRequest,
              msg.admin.v1.Admin.ListAuditCheckpointsResponse>(
                service, METHODID_LIST_AUDIT_CHECKPOINTS)))
        .addMethod(
          getVerifyAuditLogMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.VerifyAuditLogRequest,
              msg.admin.v1.Admin.VerifyAuditLogResponse>(
                service, METHODID_VERIFY_AUDIT_LOG)))
        .addMethod(
          getGetAuditProofMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.GetAuditProofRequest,
              msg.admin.v1.Admin.GetAuditProofResponse>(
                service, METHODID_GET_AUDIT_PROOF)))
        .addMethod(
          getGetAuditHashesMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.GetAuditHashesRequest,
              msg.admin.v1.Admin.GetAuditHashesResponse>(
                service, METHODID_GET_AUDIT_HASHES)))
        .addMethod(
          getGetStatusMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.GetStatusRequest,
              msg.admin.v1.Admin.GetStatusResponse>(
                service, METHODID_GET_STATUS)))
        .addMethod(
          getEvaluatePolicyMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              msg.admin.v1.Admin.EvaluatePolicyRequest,
              msg.admin.v1.Admin.EvaluatePolicyResponse>(
                service, METHODID_EVALUATE_POLICY)))
        .build();
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (AdminServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .addMethod(getListHostsMethod())
              .addMethod(getGetHostMethod())
              .addMethod(getCreateHostMethod())
              .addMethod(getUpdateHostMethod())
              .addMethod(getDeleteHostMethod())
              .addMethod(getListRulesMethod())
              .addMethod(getGetRuleMethod())
              .addMethod(getCreateRuleMethod())
              .addMethod(getUpdateRuleMethod())
              .addMethod(getDeleteRuleMethod())
              .addMethod(getListRevocationsMethod())
              .addMethod(getCreateRevocationMethod())
              .addMethod(getDeleteRevocationMethod())
              .addMethod(getListEnrollmentTokensMethod())
              .addMethod(getGetEnrollmentTokenMethod())
              .addMethod(getCreateEnrollmentTokenMethod())
              .addMethod(getDeleteEnrollmentTokenMethod())
              .addMethod(getListDevicesMethod())
              .addMethod(getGetDeviceMethod())
              .addMethod(getDeleteDeviceMethod())
              .addMethod(getListAuditRecordsMethod())
              .addMethod(getGetAuditLogMethod())
              .addMethod(getListAuditCheckpointsMethod())
              .addMethod(getVerifyAuditLogMethod())
              .addMethod(getGetAuditProofMethod())
              .addMethod(getGetAuditHashesMethod())
              .addMethod(getGetStatusMethod())
              .addMethod(getEvaluatePolicyMethod())
              .build();
        }
      }
    }
    return result;
  }
}
