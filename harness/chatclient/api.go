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

	"github.com/quickchat-go/quickchat/pkg/gatewayapi"
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

// APIError is a non-2xx answer of the gateway: its status, the code and message of its
// gatewayapi.ErrorBody, and its Retry-After header.
type APIError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("gateway: %d %s: %s", e.Status, e.Code, e.Message)
}

// The gateway's bodies under this package's names; package gatewayapi declares them once
// for the gateway and every Go client.
type (
	// Session is a signed-in account with its tokens.
	Session = gatewayapi.Session
	// Group is a chat group as the gateway returns it.
	Group = gatewayapi.Group
	// GroupChange is a change of a group's title or passcode.
	GroupChange = gatewayapi.GroupChange
	// Membership is the answer to joining a group: a member token for the realtime service.
	Membership = gatewayapi.Membership
	// StoredMessage is a message from the history endpoint.
	StoredMessage = gatewayapi.Message
	// HistoryPage is one page of a group's history, oldest first.
	HistoryPage = gatewayapi.HistoryPage
	// JoinRequest is a join with a display name, the passcode and a guest's key.
	JoinRequest = gatewayapi.JoinRequest
	// MemberList is one page of a group's members.
	MemberList = gatewayapi.MemberList
	// GroupMember is a member as the member list shows it.
	GroupMember = gatewayapi.GroupMember
	// Ban is a ban of a former member.
	Ban = gatewayapi.Ban
)

// Register creates an account and signs it in. The gateway answers a registration the
// same whether or not the email is taken, so a taken email shows up as the sign-in's
// 401.
func (a *API) Register(ctx context.Context, email, password, name string) (Session, error) {
	var accepted gatewayapi.RegistrationAccepted
	if err := a.do(ctx, http.MethodPost, "/api/auth/register", "", gatewayapi.Credentials{Email: email, Password: password, Name: name}, &accepted); err != nil {
		return Session{}, err
	}
	return a.Login(ctx, email, password)
}

// Login signs an account in.
func (a *API) Login(ctx context.Context, email, password string) (Session, error) {
	var s Session
	err := a.do(ctx, http.MethodPost, "/api/auth/login", "", gatewayapi.Credentials{Email: email, Password: password}, &s)
	return s, err
}

// CreateGroup creates a passcode-protected group owned by the signed-in account.
func (a *API) CreateGroup(ctx context.Context, accessToken, title, passcode string) (Group, error) {
	var g Group
	err := a.do(ctx, http.MethodPost, "/api/chat-group", accessToken, gatewayapi.NewGroup{Title: title, Passcode: passcode}, &g)
	return g, err
}

// UpdateGroup changes a group's title or passcode (nil fields stay as they are); only its
// owner may.
func (a *API) UpdateGroup(ctx context.Context, accessToken, groupID string, change GroupChange) (Group, error) {
	var g Group
	err := a.do(ctx, http.MethodPut, "/api/chat-group/"+url.PathEscape(groupID), accessToken, change, &g)
	return g, err
}

// Join joins a group with a display name and its passcode; accessToken may be empty (a
// guest) or an account's token.
func (a *API) Join(ctx context.Context, groupID, name, passcode, accessToken string) (Membership, error) {
	var m Membership
	err := a.do(ctx, http.MethodPost, "/api/chat-group/"+url.PathEscape(groupID)+"/join", accessToken, gatewayapi.JoinRequest{Name: name, Passcode: passcode}, &m)
	return m, err
}

// JoinWith joins a group with the whole join request, e.g. a guest's key from an earlier
// join; accessToken may be empty (a guest) or an account's token.
func (a *API) JoinWith(ctx context.Context, groupID string, in JoinRequest, accessToken string) (Membership, error) {
	var m Membership
	err := a.do(ctx, http.MethodPost, "/api/chat-group/"+url.PathEscape(groupID)+"/join", accessToken, in, &m)
	return m, err
}

// Members returns one page of a group's members in joining order: up to limit (0: the
// gateway's default) after cursor (empty: the first page). The owner's token also gets
// the owner-only fields.
func (a *API) Members(ctx context.Context, groupID, token, cursor string, limit int) (MemberList, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/api/chat-group/" + url.PathEscape(groupID) + "/members"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var l MemberList
	err := a.do(ctx, http.MethodGet, path, token, nil, &l)
	return l, err
}

// RemoveMember ends a member's membership; only the owner may. The member may join again
// with the passcode.
func (a *API) RemoveMember(ctx context.Context, groupID, ownerToken, memberID string) error {
	return a.do(ctx, http.MethodDelete, "/api/chat-group/"+url.PathEscape(groupID)+"/members/"+url.PathEscape(memberID), ownerToken, nil, nil)
}

// BanMember removes a member and bans its account or guest key; only the owner may.
func (a *API) BanMember(ctx context.Context, groupID, ownerToken, memberID string) (Ban, error) {
	var b Ban
	err := a.do(ctx, http.MethodPost, "/api/chat-group/"+url.PathEscape(groupID)+"/bans", ownerToken, gatewayapi.NewBan{MemberID: memberID}, &b)
	return b, err
}

// Bans lists a group's bans; only the owner may.
func (a *API) Bans(ctx context.Context, groupID, ownerToken string) ([]Ban, error) {
	var l gatewayapi.BanList
	err := a.do(ctx, http.MethodGet, "/api/chat-group/"+url.PathEscape(groupID)+"/bans", ownerToken, nil, &l)
	return l.Bans, err
}

// Unban lifts a ban; only the owner may.
func (a *API) Unban(ctx context.Context, groupID, ownerToken, banID string) error {
	return a.do(ctx, http.MethodDelete, "/api/chat-group/"+url.PathEscape(groupID)+"/bans/"+url.PathEscape(banID), ownerToken, nil, nil)
}

// Leave ends the caller's own membership: token is its member token, or the access
// token of an account that is a member.
func (a *API) Leave(ctx context.Context, groupID, token string) error {
	return a.do(ctx, http.MethodPost, "/api/chat-group/"+url.PathEscape(groupID)+"/leave", token, nil, nil)
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
		var eb gatewayapi.ErrorBody
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
