package faults

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Result is what one scenario showed.
type Result struct {
	Scenario Scenario
	Traffic  Traffic
	Members  int

	// Sent counts logical messages (client message ids); Acked those acknowledged;
	// Unacked those still unacknowledged when the drain deadline passed.
	Sent, Acked, Unacked int
	// ResendsRecognised counts acks flagged duplicate: resends the server matched to the
	// original message instead of creating another.
	ResendsRecognised int
	// Stored counts acknowledged messages found in PostgreSQL, Lost those not found,
	// DuplicatesStored extra rows for one message, IDMismatch messages stored under
	// another id than acknowledged, BodyMismatch messages stored with other bytes.
	Stored, Lost, DuplicatesStored, IDMismatch, BodyMismatch int

	// Deliveries is receivers × messages each should have got; Delivered arrived as
	// message frames (live or replayed), FromHistory were found in the gateway's history
	// by members the server told to reload, Missing reached a member neither way.
	Deliveries, Delivered, FromHistory, Missing int
	// DuplicateDeliveries counts frames of a message a member already had;
	// OrderViolations frames that did not follow the member's position by exactly one.
	DuplicateDeliveries, OrderViolations int
	// Connects counts connections joined; Rejoins joins with a position, of which
	// RecoveredJoins replayed what was missed (Replayed messages in all) and Unrecovered
	// answered recovered:false. Resets counts reset frames; DegradedMembers members that
	// were told to reload history either way.
	Connects, Rejoins, RecoveredJoins, Replayed, Unrecovered, Resets, DegradedMembers int
	// SendErrors counts failed send attempts by error code ("connection", "timeout" or
	// the code of an error frame); each was resent with the same client message id.
	SendErrors map[string]int

	// FaultDuration is from injecting the fault to its end (the process or server back);
	// LongestAckWait the longest any member waited between two acks (its send path's
	// outage); StorageDelay the longest any acknowledged message waited before it was in
	// PostgreSQL (sampled every 250 ms: storage's outage); DeliveryWait how long members
	// needed after traffic stopped to reach their room's last position.
	FaultDuration, TrafficDuration, LongestAckWait, StorageDelay, DeliveryWait time.Duration
	DeliveryTimedOut                                                           bool

	Conflicts                                 []string
	LostSamples, MissingSamples, OrderSamples []string
	// Problems lists every broken guarantee; empty means the scenario passed.
	Problems []string
}

const maxSamples = 5

func (r *Result) sample(into *[]string, format string, args ...any) {
	if len(*into) < maxSamples {
		*into = append(*into, fmt.Sprintf(format, args...))
	}
}

