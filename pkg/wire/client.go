package wire

// Client frame types. TypeTyping and TypePresence name server frames too: the typing
// event and the reply to a presence request.
const (
	TypeJoin     = "join"
	TypeLeave    = "leave"
	TypeSend     = "send"
	TypeDelete   = "delete"
	TypeTyping   = "typing"
	TypePresence = "presence"
	TypePing     = "ping"
)

// Head starts every frame, in both directions.
type Head struct {
	// Type says which frame this is, and so which other fields apply.
	Type string `json:"type"`
	// Ref is chosen by the client for a request and echoed in the reply, so clients can
	// match them.
	Ref string `json:"ref,omitempty"`
	// GroupID names the room (every frame but ping and pong).
	GroupID string `json:"group_id,omitempty"`
}

// ClientFrame is any frame a client sends; which fields apply depends on Type.
type ClientFrame struct {
	Head
	// Token is a member token from the gateway (join).
	Token string `json:"token,omitempty"`
	// Since is the position of the last message the client got, to recover what it
	// missed (join; nil for none).
	Since *Position `json:"since,omitempty"`
	// ClientMsgID is the sender's idempotency key (send, delete).
	ClientMsgID string `json:"client_msg_id,omitempty"`
	// Body is the message text (send); it may be empty when Attachments are given.
	Body string `json:"body,omitempty"`
	// Attachments are attachment references (the ref of the gateway's complete route) of
	// files the message carries (send; at most 4).
	Attachments []string `json:"attachments,omitempty"`
	// MessageID is the id of the message to delete (delete).
	MessageID string `json:"message_id,omitempty"`
}
