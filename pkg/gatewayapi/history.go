package gatewayapi

// Message is a stored chat message as GET /api/chats/{id} returns it.
type Message struct {
	ID          string `json:"id"`
	GroupID     string `json:"group_id"`
	SenderID    string `json:"sender_id"`
	SenderName  string `json:"sender_name"`
	ClientMsgID string `json:"client_msg_id"`
	Body        string `json:"body"`
	CreatedAt   Time   `json:"created_at"`
	// SenderGuest is true when the sender is a guest (a member without an account).
	SenderGuest bool `json:"sender_guest"`
}

// HistoryPage is the answer to GET /api/chats/{id}: one page of a group's messages in
// ascending id order.
type HistoryPage struct {
	Messages []Message `json:"messages"`
	// HasMore says whether more messages exist in the paging direction (older without a
	// cursor or with before, newer with after).
	HasMore bool `json:"has_more"`
}
