package httpapi

import (
	"github.com/quickchat-go/quickchat/pkg/gatewayapi"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/services/gateway/internal/app"
	"github.com/quickchat-go/quickchat/services/gateway/internal/session"
)

// The functions below turn what the use cases return into the response bodies of
// package gatewayapi; gatewayapi.Time gives every instant its one format.

func userOut(u store.User) gatewayapi.User {
	return gatewayapi.User{ID: u.ID.String(), Email: u.Email, Name: u.Name, CreatedAt: gatewayapi.NewTime(u.CreatedAt)}
}

// sessionOut never carries the refresh token: it travels only in the HttpOnly cookie.
func sessionOut(sess session.Session) gatewayapi.Session {
	return gatewayapi.Session{
		User: userOut(sess.User), AccessToken: sess.AccessToken, TokenType: "Bearer",
		ExpiresIn: int(sess.AccessTTL.Seconds()), RefreshExpiresAt: gatewayapi.NewTime(sess.RefreshExpiresAt),
	}
}

// groupOut never carries the passcode or its hash.
func groupOut(g store.Group) gatewayapi.Group {
	return gatewayapi.Group{
		ID: g.ID.String(), Title: g.Title, OwnerID: g.OwnerID.String(),
		CreatedAt: gatewayapi.NewTime(g.CreatedAt), UpdatedAt: gatewayapi.NewTime(g.UpdatedAt),
	}
}

func memberOut(m store.Member) gatewayapi.Member {
	return gatewayapi.Member{ID: m.ID.String(), DisplayName: m.DisplayName, IsGuest: m.Guest(), JoinedAt: gatewayapi.NewTime(m.CreatedAt)}
}

func (s *Server) membershipOut(t app.MemberToken) gatewayapi.Membership {
	return gatewayapi.Membership{
		Group: groupOut(t.Group), Member: memberOut(t.Member), Token: t.Token,
		ExpiresIn: int(t.TTL.Seconds()), RealtimeURL: s.RealtimeURL,
		Guest: t.Member.Guest(), GuestKey: t.GuestKey,
	}
}

// memberListOut carries the owner-only fields only when the page has them.
func memberListOut(p app.MemberPage) gatewayapi.MemberList {
	return gatewayapi.MemberList{
		NextCursor: p.NextCursor,
		Members: listOut(p.Members, func(m app.ListedMember) gatewayapi.GroupMember {
			out := gatewayapi.GroupMember{
				MemberID: m.ID.String(), Name: m.DisplayName, Guest: m.Guest(), Owner: m.Owner,
				JoinedAt: gatewayapi.NewTime(m.CreatedAt),
			}
			if p.Private {
				seen, online, count := gatewayapi.NewTime(m.LastSeenAt), m.Online, m.Messages
				out.LastSeenAt, out.Online, out.MessageCount = &seen, &online, &count
			}
			return out
		}),
	}
}

// banOut never carries the guest key hash.
func banOut(b store.Ban) gatewayapi.Ban {
	return gatewayapi.Ban{BanID: b.ID.String(), Name: b.DisplayName, Guest: b.Guest(), CreatedAt: gatewayapi.NewTime(b.CreatedAt)}
}

func messageOut(m store.Message) gatewayapi.Message {
	out := gatewayapi.Message{
		ID: m.ID.String(), GroupID: m.GroupID.String(), SenderID: m.SenderID.String(), SenderName: m.SenderName,
		ClientMsgID: m.ClientMsgID, Body: m.Body, CreatedAt: gatewayapi.NewTime(m.CreatedAt), SenderGuest: m.SenderGuest,
	}
	if m.DeletedAt != nil {
		// The store clears a deleted message's body already; history never shows one.
		at := gatewayapi.NewTime(*m.DeletedAt)
		out.Body, out.DeletedAt = "", &at
		if m.DeletedBy.Valid {
			out.DeletedBy = m.DeletedBy.UUID.String()
		}
	} else if len(m.Attachments) > 0 {
		out.Attachments = listOut(m.Attachments, attachmentOut)
	}
	return out
}

// listOut converts every element, never returning nil, so empty lists encode as [].
func listOut[T, J any](in []T, out func(T) J) []J {
	res := make([]J, len(in))
	for i, v := range in {
		res[i] = out(v)
	}
	return res
}
