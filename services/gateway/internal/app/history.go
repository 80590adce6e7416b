package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
)

// Page sizes of the history.
const (
	// DefaultHistoryLimit is the page size when the client names none.
	DefaultHistoryLimit = 50
	// MaxHistoryLimit is the largest page.
	MaxHistoryLimit = 100
)

// History pages through a group's stored messages.
type History struct {
	access   groupAccess
	messages MessageStore
}

// HistoryQuery picks a page of history.
type HistoryQuery struct {
	// Limit is the page size, 1 to MaxHistoryLimit.
	Limit int
	// Before pages back from a message id; After pages forward. At most one may be set;
	// with neither the newest page comes back.
	Before uuid.NullUUID
	After  uuid.NullUUID
}

// Page returns a page of a group's messages in ascending id order, to its members, and
// whether more messages exist in the paging direction (older without a cursor or with
// Before, newer with After).
func (h *History) Page(ctx context.Context, c Caller, groupID string, q HistoryQuery) ([]store.Message, bool, error) {
	g, err := h.access.visible(ctx, c, groupID, accessMember)
	if err != nil {
		return nil, false, err
	}
	if q.Limit < 1 || q.Limit > MaxHistoryLimit {
		return nil, false, apperr.New(apperr.Invalid, "limit must be an integer from 1 to %d", MaxHistoryLimit)
	}
	if q.Before.Valid && q.After.Valid {
		return nil, false, apperr.New(apperr.Invalid, "use either before or after, not both")
	}
	// One more than asked tells whether there are more.
	var rows []store.Message
	if q.After.Valid {
		rows, err = h.messages.MessagesAfter(ctx, g.ID, q.After.UUID, q.Limit+1)
	} else {
		cursor := uuid.Max
		if q.Before.Valid {
			cursor = q.Before.UUID
		}
		rows, err = h.messages.MessagesBefore(ctx, g.ID, cursor, q.Limit+1)
	}
	if err != nil {
		return nil, false, err
	}
	more := len(rows) > q.Limit
	page := make([]store.Message, 0, q.Limit)
	page = append(page, rows[:min(len(rows), q.Limit)]...)
	if !q.After.Valid {
		// Fetched newest first; clients always get ascending order.
		for i, j := 0, len(page)-1; i < j; i, j = i+1, j-1 {
			page[i], page[j] = page[j], page[i]
		}
	}
	return page, more, nil
}
