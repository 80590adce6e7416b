package gatewayapi

// ErrorBody is the body of every error response:
// {"error": {"code": "not_found", "message": "group not found"}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong. Code is one of pkg/apperr's codes or
// "method_not_allowed"; Message is safe to show to people.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
