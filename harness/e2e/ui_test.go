package e2e

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/quickchat-go/quickchat/harness/chatclient"
	"github.com/quickchat-go/quickchat/harness/devstack"
)

// xssBody is what an attacker would post; it must show as these characters and run nothing.
const xssBody = `<img src=x onerror=alert(1)>`

// Selectors and scripts shared by the web UI tests.
const (
	submitSel    = `form button[type=submit]`
	composerSel  = `#composer-input`
	statusSel    = `.chat-head .status`
	bodiesJS     = `[...document.querySelectorAll("ol.messages:not(.outbox) .msg .body")].map(e => e.textContent)`
	pendingJS    = `document.querySelectorAll("ol.outbox .msg").length`
	roomLiveJS   = `document.querySelector(".chat-head .status")?.dataset.state === "live"`
	noOverflowJS = `document.documentElement.scrollWidth <= window.innerWidth`
)

// TestWebUIOwnerAndGuestChat drives the product in Chromium as two people: the owner
// registers, creates a group and copies its link; a guest in a separate browser context
// opens the link, is refused with a wrong passcode, joins with the right one, and the two
// exchange messages live, see each other online and typing; a script-looking body shows
// as text and runs nothing; a reload shows the history with the same identity. Along the
// way it saves screenshots at desktop and phone widths.
func TestWebUIOwnerAndGuestChat(t *testing.T) {
	chromiumPath(t)
	t.Parallel()
	sys := startSystem(t, devstack.SystemConfig{Realtimes: 2, Persisters: 1})
	browserCtx := startBrowser(t)
	gw := sys.GatewayURL

	owner := openPage(t, browserCtx, "owner", false)
	grantClipboard(t, owner, gw)

	// Register from the landing page.
	owner.navigate(gw + "/")
	owner.waitText("h1", "Group chat in seconds")
	owner.click(`a.btn[href="/register"]`)
	owner.waitText("h1", "Create your account")
	owner.fill(`input[name=name]`, "Olivia Owner")
	owner.fill(`input[name=email]`, "olivia@example.com")
	owner.fill(`input[name=password]`, "correct horse battery")
	owner.click(submitSel)
	owner.waitText("h1", "My groups")
	owner.waitText("#nav", "Olivia Owner")

	// Create groups; edit one and delete it, with a confirmation that can be declined.
	createGroup := func(title, passcode string) string {
		owner.click(`.page-head button`)
		owner.fill(`dialog input[name=title]`, title)
		owner.fill(`dialog input[name=passcode]`, passcode)
		owner.click(`dialog ` + submitSel)
		owner.waitText(".card h2", title)
		return eval[string](owner, `[...document.querySelectorAll(".card")].find(c => c.querySelector("h2").textContent === `+jsString(title)+`).dataset.groupId`)
	}
	scratch := createGroup("Scratch", "temporary")
	scratchCard := `.card[data-group-id="` + scratch + `"]`
	owner.click(scratchCard + ` button[data-action=edit]`)
	owner.fill(`dialog input[name=title]`, "Scratch renamed")
	owner.click(`dialog ` + submitSel)
	owner.waitText(scratchCard+" h2", "Scratch renamed")
	owner.click(scratchCard + ` button[data-action=delete]`)
	owner.waitText("dialog h2", "Delete “Scratch renamed”?")
	owner.click(`dialog button[type=button]`) // "Keep it"
	owner.waitFor("the declined delete kept the group", `!document.querySelector("dialog") && document.querySelector(`+jsString(scratchCard)+`)`)
	owner.click(scratchCard + ` button[data-action=delete]`)
	owner.click(`dialog ` + submitSel)
	owner.waitFor("the confirmed delete removed the group", `!document.querySelector(`+jsString(scratchCard)+`)`)
	createGroup("Weekend hike", "trail mix")
	groupID := createGroup("Book club", "moby dick")
	link := gw + "/chat/" + groupID

	// Copy the share link: it lands on the clipboard and is shown on the card.
	owner.click(`.card[data-group-id="` + groupID + `"] button[data-action=copy]`)
	owner.waitText(`.card button[data-action=copy]`, "Copied!")
	if got := eval[string](owner, `navigator.clipboard.readText()`); got != link {
		t.Fatalf("clipboard holds %q, want the share link %q", got, link)
	}
	if got := eval[string](owner, `document.querySelector(".card[data-group-id=\"`+groupID+`\"] .link-input").value`); got != link {
		t.Fatalf("card shows link %q, want %q", got, link)
	}
	owner.screenshot("dashboard-desktop")
	owner.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	owner.waitFor("dashboard laid out at phone width", noOverflowJS)
	owner.screenshot("dashboard-phone")
	owner.do(chromedp.EmulateViewport(1280, 800))

	// A guest opens the link in another browser context: no account, wrong passcode first.
	guest := openPage(t, browserCtx, "guest", true)
	guest.navigate(gw + "/login")
	guest.fill(`input[name=email]`, "olivia@example.com")
	guest.fill(`input[name=password]`, "not her password")
	guest.click(submitSel)
	guest.waitText(`.alert[role=alert]`, "Email or password is wrong.")
	guest.navigate(link)
	guest.waitText("h1", "Join the chat")
	guest.fill(`input[name=name]`, "Grace Guest")
	guest.fill(`input[name=passcode]`, "wrong passcode")
	guest.click(submitSel)
	guest.waitText(`.alert[role=alert]`, "Wrong passcode")
	if eval[bool](guest, `!!document.querySelector(".chat")`) {
		t.Fatal("the room opened after a wrong passcode")
	}
	guest.fill(`input[name=passcode]`, "moby dick")
	guest.click(submitSel)
	guest.waitText(".chat-head h1", "Book club")
	guest.waitFor("guest connected", roomLiveJS)

	// The owner opens the room from the dashboard.
	owner.click(`.card a.btn[href="/chat/` + groupID + `"]`)
	owner.waitText(".chat-head h1", "Book club")
	owner.waitFor("owner connected", roomLiveJS)
	owner.waitText(".people-list", "Grace Guest")
	guest.waitText(".people-list", "Olivia Owner")

	// Messages both ways; Enter in the composer sends.
	owner.fill(composerSel, "Welcome to the book club!\r")
	guest.waitText(".messages .msg .body", "Welcome to the book club!")
	owner.waitFor("owner's message acknowledged", pendingJS+` === 0 && `+bodiesJS+`.includes("Welcome to the book club!")`)

	guest.fill(composerSel, "Thanks, happy to be here")
	owner.waitText(".typing", "Grace Guest is typing")
	guest.click(`.composer button[type=submit]`)
	owner.waitText(".messages .msg .body", "Thanks, happy to be here")

	// A body that looks like markup is shown as text and runs nothing.
	guest.fill(composerSel, xssBody+"\r")
	for _, p := range []*page{owner, guest} {
		p.waitFor("the markup-looking body as text", bodiesJS+`.includes(`+jsString(xssBody)+`)`)
		if n := eval[int](p, `document.querySelectorAll(".messages img, .messages [onerror]").length`); n != 0 {
			t.Errorf("%s: the message body created %d elements", p.name, n)
		}
	}
	owner.screenshot("chat-desktop")
	owner.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	owner.waitFor("chat laid out at phone width", noOverflowJS)
	if !eval[bool](owner, `getComputedStyle(document.querySelector(".online-toggle")).display !== "none"`) {
		t.Error("at phone width the online list should be behind its toggle button")
	}
	owner.screenshot("chat-phone")
	owner.do(chromedp.EmulateViewport(1280, 800))

	// A reload keeps the guest's identity and shows the history in order, each once.
	want := []string{"Welcome to the book club!", "Thanks, happy to be here", xssBody}
	guest.do(chromedp.Reload())
	guest.waitText(".chat-head h1", "Book club")
	guest.waitFor("history after reload", bodiesJS+`.length >= 3`)
	if got := eval[[]string](guest, bodiesJS); !slices.Equal(got, want) {
		t.Errorf("guest's history after reload: %q, want %q", got, want)
	}
	if got := eval[int](guest, `document.querySelectorAll(".msg.mine").length`); got != 2 {
		t.Errorf("after reload %d messages are marked as the guest's own, want 2", got)
	}
	guest.waitFor("guest reconnected", roomLiveJS)

	// With more history than one page, the newest page shows first and scrolling to the
	// top loads the older messages above, in order.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	api := chatclient.NewAPI(gw)
	bot, err := api.Join(ctx, groupID, "Bot", "moby dick", "")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := chatclient.Dial(ctx, sys.RealtimeURLs[0], chatclient.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if _, err := conn.Join(ctx, groupID, bot.Token, nil); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 60; i++ {
		body := fmt.Sprintf("bulk message %02d", i)
		if _, err := conn.Send(ctx, groupID, fmt.Sprintf("bulk-%d", i), body); err != nil {
			t.Fatal(err)
		}
		want = append(want, body)
	}
	for {
		msgs, err := api.AllHistory(ctx, groupID, bot.Token)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) >= len(want) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("history has %d messages, want %d", len(msgs), len(want))
		case <-time.After(200 * time.Millisecond):
		}
	}
	owner.do(chromedp.Reload())
	owner.waitFor("the newest page of history", bodiesJS+`.length === 50`)
	owner.waitFor("older messages loaded by scrolling up",
		`(() => { const s = document.querySelector(".scroller"); s.scrollTop = 0; s.dispatchEvent(new Event("scroll")); return `+bodiesJS+`.length === `+fmt.Sprint(len(want))+` })()`)
	if got := eval[[]string](owner, bodiesJS); !slices.Equal(got, want) {
		t.Errorf("after scrolling up the owner sees %q, want %q", got, want)
	}

	for _, p := range []*page{owner, guest} {
		p.checkClean()
	}
}

