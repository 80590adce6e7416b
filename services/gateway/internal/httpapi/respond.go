package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/apperr"
)

// errorBody is the one JSON error shape every route returns.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    apperr.Code `json:"code"`
	Message string      `json:"message"`
}

var statusOf = map[apperr.Code]int{
	apperr.Invalid:      http.StatusBadRequest,
	apperr.Unauthorized: http.StatusUnauthorized,
	apperr.Forbidden:    http.StatusForbidden,
	apperr.NotFound:     http.StatusNotFound,
	apperr.Conflict:     http.StatusConflict,
	apperr.RateLimited:  http.StatusTooManyRequests,
	apperr.TooLarge:     http.StatusRequestEntityTooLarge,
	apperr.Unavailable:  http.StatusServiceUnavailable,
	apperr.Internal:     http.StatusInternalServerError,
}

// writeError maps err to its status and the JSON error shape, logging what clients
// must not see.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := apperr.CodeOf(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = apperr.Internal, http.StatusInternalServerError
	}
	if status >= 500 {
		s.Log.Error("request failed", zap.String("path", r.URL.Path), zap.Error(err))
	}
	if code == apperr.Unauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="quickchat"`)
	}
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: apperr.MessageOf(err)}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body strictly: unknown fields, trailing data and oversize bodies are
// errors with a clear message.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return apperr.New(apperr.TooLarge, "request body exceeds %d bytes", tooBig.Limit)
		case errors.Is(err, io.EOF):
			return apperr.New(apperr.Invalid, "request body is empty")
		default:
			return apperr.Wrap(err, apperr.Invalid, "malformed JSON body: %s", jsonReason(err))
		}
	}
	if dec.More() {
		return apperr.New(apperr.Invalid, "request body has data after the JSON value")
	}
	return nil
}

func jsonReason(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q must be %s", typ.Field, typ.Type)
	default:
		return err.Error()
	}
}
