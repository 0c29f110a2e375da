package admin

import (
	"net/http"

	"github.com/msg-gateway/msg/server/admin/console"
)

// mountConsole adds the web console and a redirect from its bare path.
func mountConsole(mux *http.ServeMux) {
	mux.Handle(console.Prefix, console.Handler())
	mux.Handle("GET /console", http.RedirectHandler(console.Prefix, http.StatusMovedPermanently))
}

// apiHeaders keeps admin data out of browser caches and out of content
// sniffing and framing, for the console and any other browser client.
func apiHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// sameOriginWrites refuses state-changing requests that a browser sends on
// behalf of another site (CSRF). A bearer token is never sent implicitly,
// but an admin client certificate is: a page elsewhere could otherwise make
// the browser of an admin who holds one POST to the API. Browsers mark such
// requests with Sec-Fetch-Site or an Origin that is not the API's;
// non-browser clients (msgctl, curl) send neither and pass.
func sameOriginWrites(next http.Handler) http.Handler {
	return http.NewCrossOriginProtection().Handler(next)
}
