package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/kvpack/kvpack/internal/scheduler"
)

// apiError is an error answered in OpenAI's shape:
// {"error": {"message", "type", "param", "code"}} with an HTTP status.
type apiError struct {
	Status  int     `json:"-"`
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Message) }

// Error codes kvpack answers with.
const (
	codeInvalidJSON     = "invalid_json"
	codeInvalidType     = "invalid_type"
	codeInvalidValue    = "invalid_value"
	codeUnsupported     = "unsupported_parameter"
	codeContextLength   = "context_length_exceeded"
	codeKVTooSmall      = "kv_cache_too_small"
	codeModelNotFound   = "model_not_found"
	codeInvalidAPIKey   = "invalid_api_key"
	codeTooLarge        = "request_too_large"
	codeRateLimit       = "rate_limit_exceeded"
	codeNotFound        = "not_found"
	codeMethod          = "method_not_allowed"
	codeUnavailable     = "service_unavailable"
	codeInternal        = "internal_error"
	typeInvalidRequest  = "invalid_request_error"
	typeAuthentication  = "authentication_error"
	typeRateLimit       = "rate_limit_error"
	typeServer          = "server_error"
	typeNotFound        = "not_found_error"
	maxErrorMessageSize = 1000
)

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// invalid is a 400 invalid_request_error about param.
func invalid(code, param, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Code: strp(code), Param: strp(param),
		Message: fmt.Sprintf(format, args...)}
}

// writeError sends e as JSON.
func writeError(w http.ResponseWriter, e *apiError) {
	if len(e.Message) > maxErrorMessageSize {
		e.Message = e.Message[:maxErrorMessageSize] + "..."
	}
	if e.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, e.Status, map[string]*apiError{"error": e})
}

// writeJSON sends v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"message":"encoding the response failed","type":"server_error","param":null,"code":"internal_error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// decodeError maps a JSON decoding error of the request body.
func decodeError(err error) *apiError {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	var fe *fieldError
	switch {
	case errors.As(err, &tooBig):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Type: typeInvalidRequest, Code: strp(codeTooLarge),
			Message: fmt.Sprintf("request body larger than %d bytes", tooBig.Limit)}
	case errors.As(err, &fe):
		return invalid(codeInvalidType, fe.field, "invalid type for '%s': %s", fe.field, fe.msg)
	case errors.As(err, &typ):
		field := strings.TrimPrefix(typ.Field, "commonParams.") // the embedded struct's Go name
		if field == "" {
			return invalid(codeInvalidJSON, "", "the request body must be a JSON object, got %s", typ.Value)
		}
		return invalid(codeInvalidType, field, "invalid type for '%s': expected %s, got %s", field, jsonKind(typ.Type.String()), typ.Value)
	case errors.As(err, &syn), errors.Is(err, errEmptyBody), strings.Contains(err.Error(), "unexpected EOF"):
		return invalid(codeInvalidJSON, "", "could not parse the JSON body of the request: %v", err)
	}
	return invalid(codeInvalidJSON, "", "could not parse the JSON body of the request: %v", err)
}

// jsonKind names a Go type the way a JSON user thinks of it.
func jsonKind(goType string) string {
	switch {
	case strings.Contains(goType, "int"):
		return "an integer"
	case strings.Contains(goType, "float"):
		return "a number"
	case strings.Contains(goType, "bool"):
		return "a boolean"
	case strings.Contains(goType, "string"):
		return "a string"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	}
	return "an object"
}

// engineError maps a Submit error; promptParam names the request's prompt
// field ("prompt" or "messages").
func engineError(err error, promptParam string) *apiError {
	switch {
	case errors.Is(err, scheduler.ErrContextLength):
		return invalid(codeContextLength, promptParam, "%v", err)
	case errors.Is(err, scheduler.ErrTooLarge):
		return invalid(codeKVTooSmall, promptParam, "%v", err)
	case errors.Is(err, scheduler.ErrQueueFull):
		return &apiError{Status: http.StatusTooManyRequests, Type: typeRateLimit, Code: strp(codeRateLimit), Message: err.Error()}
	case errors.Is(err, scheduler.ErrClosed):
		return &apiError{Status: http.StatusServiceUnavailable, Type: typeServer, Code: strp(codeUnavailable), Message: err.Error()}
	case errors.Is(err, scheduler.ErrInvalid):
		param := ""
		if strings.Contains(err.Error(), "kv_compression") {
			param = "kv_compression"
		}
		return invalid(codeInvalidValue, param, "%v", err)
	}
	return &apiError{Status: http.StatusInternalServerError, Type: typeServer, Code: strp(codeInternal), Message: err.Error()}
}
