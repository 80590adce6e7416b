package stats

// maxTrackedGap bounds how many skipped offsets one receiver remembers individually; a
// larger jump is only counted (as lost), which is all a report needs once things are that
// wrong.
const maxTrackedGap = 1 << 16

// Sequence follows what one receiver got of one room. Offsets of a room count up by one
// within an epoch and every receiver must get each offset after its join exactly once, in
// order; Sequence counts what deviates. It is not safe for concurrent use.
type Sequence struct {
	// Epoch is the room epoch the receiver is in.
	Epoch string
	// Start is the room position at the receiver's first join: later offsets are expected.
	Start uint64
	// Last is the highest offset received (or skipped to by a reset).
	Last uint64
	// Received counts distinct messages received after Start.
	Received uint64
	// Duplicates counts messages received again.
	Duplicates uint64
	// OutOfOrder counts messages that arrived after a later one.
	OutOfOrder uint64
	// Resets counts reset frames and epoch changes: continuity the server gave up on.
	Resets uint64

	missing  map[uint64]struct{} // offsets skipped and not (yet) received
	overflow uint64              // skipped offsets too many to remember
	joined   bool
}

// Join sets the position of the receiver's first join; later joins (with recovery) keep
// the sequence going and must not call it again.
func (s *Sequence) Join(epoch string, offset uint64) {
	if s.joined {
		return
	}
	s.joined = true
	s.Epoch, s.Start, s.Last = epoch, offset, offset
}

// Message accounts a message frame at (epoch, offset) and reports whether it is new to
// this receiver (a duplicate is not).
func (s *Sequence) Message(epoch string, offset uint64) bool {
	switch {
	case epoch != s.Epoch:
		// A new epoch: the server lost the room's history. Nothing before can be counted
		// against the new offsets any more.
		s.Resets++
		s.Epoch, s.Last = epoch, offset
		s.Received++
		return true
	case offset == s.Last+1:
		s.Last = offset
		s.Received++
		return true
	case offset > s.Last+1:
		s.skip(s.Last+1, offset)
		s.Last = offset
		s.Received++
		return true
	}
	if _, ok := s.missing[offset]; ok {
		delete(s.missing, offset)
		s.OutOfOrder++
		s.Received++
		return true
	}
	s.Duplicates++
	return false
}

// Reset accounts a reset frame: the server says messages up to (epoch, offset) will not
// come. Those not received yet are lost.
func (s *Sequence) Reset(epoch string, offset uint64) {
	s.Resets++
	if epoch != s.Epoch {
		s.Epoch, s.Last = epoch, offset
		return
	}
	if offset > s.Last {
		s.skip(s.Last+1, offset+1)
		s.Last = offset
	}
}

// skip remembers offsets [from, to) as not received.
func (s *Sequence) skip(from, to uint64) {
	if to-from > maxTrackedGap {
		s.overflow += to - from
		return
	}
	if s.missing == nil {
		s.missing = make(map[uint64]struct{})
	}
	for o := from; o < to; o++ {
		s.missing[o] = struct{}{}
	}
}

// Lost counts the messages up to final (the room's last published offset) that never
// arrived.
func (s *Sequence) Lost(final uint64) uint64 {
	lost := uint64(len(s.missing)) + s.overflow
	if final > s.Last {
		lost += final - s.Last
	}
	return lost
}

// Expected is how many messages the receiver should have got when final is the room's
// last published offset.
func (s *Sequence) Expected(final uint64) uint64 {
	return max(final, s.Last) - s.Start
}