// judge lists the broken guarantees. Storage is promised everywhere; seamless delivery
// only where the scenario is not Degraded; silent gaps, duplicates and disorder nowhere.
func (r *Result) judge() {
	add := func(cond bool, format string, args ...any) {
		if cond {
			r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
		}
	}
	add(r.Acked == 0, "no message was acknowledged")
	add(r.Unacked > 0, "%d messages were never acknowledged although resent until the drain deadline", r.Unacked)
	add(r.Lost > 0, "%d acknowledged messages are not stored: %s", r.Lost, strings.Join(r.LostSamples, "; "))
	add(r.DuplicatesStored > 0, "%d extra rows store a message twice", r.DuplicatesStored)
	add(r.BodyMismatch > 0, "%d messages were stored with other bytes or in another room than sent", r.BodyMismatch)
	add(r.IDMismatch > 0 && !r.Scenario.Degraded, "%d messages are stored under another id than their ack named", r.IDMismatch)
	add(len(r.Conflicts) > 0, "%d acks or deliveries disagree: %s", len(r.Conflicts), strings.Join(first(r.Conflicts, maxSamples), "; "))
	add(r.Missing > 0, "%d deliveries missing without the server saying so: %s", r.Missing, strings.Join(r.MissingSamples, "; "))
	add(r.DuplicateDeliveries > 0, "%d messages were delivered twice to the same member", r.DuplicateDeliveries)
	add(r.OrderViolations > 0, "%d message frames out of room order: %s", r.OrderViolations, strings.Join(r.OrderSamples, "; "))
	add(r.DegradedMembers > 0 && !r.Scenario.Degraded, "%d members were told to reload history where recovery is promised", r.DegradedMembers)
	add(r.DeliveryTimedOut && r.Missing == 0, "members had not reached their room's last position when the drain deadline passed")
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// Passed reports whether every guarantee held.
func (r *Result) Passed() bool { return len(r.Problems) == 0 }

// Report describes the run that produced a set of results.
type Report struct {
	// Command is how the report was produced, e.g. "make test-faults".
	Command string
	// Started and Took bound the run.
	Started time.Time
	Took    time.Duration
	// Environment describes the machine and the code, one line each.
	Environment []string
	Results     []*Result
	// Failed lists scenarios that could not be run at all, with the reason.
	Failed map[string]string
	// ShortScenarios and ShortTraffic describe the short version plain go test runs.
	ShortScenarios []string
	ShortTraffic   string
	// Abuse is the abuse section's result, when it ran; AbuseFailed says why it could
	// not, when it was asked for and did not.
	Abuse       *AbuseResult
	AbuseFailed string
}

// CIBudget is how long a test job may take in CI; a full run that fits runs there.
const CIBudget = 10 * time.Minute

// WriteMarkdown writes docs/reliability.md.
func (rep *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Reliability under faults\n\n")
	p("<!-- Written by %s (harness/faults); do not edit by hand. -->\n\n", rep.Command)
	p("What happens to chat messages when a process or a server of a running Quick Chat fails.\n")
	p("Every number below was measured by `%s` on %s (%s in all), on the real servers and\n", rep.Command, rep.Started.UTC().Format("2006-01-02 15:04 MST"), rep.Took.Round(time.Second))
	p("service binaries: two realtime instances, two persisters, one gateway, PostgreSQL, Redis and Kafka.\n\n")
	for _, e := range rep.Environment {
		p("- %s\n", e)
	}
	if len(rep.Results) > 0 {
		tr := rep.Results[0].Traffic
		p("- traffic per scenario: %d rooms × %d members, every member sending one message every %v on average (one at a time, each resent with the same client message id until acknowledged), %v before the fault and %v after it; members reconnect to any instance and rejoin with their last position\n",
			tr.Rooms, tr.MembersPerRoom, tr.SendInterval, tr.Before, tr.After)
	}
	p("\n## Where it runs\n\n")
	if rep.Took <= CIBudget {
		p("The full run took %s, within the %v budget for CI, so CI runs `make test-faults` in full. ", rep.Took.Round(time.Second), CIBudget)
	} else {
		p("The full run took %s, over the %v budget for CI, so CI runs only the short version. ", rep.Took.Round(time.Second), CIBudget)
	}
	p("`make test` (plain `go test`) also runs a short version on every run: %s, with %s, on the shared test servers.\n",
		strings.Join(rep.ShortScenarios, " and "), rep.ShortTraffic)

	if rep.Abuse != nil || rep.AbuseFailed != "" {
		p("The [abuse section](#abuse) runs only in the full run.\n")
	}

	p("\n## How to read this\n\n")
	p("- **acked**: messages whose sender got an `ack`. The promise: each is stored exactly once and reaches every member.\n")
	p("- **stored / lost / duplicated**: acknowledged messages found in PostgreSQL (read with SQL, compared byte for byte), not found, and stored more than once.\n")
	p("- **delivered**: receivers × messages, and how each arrived: as a `message` frame (live, or replayed on a rejoin with `since` — *after recovery*), or, for members the server told to reload (`reset` or `recovered: false`, the degraded path), from the gateway's history. **missing** counts deliveries that arrived neither way: a silent gap.\n")
	p("- **order**: every member's frames must follow its position by exactly one offset, and every member must get each message at the position its ack named (one order per room).\n")
	p("- **time to recover**: *longest ack wait* is the longest any sender waited between two acks (the send path's outage as a user sees it; normally about the send interval); *longest storage delay* is the longest any acknowledged message waited before it was in PostgreSQL (storage's outage; sampled every 250 ms).\n\n")

	if len(rep.Results)+len(rep.Failed) > 0 {
		p("## Summary\n\n")
		p("| scenario | acked | stored | lost | duplicated (stored / delivered) | delivered live | replayed after recovery | via history (degraded) | missing | out of order | longest ack wait | longest storage delay | result |\n")
		p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
		for _, r := range rep.Results {
			p("| [%s](#%s) | %d | %d | %d | %d / %d | %d | %d | %d | %d | %d | %s | %s | %s |\n",
				r.Scenario.Title, r.Scenario.Name, r.Acked, r.Stored, r.Lost, r.DuplicatesStored, r.DuplicateDeliveries,
				r.Delivered, r.Replayed, r.FromHistory, r.Missing, r.OrderViolations,
				seconds(r.LongestAckWait), seconds(r.StorageDelay), verdict(r))
		}
		for name, why := range rep.Failed {
			p("| %s | – | – | – | – | – | – | – | – | – | – | – | **not run**: %s |\n", name, oneLine(why))
		}
	}

	for _, r := range rep.Results {
		p("\n## %s\n\n<a id=\"%s\"></a>\n\n", r.Scenario.Title, r.Scenario.Name)
		if r.Scenario.Degraded {
			p("**Degraded by design.** ")
		}
		p("%s\n\n", r.Scenario.Note)
		p("| measure | value |\n| --- | ---: |\n")
		row := func(k string, v any) { p("| %s | %v |\n", k, v) }
		row("messages sent (client message ids)", r.Sent)
		row("acked", r.Acked)
		row("never acked by the drain deadline", r.Unacked)
		row("resends recognised as duplicates (same id and position returned)", r.ResendsRecognised)
		row("stored", r.Stored)
		row("lost", r.Lost)
		row("duplicated in storage", r.DuplicatesStored)
		row("stored under another id than acked", r.IDMismatch)
		row("stored with other bytes than sent", r.BodyMismatch)
		row("deliveries expected (members × messages)", r.Deliveries)
		row("delivered as frames", r.Delivered)
		row("delivered twice", r.DuplicateDeliveries)
		row("frames out of room order", r.OrderViolations)
		row("rejoins with a position", r.Rejoins)
		row("rejoins that recovered everything", r.RecoveredJoins)
		row("messages replayed after recovery", r.Replayed)
		row("rejoins answered recovered:false", r.Unrecovered)
		row("reset frames", r.Resets)
		row("members told to reload history (degraded path)", r.DegradedMembers)
		row("deliveries found in history by those members", r.FromHistory)
		row("deliveries missing", r.Missing)
		row("failed send attempts, resent", sendErrors(r.SendErrors))
		row("fault duration (inject → back)", seconds(r.FaultDuration))
		row("longest ack wait (send path recovered)", seconds(r.LongestAckWait))
		row("longest storage delay (storage recovered)", seconds(r.StorageDelay))
		row("members caught up after traffic stopped", seconds(r.DeliveryWait))
		if r.Passed() {
			p("\nResult: **every guarantee held.**\n")
		} else {
			p("\nResult: **FAILED**\n\n")
			for _, pr := range r.Problems {
				p("- %s\n", oneLine(pr))
			}
		}
	}
	if rep.Abuse != nil || rep.AbuseFailed != "" {
		writeAbuse(p, rep.Abuse, rep.AbuseFailed)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func verdict(r *Result) string {
	switch {
	case !r.Passed():
		return "**FAILED**"
	case r.DegradedMembers > 0:
		return fmt.Sprintf("held; %d members reloaded history", r.DegradedMembers)
	default:
		return "held"
	}
}

func seconds(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func sendErrors(m map[string]int) string {
	if len(m) == 0 {
		return "0"
	}
	var parts []string
	for _, c := range sortedCodes(m) {
		parts = append(parts, fmt.Sprintf("%d %s", m[c], c))
	}
	return strings.Join(parts, ", ")
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", "\\|")
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}