// TestWebUIReconnectsAfterItsRealtimeInstanceIsKilled connects a page to one of two
// realtime instances, kills that instance with SIGKILL, and checks the page shows it is
// reconnecting, reconnects to the other instance by itself, receives every message sent
// meanwhile exactly once, and delivers the message typed while it was offline exactly
// once (resent with the same client_msg_id).
func TestWebUIReconnectsAfterItsRealtimeInstanceIsKilled(t *testing.T) {
	chromiumPath(t)
	t.Parallel()
	// Member tokens this short expire before the kill, so the page must renew its token
	// at the gateway to rejoin.
	const memberTTL = 6 * time.Second
	sys := startSystem(t, devstack.SystemConfig{Realtimes: 2, Persisters: 1, Env: []string{"GATEWAY_MEMBER_TOKEN_TTL=" + memberTTL.String()}})
	browserCtx := startBrowser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	api := chatclient.NewAPI(sys.GatewayURL)
	owner, err := api.Register(ctx, "rita@example.com", "correct horse battery", "Rita")
	if err != nil {
		t.Fatal(err)
	}
	g, err := api.CreateGroup(ctx, owner.AccessToken, "Resilience", "open sesame")
	if err != nil {
		t.Fatal(err)
	}

	p := openPage(t, browserCtx, "guest", true)
	p.navigate(sys.GatewayURL + "/chat/" + g.ID)
	p.fill(`input[name=name]`, "Paula")
	p.fill(`input[name=passcode]`, "open sesame")
	p.click(submitSel)
	p.waitFor("page connected", roomLiveJS)
	joinedAt := time.Now()
	firstToken := eval[string](p, `JSON.parse(localStorage.getItem("qc.member.`+g.ID+`")).token`)
	p.fill(composerSel, "before the crash\r")
	p.waitFor("first message acknowledged", pendingJS+` === 0 && `+bodiesJS+`.includes("before the crash")`)

	// Which instance is the page on?
	pageURL := eval[string](p, `document.querySelector(".chat-head .status").dataset.url`)
	victim := slices.Index(sys.RealtimeURLs, pageURL)
	if victim < 0 {
		t.Fatalf("page is connected to %q, not one of %q", pageURL, sys.RealtimeURLs)
	}
	survivor := sys.RealtimeURLs[1-victim]

	// A bot on the surviving instance sends while the page is cut off, and collects what
	// it receives.
	bot, err := api.Join(ctx, g.ID, "Bot", "open sesame", "")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	botSaw := map[string]int{}
	conn, err := chatclient.Dial(ctx, survivor, chatclient.DialOptions{OnFrame: func(f chatclient.Frame) {
		if f.Type == "message" && f.Message != nil {
			mu.Lock()
			botSaw[f.Message.Body]++
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if _, err := conn.Join(ctx, g.ID, bot.Token, nil); err != nil {
		t.Fatal(err)
	}

	// Let the token the page joined with expire.
	time.Sleep(time.Until(joinedAt.Add(memberTTL + time.Second)))
	if tok := eval[string](p, `JSON.parse(localStorage.getItem("qc.member.`+g.ID+`")).token`); tok == firstToken {
		t.Error("the page did not renew its member token before it expired")
	}

	// Record every connection state the page shows from now on.
	eval[bool](p, `(() => { window.qcStates = []; new MutationObserver(() => window.qcStates.push(document.querySelector(".chat-head .status").dataset.state)).observe(document.querySelector(".chat-head .status"), {attributes: true, attributeFilter: ["data-state"]}); return true })()`)
	if err := sys.Realtime[victim].Kill(); err != nil {
		t.Fatal(err)
	}
	var missed []string
	for i := 1; i <= 3; i++ {
		body := fmt.Sprintf("sent while you were away #%d", i)
		if _, err := conn.Send(ctx, g.ID, fmt.Sprintf("bot-%d", i), body); err != nil {
			t.Fatal(err)
		}
		missed = append(missed, body)
	}
	p.fill(composerSel, "typed during the outage\r")

	p.waitFor("page back on the surviving instance", roomLiveJS+` && document.querySelector(".chat-head .status").dataset.url === `+jsString(survivor))
	if states := eval[[]string](p, `window.qcStates`); !slices.Contains(states, "reconnecting") {
		t.Errorf("the page never showed it was reconnecting; states: %q", states)
	}
	want := append([]string{"before the crash"}, missed...)
	want = append(want, "typed during the outage")
	p.waitFor("every message once, the outage one acknowledged",
		pendingJS+` === 0 && `+bodiesJS+`.length >= `+fmt.Sprint(len(want)))
	got := eval[[]string](p, bodiesJS)
	for _, w := range want {
		if n := countOf(got, w); n != 1 {
			t.Errorf("page shows %q %d times, want once; all: %q", w, n, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("page shows %d messages, want %d: %q", len(got), len(want), got)
	}
	deadline := time.Now().Add(waitTimeout)
	for {
		mu.Lock()
		n := botSaw["typed during the outage"]
		mu.Unlock()
		if n == 1 {
			break
		}
		if n > 1 || time.Now().After(deadline) {
			t.Fatalf("the bot received the page's outage message %d times, want once", n)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Stored exactly once too.
	for {
		msgs, err := api.AllHistory(ctx, g.ID, owner.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		var bodies []string
		for _, m := range msgs {
			bodies = append(bodies, m.Body)
		}
		if len(bodies) >= len(want) {
			for _, w := range want {
				if n := countOf(bodies, w); n != 1 {
					t.Errorf("history stores %q %d times, want once", w, n)
				}
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("history never reached %d messages: %q", len(want), bodies)
		case <-time.After(200 * time.Millisecond):
		}
	}
	p.checkClean()
}

func countOf(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}
