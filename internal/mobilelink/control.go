package mobilelink

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Handler is the link's control API, for test suites in other languages
// that run the mobilelink command. Serve it on loopback only: whoever
// reaches it can cut the link's connections.
//
//	GET  /config          the current Config as JSON
//	POST /config          set the fields of the JSON object in the body
//	                      (e.g. {"nat_idle_timeout":"2s"}); 400 names a bad field
//	POST /network-change  silence every open connection: {"silenced": N}
//	POST /reset           reset every open connection: {"reset": N}
//	GET  /stats           Stats as JSON
func (l *Link) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /config", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, l.Config())
	})
	mux.HandleFunc("POST /config", func(w http.ResponseWriter, r *http.Request) {
		cfg, err := UpdateConfig(l.Config(), r.Body)
		if err == nil {
			err = l.SetConfig(cfg)
		}
		if err != nil {
			msg := map[string]string{"error": err.Error()}
			if fe, ok := errors.AsType[*FieldError](err); ok {
				msg["field"] = fe.Field
			}
			writeJSON(w, http.StatusBadRequest, msg)
			return
		}
		writeJSON(w, http.StatusOK, cfg)
	})
	mux.HandleFunc("POST /network-change", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]int{"silenced": l.NetworkChange()})
	})
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]int{"reset": l.Reset()})
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, l.Stats())
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
