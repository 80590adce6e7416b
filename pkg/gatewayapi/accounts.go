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

// RegistrationAccepted is the answer to POST /api/auth/register, the same whether the
// email was free (the account now exists) or taken (nothing changed), so registering
// reveals nothing about other people's accounts. Clients sign in next.
type RegistrationAccepted struct {
	Message string `json:"message"`
}

// Session is the answer to login and refresh: a signed-in account with its access token.
// The refresh token never appears in a body: it travels only in the HttpOnly qc_refresh
// cookie, out of reach of scripts.
type Session struct {
	User User `json:"user"`
	// AccessToken is a JWT for the Authorization header, valid for ExpiresIn seconds.
	AccessToken string `json:"access_token"`
	// TokenType is always "Bearer".
	TokenType string `json:"token_type"`
	ExpiresIn int    `json:"expires_in"`
	// RefreshExpiresAt is when the refresh cookie expires: after the refresh token's
	// lifetime unused, and never after the session's absolute end.
	RefreshExpiresAt Time `json:"refresh_expires_at"`
}
