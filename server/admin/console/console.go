package console

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

// dist is the built console; `make console` writes it from web/ and
// `make test-console` fails when it is stale.
//
//go:embed all:dist
var dist embed.FS

// Prefix is where the console is served on the admin listener.
const Prefix = "/console/"

// ContentSecurityPolicy allows the console's own files and API calls to its
// own origin, nothing inline, nothing from elsewhere, no framing. Trusted
// Types refuse string-to-script sinks such as innerHTML, which the console
// never uses. Images may also be blob: URLs, which only the page's own
// script can make: the enrollment QR code is the PNG the API returns, shown
// from memory (data: URLs stay refused; markup could carry those).
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; " +
	"frame-ancestors 'none'; require-trusted-types-for 'script'"

type file struct {
	body        []byte
	contentType string
	immutable   bool
}

// Handler serves the console under [Prefix]: the page at Prefix itself and
// its content-hashed assets, each with strict security headers. Anything
// else under Prefix is 404; there are no directory listings.
func Handler() http.Handler {
	files := map[string]file{}
	_ = fs.WalkDir(dist, "dist", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := dist.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "dist/")
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		// Vite names assets by content hash: a new build is a new name.
		files[name] = file{body: body, contentType: ct, immutable: strings.HasPrefix(name, "assets/")}
		return nil
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, Prefix)
		if name == "" {
			name = "index.html"
		}
		f, ok := files[name]
		if !ok || name == "index.html" && r.URL.Path != Prefix {
			h.Set("Cache-Control", "no-store")
			http.NotFound(w, r)
			return
		}
		if f.immutable {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			// The page is tiny and must follow the binary's assets.
			h.Set("Cache-Control", "no-store")
		}
		h.Set("Content-Type", f.contentType)
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(f.body)
	})
}
