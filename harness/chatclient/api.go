package chatclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// API calls the gateway's JSON API.
type API struct {
	// BaseURL is the gateway's base URL, e.g. http://127.0.0.1:8080.
	BaseURL string
	// HTTP is the client used (default: 30 s timeout).
	HTTP *http.Client
}

// NewAPI returns an API client for the gateway at baseURL.
func NewAPI(baseURL string) *API {
	return &API{BaseURL: baseURL, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// APIError is a non-2xx answer of the gateway.
type APIError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("gateway: %d %s: %s", e.Status, e.Code, e.Message)
}

// Session is a signed-in account.
type Session struct {
	User struct {
		ID    string `json:"id"`
		Email string `json:"email"`
		Name  string `json:"name"`
	} `json:"user"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// Group is a chat group as the gateway returns it.
type Group struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	OwnerID string `json:"owner_id"`
}

// Membership is the answer to joining a group: a member token for the realtime service.
type Membership struct {
	Group  Group `json:"group"`
	Member struct {
		ID          string `json:"id"`
		DisplayName string `json:"display_name"`
	} `json:"member"`
	Token       string `json:"token"`
	ExpiresIn   int    `json:"expires_in"`
	RealtimeURL string `json:"realtime_url"`
}

// StoredMessage is a message from the history endpoint.
type StoredMessage struct {
	ID          string    `json:"id"`
	GroupID     string    `json:"group_id"`
	SenderID    string    `json:"sender_id"`
	SenderName  string    `json:"sender_name"`
	ClientMsgID string    `json:"client_msg_id"`
	Body        string    `json:"body"`
	CreatedAt   time.Time `json:"created_at"`
}

// HistoryPage is one page of a group's history, oldest first.
type HistoryPage struct {
	Messages []StoredMessage `json:"messages"`
	HasMore  bool            `json:"has_more"`
}

// Register creates an account and signs it in.
func (a *API) Register(ctx context.Context, email, password, name string) (Session, error) {
	var s Session
	err := a.do(ctx, http.MethodPost, "/api/auth/register", "", map[string]string{"email": email, "password": password, "name": name}, &s)
	return s, err
}

// Login signs an account in.
func (a *API) Login(ctx context.Context, email, password string) (Session, error) {
	var s Session
	err := a.do(ctx, http.MethodPost, "/api/auth/login", "", map[string]string{"email": email, "password": password}, &s)
	return s, err
}

// CreateGroup creates a passcode-protected group owned by the signed-in account.
func (a *API) CreateGroup(ctx context.Context, accessToken, title, passcode string) (Group, error) {
	var g Group
	err := a.do(ctx, http.MethodPost, "/api/chat-group", accessToken, map[string]string{"title": title, "passcode": passcode}, &g)
	return g, err
}

// Join joins a group with a display name and its passcode; accessToken may be empty (a
// guest) or an account's token.
func (a *API) Join(ctx context.Context, groupID, name, passcode, accessToken string) (Membership, error) {
	var m Membership
	err := a.do(ctx, http.MethodPost, "/api/chat-group/"+url.PathEscape(groupID)+"/join", accessToken, map[string]string{"name": name, "passcode": passcode}, &m)
	return m, err
}

// RenewMemberToken exchanges a still-valid member (or member account's access) token for
// a fresh member token.
func (a *API) RenewMemberToken(ctx context.Context, groupID, token string) (Membership, error) {
	var m Membership
	err := a.do(ctx, http.MethodPost, "/api/chat-group/"+url.PathEscape(groupID)+"/token", token, nil, &m)
	return m, err
}

// History returns one page of a group's messages. With empty cursors it is the newest page;
// before pages back and after pages forward (message ids).
func (a *API) History(ctx context.Context, groupID, token, before, after string, limit int) (HistoryPage, error) {
	q := url.Values{}
	if before != "" {
		q.Set("before", before)
	}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/api/chats/" + url.PathEscape(groupID)
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var p HistoryPage
	err := a.do(ctx, http.MethodGet, path, token, nil, &p)
	return p, err
}

// AllHistory pages forward through a group's whole history.
func (a *API) AllHistory(ctx context.Context, groupID, token string) ([]StoredMessage, error) {
	var all []StoredMessage
	after := "00000000-0000-0000-0000-000000000000"
	for {
		p, err := a.History(ctx, groupID, token, "", after, 100)
		if err != nil {
			return nil, err
		}
		all = append(all, p.Messages...)
		if !p.HasMore || len(p.Messages) == 0 {
			return all, nil
		}
		after = p.Messages[len(p.Messages)-1].ID
	}
}

func (a *API) do(ctx context.Context, method, path, bearer string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("chatclient: encode body: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.BaseURL+path, rd)
	if err != nil {
		return fmt.Errorf("chatclient: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("chatclient: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("chatclient: read %s %s: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &APIError{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
		var eb struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &eb) == nil {
			e.Code, e.Message = eb.Error.Code, eb.Error.Message
		}
		return e
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("chatclient: decode %s %s: %w", method, path, err)
		}
	}
	return nil
}
