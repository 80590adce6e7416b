package gatewayapi

// Credentials is the body of POST /api/auth/register and POST /api/auth/login. Name is
// the account's display name; only registration reads it.
type Credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name,omitempty"`
}

// User is an account: the answer to GET /api/auth/me and part of every Session.
type User struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	CreatedAt Time   `json:"created_at"`
}

// Session is the answer to register, login and refresh: a signed-in account with its
// tokens.
type Session struct {
	User User `json:"user"`
	// AccessToken is a JWT for the Authorization header, valid for ExpiresIn seconds.
	AccessToken string `json:"access_token"`
	// TokenType is always "Bearer".
	TokenType string `json:"token_type"`
	ExpiresIn int    `json:"expires_in"`
	// RefreshToken is empty when the refresh token travels in the HttpOnly cookie instead.
	RefreshToken     string `json:"refresh_token,omitempty"`
	RefreshExpiresAt Time   `json:"refresh_expires_at"`
}

// RefreshRequest is the body of POST /api/auth/refresh and POST /api/auth/logout. The body
// may be left out when the refresh token is in the cookie.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}
