package gatewayapi

// Message is a stored chat message as GET /api/chats/{id} returns it. A message the room's
// owner deleted stays in history as a tombstone: Body is empty and DeletedAt and DeletedBy
// are set (both are omitted while the message is not deleted).
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
	// DeletedAt is when the message was deleted.
	DeletedAt *Time `json:"deleted_at,omitempty"`
	// DeletedBy is the member id of whoever deleted the message.
	DeletedBy string `json:"deleted_by,omitempty"`
	// Attachments are the files the message carries, checked by the gateway; omitted
	// when there are none and for deleted messages.
	Attachments []Attachment `json:"attachments,omitempty"`
}

// HistoryPage is the answer to GET /api/chats/{id}: one page of a group's messages in
// ascending id order.
type HistoryPage struct {
	Messages []Message `json:"messages"`
	// HasMore says whether more messages exist in the paging direction (older without a
	// cursor or with before, newer with after).
	HasMore bool `json:"has_more"`
}
