package admin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/go-openapi/loads"
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
	for _, p := range []string{"/v1/hosts", "/v1/rules", "/v1/revocations", "/v1/audit", "/v1/status"} {
		if _, ok := doc.Spec().Paths.Paths[p]; !ok {
			t.Errorf("the document has no path %s", p)
		}
	}
}
