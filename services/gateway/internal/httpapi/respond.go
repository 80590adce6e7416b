package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/gatewayapi"
	"github.com/quickchat-go/quickchat/services/gateway/internal/app"
	"github.com/quickchat-go/quickchat/services/gateway/internal/ratelimit"
)

// codeMethodNotAllowed is an HTTP-only code: the route exists but not with that method.
const codeMethodNotAllowed apperr.Code = "method_not_allowed"

var statusOf = map[apperr.Code]int{
	apperr.Invalid:       http.StatusBadRequest,
	apperr.Unauthorized:  http.StatusUnauthorized,
	apperr.Forbidden:     http.StatusForbidden,
	app.CodeBanned:       http.StatusForbidden,
	app.CodeRevoked:      http.StatusForbidden,
	apperr.NotFound:      http.StatusNotFound,
	codeMethodNotAllowed: http.StatusMethodNotAllowed,
	apperr.Conflict:      http.StatusConflict,
	apperr.TooLarge:      http.StatusRequestEntityTooLarge,
	apperr.RateLimited:   http.StatusTooManyRequests,
	apperr.Unavailable:   http.StatusServiceUnavailable,
	apperr.Internal:      http.StatusInternalServerError,
}

// writeError maps err to its status and the one JSON error shape (gatewayapi.ErrorBody),
// logging what clients must not see.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := apperr.CodeOf(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = apperr.Internal, http.StatusInternalServerError
	}
	if status >= 500 {
		s.Log.Error("request failed", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(err))
	}
	switch code {
	case apperr.Unauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="quickchat"`)
	case apperr.RateLimited:
		var ex *ratelimit.Exceeded
		if errors.As(err, &ex) {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ex.RetryAfter.Seconds()))))
		}
	}
	writeJSON(w, status, gatewayapi.ErrorBody{Error: gatewayapi.ErrorDetail{Code: string(code), Message: apperr.MessageOf(err)}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body strictly: the content type must be JSON, and unknown fields,
// trailing data and oversize bodies are errors with a clear message.
func decode(r *http.Request, v any) error {
	present, err := decodeOptional(r, v)
	if err == nil && !present {
		return apperr.New(apperr.Invalid, "request body is empty")
	}
	return err
}

// decodeOptional is decode for routes whose body may be absent; it reports whether there
// was one.
func decodeOptional(r *http.Request, v any) (bool, error) {
	if r.ContentLength == 0 {
		return false, nil
	}
	// Requiring a JSON content type also keeps plain HTML forms on other sites from
	// posting to us without a CORS preflight.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return false, apperr.New(apperr.Invalid, "Content-Type must be application/json")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return true, apperr.New(apperr.TooLarge, "request body exceeds %d bytes", tooBig.Limit)
		}
		return true, apperr.Wrap(err, apperr.Invalid, "cannot read the request body")
	}
	// JSON must be UTF-8 (RFC 8259). encoding/json would quietly turn invalid bytes into
	// U+FFFD, storing mangled names and making different invalid passwords hash alike.
	if !utf8.Valid(body) {
		return true, apperr.New(apperr.Invalid, "request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		switch {
		case errors.Is(err, io.EOF):
			return false, nil
		default:
			return true, apperr.Wrap(err, apperr.Invalid, "malformed JSON body: %s", jsonReason(err))
		}
	}
	if err := dec.Decode(new(json.RawMessage)); !errors.Is(err, io.EOF) {
		return true, apperr.New(apperr.Invalid, "request body has data after the JSON value")
	}
	return true, nil
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
