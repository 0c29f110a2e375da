package admin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/go-openapi/loads"
	spec2 "github.com/go-openapi/spec"
	"github.com/go-openapi/strfmt"
	specvalidate "github.com/go-openapi/validate"
)

// TestOpenAPIDocumentValidates fetches /openapi.json from a running admin
// handler and validates it as an OpenAPI 2 (Swagger) document with go-openapi,
// the validator go-swagger uses.
func TestOpenAPIDocumentValidates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, err := http.Get(e.url + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := loads.Analyzed(json.RawMessage(raw), "2.0")
	if err != nil {
		t.Fatalf("loading the document: %v", err)
	}
	if err := specvalidate.Spec(doc, strfmt.Default); err != nil {
		t.Fatalf("/openapi.json is not a valid OpenAPI 2 document: %v", err)
	}
	for _, p := range []string{"/v1/hosts", "/v1/rules", "/v1/revocations", "/v1/audit", "/v1/status", "/v1/policy:evaluate"} {
		if _, ok := doc.Spec().Paths.Paths[p]; !ok {
			t.Errorf("the document has no path %s", p)
		}
	}

	// What a client generator needs to work without hand edits: a title and
	// version, the bearer scheme declared and required, and every operation
	// with a unique, plain id and a description from the proto comments.
	spec := doc.Spec()
	if spec.Info == nil || spec.Info.Title != "msg admin API" || spec.Info.Version != "v1" {
		t.Errorf("info: %+v, want title \"msg admin API\" and version v1", spec.Info)
	}
	if sd := spec.SecurityDefinitions["bearer"]; sd == nil || sd.Type != "apiKey" || sd.In != "header" || sd.Name != "Authorization" {
		t.Errorf("securityDefinitions.bearer = %+v, want an apiKey in the Authorization header", sd)
	}
	if len(spec.Security) != 1 || spec.Security[0]["bearer"] == nil {
		t.Errorf("security = %v, want the bearer scheme applied to every operation", spec.Security)
	}
	ids := map[string]string{}
	for path, item := range spec.Paths.Paths {
		for method, op := range map[string]*spec2.Operation{"GET": item.Get, "POST": item.Post, "PATCH": item.Patch, "DELETE": item.Delete, "PUT": item.Put} {
			if op == nil {
				continue
			}
			where := method + " " + path
			if op.ID == "" || strings.ContainsAny(op.ID, "_.") {
				t.Errorf("%s: operationId %q, want a plain name such as ListHosts", where, op.ID)
			}
			if prev, dup := ids[op.ID]; dup {
				t.Errorf("%s: operationId %q also used by %s", where, op.ID, prev)
			}
			ids[op.ID] = where
			if strings.TrimSpace(op.Summary+op.Description) == "" {
				t.Errorf("%s: no description", where)
			}
		}
	}
	if len(ids) < 16 {
		t.Errorf("%d operations, want every AdminService method", len(ids))
	}
}
