package faults

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// writeAbuse writes the "Abuse" section of docs/reliability.md.
func writeAbuse(p func(string, ...any), a *AbuseResult, failed string) {
	p("\n## Abuse\n\n<a id=\"abuse\"></a>\n\n")
	if a == nil {
		p("The abuse section could not be run: %s\n", oneLine(failed))
		return
	}
	c := a.Config
	p("Can one user degrade everyone? Each attack below (issue 13's H1, M3 and M4) runs alone for %v while a second, well-behaved room keeps chatting and a probe signs in; an idle window of the same length is measured just before it, and the attack's leftovers get %v to settle before the next.\n\n", c.Window, c.Settle)
	p("- **well-behaved room**: %d guest members, each at its own loopback address, each sending a message every %v on average (about %.0f msg/s in all), over both realtime instances.\n",
		c.Members, c.SendInterval, float64(c.Members)/c.SendInterval.Seconds())
	p("- **send→deliver**: from a member's send to the message's arrival at each other member, both read from this process's clock; for messages first sent in the window.\n")
	p("- **sign-in**: one prepared account signs in with its password (`POST /api/auth/login`) every %v after the previous answer, from its own address; latency of the successful ones, refusals (429) and failures counted apart. A window holds a few dozen sign-ins, so their p99 is in effect the slowest. The run lifts the sign-in rate limits for this probe (it signs in far more often than any person); every other limit is at its default.\n", c.SignInInterval)
	p("- **attacker**: a user of its own (own room, own account, own address) that retries at once whatever is refused, so it goes as fast as the servers answer. It runs in the same process as the measurements and on the same machine as every server, so its own work (thousands of frames a second) weighs on the figures too. What it got and what was refused are read from the answers (frames, bytes, error codes, HTTP statuses), not assumed from the configured limits.\n")
	p("- **within 2×**: p99 send→deliver and p99 sign-in under attack are at most twice their idle values, and no sign-in was refused or failed. It is a measurement, not a test: the run fails only if the well-behaved room lost, duplicated or reordered a message. On a small shared machine the ratios are noisy; the load averages say how busy it was.\n\n")

	p("| abuse | what the attacker got | refused | room p50 idle → under | room p99 idle → under | room p99 ratio | sign-in p50 idle → under | sign-in p99 idle → under | sign-in p99 ratio | sign-ins refused / failed under | load avg idle / under | within 2× |\n")
	p("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n")
	for _, r := range a.Attacks {
		p("| [%s](#abuse-%s) | %s | %s | %s → %s | %s → %s | %s | %s → %s | %s → %s | %s | %d / %d | %s / %s | %s |\n",
			r.Attack.Title, r.Attack.Name, oneLine(r.Outcome.Got), oneLine(r.Outcome.Refused),
			millis(r.Idle.Room.P50, r.Idle.Room.N), millis(r.Under.Room.P50, r.Under.Room.N),
			millis(r.Idle.Room.P99, r.Idle.Room.N), millis(r.Under.Room.P99, r.Under.Room.N), times(r.RoomRatio()),
			millis(r.Idle.SignIn.P50, r.Idle.SignIn.N), millis(r.Under.SignIn.P50, r.Under.SignIn.N),
			millis(r.Idle.SignIn.P99, r.Idle.SignIn.N), millis(r.Under.SignIn.P99, r.Under.SignIn.N), times(r.SignInRatio()),
			r.Under.SignInRefused, r.Under.SignInFailed, loadOne(r.Idle.Load), loadOne(r.Under.Load), yesNo(r.WithinTwice()))
	}
	for _, name := range sortedKeys(a.Failed) {
		p("| %s | **not run**: %s | – | – | – | – | – | – | – | – | – | – |\n", name, oneLine(a.Failed[name]))
	}

	if r := a.Room; r != nil {
		p("\nThe well-behaved room across the whole section: %d messages acked, %d stored, %d lost, %d / %d duplicated (stored / delivered), %d of %d deliveries arrived, %d missing, %d out of order, %d members told to reload history, failed sends resent: %s. ",
			r.Acked, r.Stored, r.Lost, r.DuplicatesStored, r.DuplicateDeliveries, r.Delivered, r.Deliveries, r.Missing, r.OrderViolations, r.DegradedMembers, sendErrors(r.SendErrors))
		if r.Passed() {
			p("Result: **every guarantee held.**\n")
		} else {
			p("Result: **FAILED**\n\n")
			for _, pr := range r.Problems {
				p("- %s\n", oneLine(pr))
			}
		}
	}

	for _, r := range a.Attacks {
		p("\n### %s\n\n<a id=\"abuse-%s\"></a>\n\n%s\n\n", r.Attack.Title, r.Attack.Name, r.Attack.Note)
		p("| measure | idle | under attack |\n| --- | ---: | ---: |\n")
		p("| send→deliver samples | %d | %d |\n", r.Idle.Room.N, r.Under.Room.N)
		p("| send→deliver p50 / p99 / max | %s | %s |\n", triple(r.Idle.Room), triple(r.Under.Room))
		p("| sign-ins (ok / refused / failed) | %d / %d / %d | %d / %d / %d |\n",
			r.Idle.SignIn.N, r.Idle.SignInRefused, r.Idle.SignInFailed, r.Under.SignIn.N, r.Under.SignInRefused, r.Under.SignInFailed)
		p("| sign-in p50 / p99 / max | %s | %s |\n", triple(r.Idle.SignIn), triple(r.Under.SignIn))
		p("| load average (1, 5, 15 min) at the end | %s | %s |\n", r.Idle.Load, r.Under.Load)
		var counts []string
		for _, k := range sortedKeys(r.Outcome.Counts) {
			counts = append(counts, fmt.Sprintf("%s: %d", k, r.Outcome.Counts[k]))
		}
		p("\nAttacker's counts: %s.\n", strings.Join(counts, ", "))
	}
}

// millis writes a latency in milliseconds, or "–" when nothing was measured.
func millis(d time.Duration, n int) string {
	if n == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

func triple(l Latency) string {
	if l.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%s / %s / %s", millis(l.P50, l.N), millis(l.P99, l.N), millis(l.Max, l.N))
}

func times(r float64) string {
	if math.IsNaN(r) {
		return "–"
	}
	return fmt.Sprintf("%.2f×", r)
}

// loadOne is the 1-minute figure of a load average line.
func loadOne(load string) string {
	if f := strings.Fields(load); len(f) > 0 {
		return f[0]
	}
	return "?"
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}
