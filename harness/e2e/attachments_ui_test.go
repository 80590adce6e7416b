package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quickchat-go/quickchat/harness/chatclient"
	"github.com/quickchat-go/quickchat/harness/devstack"
	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
)

// pasteImageJS pastes a 240×160 PNG drawn on a canvas into the composer, as a person
// pasting a screenshot does. Before it, watchProgressJS records the upload progress bars
// that appear, since on loopback an upload may be over between two polls.
const (
	watchProgressJS = `(() => {
		window.__progress = [];
		new MutationObserver((records) => {
			for (const r of records) {
				const el = r.target.nodeType === 1 ? r.target : null;
				for (const p of [...(el ? el.querySelectorAll("progress") : []), ...(el && el.matches("progress") ? [el] : [])]) {
					window.__progress.push(Number(p.value));
				}
			}
		}).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["value"] });
		return true;
	})()`
	pasteImageJS = `(async () => {
		const c = document.createElement("canvas");
		c.width = 240; c.height = 160;
		const g = c.getContext("2d");
		g.fillStyle = "#4f46e5"; g.fillRect(0, 0, 240, 160);
		g.fillStyle = "#ffd166"; g.beginPath(); g.arc(120, 80, 50, 0, 2 * Math.PI); g.fill();
		const blob = await new Promise((r) => c.toBlob(r, "image/png"));
		const dt = new DataTransfer();
		dt.items.add(new File([blob], "sunset.png", { type: "image/png" }));
		const input = document.querySelector("#composer-input");
		input.dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }));
		return true;
	})()`
	dropTextJS = `(() => {
		const dt = new DataTransfer();
		dt.items.add(new File(["Agenda: chapters 1-3\n"], "agenda.txt", { type: "text/plain" }));
		const chat = document.querySelector(".chat");
		for (const type of ["dragenter", "dragover", "drop"]) {
			chat.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
		}
		return true;
	})()`
	// loadedImageJS is true once a message shows an image preview whose pixels arrived.
	loadedImageJS = `[...document.querySelectorAll("ol.messages:not(.outbox) .att-image img")].some(i => i.complete && i.naturalWidth > 0)`
)

// TestWebUIMembersShareImagesAndFiles drives attachments in Chromium on the real S3 server:
// the owner pastes an image, sees the upload's progress bar, and the guest's browser shows
// the preview (its pixels fetched from the object store with a signed URL) and opens it in
// the lightbox; the guest drops a text file and the owner sees its chip with its size;
// after a reload both come back from history. A screenshot of the room is saved.
func TestWebUIMembersShareImagesAndFiles(t *testing.T) {
	chromiumPath(t)
	t.Parallel()
	s3 := testenv.S3(t)
	sys := startSystem(t, devstack.SystemConfig{
		Realtimes: 1, Persisters: 1,
		Env: s3.GatewayEnv(testenv.S3Bucket(t)),
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
	g, err := api.CreateGroup(ctx, olivia.AccessToken, "Photo club", "aperture 2.8")
	if err != nil {
		t.Fatal(err)
	}
	link := gw + "/chat/" + g.ID

	owner := openPage(t, browserCtx, "owner", false)
	owner.navigate(gw + "/login")
	owner.fill(`input[name=email]`, "olivia@example.com")
	owner.fill(`input[name=password]`, "correct horse battery")
	owner.click(submitSel)
	owner.waitText("h1", "My groups")
	owner.navigate(link)
	owner.waitFor("owner connected", roomLiveJS)

	guest := openPage(t, browserCtx, "guest", true)
	guest.navigate(link)
	guest.waitText("h1", "Join the chat")
	guest.fill(`input[name=name]`, "Grace Guest")
	guest.fill(`input[name=passcode]`, "aperture 2.8")
	guest.click(submitSel)
	guest.waitFor("guest connected", roomLiveJS)
	if !eval[bool](guest, `!!document.querySelector(".composer .attach")`) {
		t.Fatal("the composer has no attach button")
	}

	// The owner pastes an image: a progress bar shows the upload, then the message.
	eval[bool](owner, watchProgressJS)
	eval[bool](owner, pasteImageJS)
	owner.waitFor("the owner's image message", loadedImageJS+` && `+pendingJS+` === 0`)
	seen := eval[[]float64](owner, `window.__progress`)
	if len(seen) == 0 {
		t.Fatal("no upload progress bar appeared")
	}
	if top := seen[len(seen)-1]; top < 99 {
		t.Errorf("the progress bar stopped at %v%% (values seen: %v)", top, seen)
	}

	// The guest's browser shows the preview, with the pixels from the object store.
	guest.waitFor("the guest sees the preview", loadedImageJS)
	if got := eval[string](guest, `document.querySelector(".att-image img").currentSrc`); !strings.HasPrefix(got, s3.Endpoint+"/") {
		t.Errorf("the preview comes from %q, not the object store %s", got, s3.Endpoint)
	}
	if w := eval[int](guest, `document.querySelector(".att-image img").naturalWidth`); w != 240 {
		t.Errorf("the preview is %d pixels wide; a 240-pixel image keeps its size", w)
	}
	guest.click(`.att-image`)
	guest.waitFor("the lightbox shows the full image", `(() => { const i = document.querySelector("dialog .lightbox-img"); return i && i.complete && i.naturalWidth === 240 && i.naturalHeight === 160 })()`)
	guest.waitText("dialog figcaption", "240×160")
	guest.screenshot("attachments-lightbox")
	guest.click(`dialog figcaption button`)
	guest.waitFor("the lightbox closed", `!document.querySelector("dialog")`)

	// The guest drops a text file: the owner sees a file chip with its name and size.
	eval[bool](guest, dropTextJS)
	owner.waitText("ol.messages:not(.outbox) .att-file", "agenda.txt")
	owner.waitText("ol.messages:not(.outbox) .att-file .att-size", "21 bytes")
	owner.fill(composerSel, "Lovely colours!\r")
	guest.waitText(".messages .msg .body", "Lovely colours!")
	owner.screenshot("attachments-desktop")

	// The text file downloads with the same bytes, as a download.
	stored, err := api.AllHistory(ctx, g.ID, olivia.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	var textID string
	for _, m := range stored {
		for _, a := range m.Attachments {
			if a.Name == "agenda.txt" {
				textID = a.ID
			}
		}
	}
	if textID == "" {
		t.Fatalf("history has no agenda.txt: %+v", stored)
	}
	links, err := api.AttachmentLinks(ctx, g.ID, olivia.AccessToken, textID)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(links.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "Agenda: chapters 1-3\n" || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: %q with %q", body, res.Header.Get("Content-Disposition"))
	}

	// After a reload both files come back from history.
	guest.navigate(link)
	guest.waitFor("the guest reconnected", roomLiveJS)
	guest.waitFor("the preview from history", loadedImageJS)
	guest.waitText("ol.messages:not(.outbox) .att-file", "agenda.txt")
	for _, p := range []*page{owner, guest} {
		p.checkClean()
	}
}
