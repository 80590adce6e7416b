package node

// Quota is a limit on what one member may do in a room, shared by every instance: a token
// bucket of Burst units that refills at Rate units per second. The broker keeps the bucket
// next to the room's other state and charges it in the same step as the work it pays
// for, so checking it costs no extra round trip.
type Quota struct {
	// Name says what is limited (QuotaSend, QuotaTyping, QuotaReplay); the bucket is
	// per room, name and member.
	Name string
	// Member is whose bucket is charged.
	Member string
	// Rate is how many units per second the bucket refills; zero means no limit.
	Rate float64
	// Burst is the bucket's size in units: what a member who has been quiet may spend at
	// once.
	Burst float64
}

// Quota names.
const (
	// QuotaSend counts messages a member sends (each new client message id is one).
	QuotaSend = "send"
	// QuotaTyping counts typing events a member publishes.
	QuotaTyping = "typing"
	// QuotaReplay counts bytes of message frames a member has replayed on joins.
	QuotaReplay = "replay"
)

// Limited reports whether q limits anything.
func (q Quota) Limited() bool { return q.Rate > 0 && q.Member != "" }
