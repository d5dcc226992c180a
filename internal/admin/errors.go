package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/tidegate/tidegate/internal/store"
)

// apiError is an error answer: {"error":{"message","type","code","param"}}.
type apiError struct {
	Status  int    `json:"-"`
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    string `json:"code"`
	Param   string `json:"param,omitempty"` // the offending field or query parameter
}

func (e *apiError) Error() string { return e.Message }

func errf(status int, typ, code, msg string) *apiError {
	return &apiError{Status: status, Type: typ, Code: code, Message: msg}
}

// invalid is a 400 about one field or query parameter.
func invalid(param, format string, args ...any) *apiError {
	return &apiError{
		Status:  http.StatusBadRequest,
		Type:    "invalid_request_error",
		Code:    "invalid_field",
		Param:   param,
		Message: param + ": " + fmt.Sprintf(format, args...),
	}
}

func notFound(what, id string) *apiError {
	return errf(http.StatusNotFound, "not_found_error", "not_found", fmt.Sprintf("%s %q not found", what, id))
}

func conflict(msg string) *apiError {
	return errf(http.StatusConflict, "conflict_error", "conflict", msg)
}

// storeError maps a store error to an answer: not found → 404, conflict →
// 409, anything else → 500 (logged, with a generic message).
func (h *handler) storeError(w http.ResponseWriter, r *http.Request, err error, what, id string) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, notFound(what, id))
	case errors.Is(err, store.ErrStale):
		writeError(w, conflict(fmt.Sprintf("%s %s was changed by another request while this one was applied; read it again and retry", what, id)))
	case errors.Is(err, store.ErrConflict):
		writeError(w, conflict(fmt.Sprintf("%s conflicts with an existing one (duplicate id or name): %v", what, err)))
	default:
		if r.Context().Err() != nil {
			return // the caller went away
		}
		h.log.Error("admin: store failure", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, errf(http.StatusInternalServerError, "api_error", "store_error", "internal error in the store; see the gateway log"))
	}
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Status, struct {
		Error *apiError `json:"error"`
	}{e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"message":"cannot encode the response","type":"api_error","code":"encode_error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
