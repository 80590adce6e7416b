package e2e

import (
	"context"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/quickchat-go/quickchat/harness/chatclient"
	"github.com/quickchat-go/quickchat/harness/devstack"
)

// countSocketsJS wraps the page's WebSocket constructor so a test can tell whether the
// page tries to reconnect: window.qcSockets counts every socket it opened.
const countSocketsJS = `(() => {
  window.qcSockets = 0;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); window.qcSockets++; }
  };
})();`

// endedJS is true when the page shows the ended screen for the reason.
func endedJS(reason string) string {
	return `!document.querySelector(".chat") && document.querySelector(".ended")?.dataset.reason === ` + jsString(reason)
}

// memberRowSel selects the row of the named member in the owner's members panel, through
// its member id (read from the page, since rejoining gives a new one).
func memberRowSel(p *page, name string) string {
	p.tb.Helper()
	find := `[...document.querySelectorAll(".member-list .member")].find(li => li.querySelector(".person-name").textContent === ` + jsString(name) + `)`
	p.waitFor(name+" in the members panel", find)
	return `.member-list .member[data-member-id="` + eval[string](p, find+`.dataset.memberId`) + `"]`
}

// TestWebUIOwnerModeratesMembers drives moderation in Chromium: the owner's members
// panel lists everyone with guest badges, online dots and message counts; the owner
// deletes a guest's message, which both pages (and the guest's history after a reload)
// show as "Message deleted"; the owner removes a guest, whose page shows the removed screen at once and stops reconnecting;
// the guest joins again (same browser, so the same guest identity), is banned, cannot
// join back while the ban holds, and can after the owner lifts it from the bans list;
// the guest leaves by themselves; and a passcode change that does not keep guests sends
// the guest to "join again". Screenshots: the members panel on a desktop and the removed
// screen on a phone.
func TestWebUIOwnerModeratesMembers(t *testing.T) {
	chromiumPath(t)
	t.Parallel()
	sys := startSystem(t, devstack.SystemConfig{
		Realtimes: 2, Persisters: 1,
		// Every join of this test comes from one address.
		Env: []string{"GATEWAY_RATE_PASSCODE_PER_IP=100/1m"},
	})
	browserCtx := startBrowser(t)
	gw := sys.GatewayURL
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	api := chatclient.NewAPI(gw)
	olivia, err := api.Register(ctx, "olivia@example.com", "correct horse battery", "Olivia Owner")
	if err != nil {
		t.Fatal(err)
	}
	g, err := api.CreateGroup(ctx, olivia.AccessToken, "Book club", "moby dick")
	if err != nil {
		t.Fatal(err)
	}
	link := gw + "/chat/" + g.ID
	// A member who joined and is not connected: the owner sees them offline.
	if _, err := api.Join(ctx, g.ID, "Ben", "moby dick", ""); err != nil {
		t.Fatal(err)
	}

	owner := openPage(t, browserCtx, "owner", false)
	owner.navigate(gw + "/login")
	owner.fill(`input[name=email]`, "olivia@example.com")
	owner.fill(`input[name=password]`, "correct horse battery")
	owner.click(submitSel)
	owner.waitText("h1", "My groups")

	guest := openPage(t, browserCtx, "guest", true)
	if _, err := chromedp.Call(guest.ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: countSocketsJS}); err != nil {
		t.Fatal(err)
	}
	joinAs := func(passcode string) {
		guest.waitText("h1", "Join the chat")
		guest.fill(`input[name=name]`, "Grace Guest")
		guest.fill(`input[name=passcode]`, passcode)
		guest.click(submitSel)
	}
	guest.navigate(link)
	joinAs("moby dick")
	guest.waitFor("guest connected", roomLiveJS)
	guest.fill(composerSel, "Hello from a guest\r")

	owner.click(`.card a.btn[href="/chat/` + g.ID + `"]`)
	owner.waitFor("owner connected", roomLiveJS)

	// The owner's panel: every member, guests badged, online dots from presence, counts.
	grace := memberRowSel(owner, "Grace Guest")
	ben := memberRowSel(owner, "Ben")
	me := memberRowSel(owner, "Olivia Owner (you)")
	owner.waitFor("Grace online, Ben offline",
		`document.querySelector(`+jsString(grace+" .dot")+`).getAttribute("aria-label") === "online" && document.querySelector(`+jsString(ben+" .dot")+`).getAttribute("aria-label") === "offline"`)
	for sel, want := range map[string]bool{grace: true, ben: true, me: false} {
		if got := eval[bool](owner, `!!document.querySelector(`+jsString(sel+" .badge-guest")+`)`); got != want {
			t.Errorf("guest badge on %s: %v, want %v", sel, got, want)
		}
	}
	if eval[bool](owner, `!!document.querySelector(`+jsString(me+" [data-action]")+`)`) {
		t.Error("the owner's own row offers moderation actions")
	}
	if eval[bool](owner, `!!document.querySelector('#people [data-action=leave]')`) {
		t.Error("the owner is offered to leave the group")
	}
	owner.waitText(".messages .msg .body", "Hello from a guest")
	if !eval[bool](owner, `[...document.querySelectorAll(".messages .msg")].some(m => m.querySelector(".body").textContent === "Hello from a guest" && m.querySelector(".meta .badge-guest"))`) {
		t.Error("the guest's message has no guest badge")
	}
	guest.waitText(".people-list", "Olivia Owner")
	if eval[bool](guest, `!!document.querySelector(".member-list [data-action=remove], .ban-list")`) {
		t.Error("a guest is offered the owner's tools")
	}
	if !eval[bool](guest, `!!document.querySelector("#people [data-action=leave]")`) {
		t.Error("a guest is not offered to leave the group")
	}
	owner.fill(composerSel, "Welcome, Grace!\r")
	guest.waitText(".messages .msg .body", "Welcome, Grace!")
	owner.waitFor("message counts", `document.querySelector(`+jsString(grace+" .member-facts")+`)?.textContent.includes("message")`)
	owner.screenshot("members-desktop")

	// Delete: the owner deletes the guest's message after confirming; both pages replace
	// it with a tombstone at once, and the guest's history after a reload does too.
	hello := eval[string](owner, `[...document.querySelectorAll(".messages .msg")].find(m => m.querySelector(".body").textContent === "Hello from a guest").dataset.id`)
	helloSel := `.messages .msg[data-id="` + hello + `"]`
	if eval[bool](guest, `!!document.querySelector(".msg-delete")`) {
		t.Error("a guest is offered to delete messages")
	}
	owner.click(helloSel + ` .msg-delete`)
	owner.waitText("dialog h2", "Delete this message?")
	owner.click(`dialog ` + submitSel)
	guest.waitText(helloSel+` .body`, "Message deleted")
	owner.waitText(helloSel+` .body`, "Message deleted")
	for _, p := range []*page{owner, guest} {
		if eval[bool](p, `document.querySelector(".messages").textContent.includes("Hello from a guest")`) {
			t.Errorf("the %s page still shows the deleted message's text", p.name)
		}
	}
	if eval[bool](owner, `!!document.querySelector(`+jsString(helloSel+" .msg-delete")+`)`) {
		t.Error("a deleted message still offers Delete")
	}
	guest.do(chromedp.Reload())
	guest.waitFor("guest connected after a reload", roomLiveJS)
	guest.waitText(helloSel+` .body`, "Message deleted")
	guest.waitText(".messages .msg .body", "Welcome, Grace!")

	// At phone width the panel opens over the chat from its toggle, takes the focus, and
	// Escape closes it again.
	owner.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	owner.click(`.online-toggle`)
	owner.waitFor("the panel open at phone width", `document.querySelector("#people.open") && document.querySelector("#people").contains(document.activeElement)`)
	owner.waitFor("the panel laid out at phone width", noOverflowJS)
	owner.do(chromedp.KeyEvent(kb.Escape))
	owner.waitFor("Escape closed the panel", `!document.querySelector("#people.open") && document.activeElement === document.querySelector(".online-toggle")`)
	owner.do(chromedp.EmulateViewport(1280, 800))

	// Remove: a confirmation first, then the guest's page ends and stays ended.
	owner.click(grace + ` [data-action=remove]`)
	owner.waitText("dialog h2", "Remove Grace Guest?")
	owner.click(`dialog ` + submitSel)
	removedAt := time.Now()
	guest.waitFor("the removed screen", endedJS("removed"))
	t.Logf("the guest's page showed the removed screen %v after the owner confirmed", time.Since(removedAt).Round(time.Millisecond))
	guest.waitText(".ended h1", "You were removed from this group")
	if !eval[bool](guest, `document.activeElement === document.querySelector(".ended h1")`) {
		t.Error("focus is not on the removed screen's heading")
	}
	owner.waitFor("Grace gone from the owner's lists",
		`!document.querySelector(`+jsString(grace)+`) && ![...document.querySelectorAll(".people-list li")].some(li => li.textContent.includes("Grace Guest"))`)
	sockets := eval[int](guest, `window.qcSockets`)
	time.Sleep(3 * time.Second)
	if n := eval[int](guest, `window.qcSockets`); n != sockets {
		t.Errorf("the removed page opened %d more WebSockets; it must stop reconnecting", n-sockets)
	}
	if !eval[bool](guest, endedJS("removed")) {
		t.Error("the removed screen did not stay")
	}
	guest.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	guest.waitFor("removed screen laid out at phone width", noOverflowJS)
	guest.screenshot("removed-phone")
	guest.do(chromedp.EmulateViewport(1280, 800))

	// A reload still says what happened; "Join again" leads back in.
	guest.do(chromedp.Reload())
	guest.waitFor("the removed screen after a reload", endedJS("removed"))
	guest.click(`.ended button.btn`)
	joinAs("moby dick")
	guest.waitFor("guest back in the room", roomLiveJS)

	// Ban: the guest's page ends, and a join with the right passcode is refused while the
	// ban holds.
	grace = memberRowSel(owner, "Grace Guest")
	owner.click(grace + ` [data-action=ban]`)
	owner.waitText("dialog h2", "Ban Grace Guest?")
	owner.click(`dialog ` + submitSel)
	guest.waitFor("the banned screen", endedJS("banned"))
	guest.waitText(".ended h1", "You were banned from this group")
	owner.waitText(".ban-list .member", "Grace Guest")
	guest.click(`.ended button.btn-ghost`) // "Try to join again"
	joinAs("moby dick")
	guest.waitFor("the banned screen after a refused join", endedJS("banned"))

	// Unban from the bans list; the same guest joins again.
	owner.click(`.ban-list [data-action=unban]`)
	owner.waitFor("the ban lifted", `!document.querySelector(".ban-list .member")`)
	guest.click(`.ended button.btn-ghost`)
	joinAs("moby dick")
	guest.waitFor("guest back after the unban", roomLiveJS)
	owner.waitText(".people-list", "Grace Guest")

	// Leaving asks first, ends the guest's page and their presence at once.
	guest.click(`#people [data-action=leave]`)
	guest.waitText("dialog h2", "Leave this group?")
	guest.click(`dialog ` + submitSel)
	guest.waitFor("the left screen", endedJS("left"))
	guest.waitText(".ended h1", "You left")
	owner.waitFor("Grace offline after leaving", `![...document.querySelectorAll(".people-list li")].some(li => li.textContent.includes("Grace Guest"))`)

	// A passcode change that does not keep guests ends the guest's membership.
	guest.click(`.ended button.btn`)
	joinAs("moby dick")
	guest.waitFor("guest back after leaving", roomLiveJS)
	owner.navigate(gw + "/dashboard")
	owner.click(`.card[data-group-id="` + g.ID + `"] button[data-action=edit]`)
	owner.fill(`dialog input[name=passcode]`, "white whale")
	if eval[bool](owner, `document.querySelector("dialog input[name=keep_members]").checked`) {
		t.Error(`"keep current guests" is checked by default`)
	}
	owner.click(`dialog ` + submitSel)
	guest.waitFor("the passcode-changed screen", endedJS("passcode_changed"))
	guest.waitText(".ended h1", "The passcode changed — join again")
	guest.click(`.ended button.btn`)
	joinAs("moby dick")
	guest.waitText(`.alert[role=alert]`, "Wrong passcode")
	guest.fill(`input[name=passcode]`, "white whale")
	guest.click(submitSel)
	guest.waitFor("guest in with the new passcode", roomLiveJS)

	for _, p := range []*page{owner, guest} {
		p.checkClean()
	}
}
