package admin

import (
	"strings"
	"testing"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
)

// TestViewerMethods checks the roles the resource kinds derive: a viewer may
// call every method that only reads (List, Get, the policy tester, the
// audit log's verification) and none that writes.
func TestViewerMethods(t *testing.T) {
	t.Parallel()
	methods := adminv1.File_msg_admin_v1_admin_proto.Services().ByName("AdminService").Methods()
	for i := 0; i < methods.Len(); i++ {
		name := string(methods.Get(i).Name())
		full := "/" + adminv1.AdminService_ServiceDesc.ServiceName + "/" + name
		reads := strings.HasPrefix(name, "List") || strings.HasPrefix(name, "Get") || name == "EvaluatePolicy" || name == "VerifyAuditLog"
		if got := readOnly(full); got != reads {
			t.Errorf("readOnly(%s) = %v, want %v", name, got, reads)
		}
	}
	for _, m := range []string{
		adminv1.AdminService_ListHosts_FullMethodName, adminv1.AdminService_GetHost_FullMethodName,
		adminv1.AdminService_ListRules_FullMethodName, adminv1.AdminService_GetRule_FullMethodName,
		adminv1.AdminService_ListRevocations_FullMethodName,
	} {
		if !readOnly(m) {
			t.Errorf("a viewer may not call %s", m)
		}
	}
	if readOnly("/msg.admin.v1.AdminService/CreateHost") || readOnly("/other.Service/ListHosts") || readOnly("") {
		t.Error("a write or a foreign method counts as read-only")
	}
}
