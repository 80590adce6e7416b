package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/log"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// defaultChromium is Debian's Chromium; QC_CHROMIUM names another binary. Tests never
// download a browser.
const defaultChromium = "/usr/bin/chromium"

// waitTimeout bounds every wait for something to appear on a page.
const waitTimeout = 20 * time.Second

// chromiumPath returns the browser binary, skipping tb when it is not installed.
func chromiumPath(tb testing.TB) string {
	tb.Helper()
	p := os.Getenv("QC_CHROMIUM")
	if p == "" {
		p = defaultChromium
	}
	if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		tb.Skipf("web UI test skipped: no Chromium at %s (on Debian: apt-get install chromium; .ci/install-deps.sh installs it)", p)
	}
	return p
}

// startBrowser runs one headless Chromium with a fresh profile for the test. The flags
// keep it from reaching for the network on its own, which hangs on a closed network.
func startBrowser(tb testing.TB) context.Context {
	tb.Helper()
	exe := chromiumPath(tb)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	tb.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The browser lives as long as the context of the first Do, so it gets ctx itself.
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// page is one browser tab with what the tests assert on besides the DOM: dialogs that
// opened (a script injected through a message would open one) and script errors or
// Content Security Policy violations.
type page struct {
	tb   testing.TB
	ctx  context.Context
	name string

	mu       sync.Mutex
	dialogs  []string
	problems []string
}

// openPage opens a tab in the browser. isolated gives it a browser context of its own
// (separate cookies and storage, like another person's browser).
func openPage(tb testing.TB, browserCtx context.Context, name string, isolated bool) *page {
	tb.Helper()
	p := &page{tb: tb, name: name}
	opts := []chromedp.ContextOption{chromedp.WithListener(p.listen)}
	if isolated {
		opts = append(opts, chromedp.WithNewBrowserContext())
	}
	ctx, cancel := chromedp.NewContext(browserCtx, opts...)
	tb.Cleanup(cancel)
	p.ctx = ctx
	// The tab lives as long as the context of its first Do, so that one gets ctx itself.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		tb.Fatalf("%s: open tab: %v", name, err)
	}
	return p
}

func (p *page) listen(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e := ev.(type) {
	case *cdppage.EventJavascriptDialogOpening:
		p.dialogs = append(p.dialogs, string(e.Type)+": "+e.Message)
		go func() {
			_, _ = chromedp.Call(p.ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: false})
		}()
	case *runtime.EventExceptionThrown:
		text := e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			text += " " + e.ExceptionDetails.Exception.Description
		}
		p.problems = append(p.problems, "uncaught exception: "+text)
	case *log.EventEntryAdded:
		if strings.Contains(e.Entry.Text, "Content Security Policy") {
			p.problems = append(p.problems, "CSP violation: "+e.Entry.Text)
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			p.problems = append(p.problems, "console.error: "+strings.Join(parts, " "))
		}
	}
}

// checkClean fails the test if a dialog opened or a script failed on the page.
func (p *page) checkClean() {
	p.tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.dialogs) > 0 {
		p.tb.Errorf("%s: dialogs opened: %q", p.name, p.dialogs)
	}
	if len(p.problems) > 0 {
		p.tb.Errorf("%s: page problems: %q", p.name, p.problems)
	}
}

func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.fail("%v", err)
	}
}

// fail stops the test with a screenshot of the page and its visible text.
func (p *page) fail(format string, args ...any) {
	p.tb.Helper()
	msg := fmt.Sprintf(format, args...)
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	if shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		path := filepath.Join(p.tb.TempDir(), p.name+"-failure.png")
		if os.WriteFile(path, shot, 0o644) == nil {
			msg += "\nscreenshot: " + path
		}
	}
	if text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`)); err == nil {
		msg += "\npage:\n" + text
	}
	p.mu.Lock()
	msg += fmt.Sprintf("\nproblems: %q", p.problems)
	p.mu.Unlock()
	p.tb.Fatalf("%s: %s", p.name, msg)
}

func (p *page) navigate(url string) {
	p.tb.Helper()
	p.do(chromedp.Navigate(url))
}

// eval evaluates a JavaScript expression and decodes its JSON value into T.
func eval[T any](p *page, expr string) T {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.fail("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it is true.
func (p *page) waitFor(what, cond string) {
	p.tb.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+cond+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.fail("timed out waiting for %s (%s); last error: %v", what, cond, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitText waits until an element matching css contains text.
func (p *page) waitText(css, text string) {
	p.tb.Helper()
	p.waitFor(fmt.Sprintf("%q in %s", text, css),
		fmt.Sprintf(`[...document.querySelectorAll(%s)].some(e => !e.closest("[hidden]") && e.textContent.includes(%s))`, jsString(css), jsString(text)))
}

func (p *page) click(css string) {
	p.tb.Helper()
	p.do(chromedp.WaitVisible(chromedp.CSS(css)), chromedp.Click(chromedp.CSS(css)))
}

// fill types text into the field (real key events, so input handlers run).
func (p *page) fill(css, text string) {
	p.tb.Helper()
	p.do(chromedp.WaitVisible(chromedp.CSS(css)))
	eval[bool](p, `(() => { document.querySelector(`+jsString(css)+`).value = ""; return true })()`)
	p.do(chromedp.SendKeys(chromedp.CSS(css), text))
}

// screenshot saves a PNG of the viewport at docs/screenshots/name.png when
// QC_UPDATE_SCREENSHOTS=1, else into the test's temporary directory.
func (p *page) screenshot(name string) {
	p.tb.Helper()
	dir := p.tb.TempDir()
	if os.Getenv("QC_UPDATE_SCREENSHOTS") == "1" {
		dir = filepath.Join(repoRoot(p.tb), "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			p.tb.Fatal(err)
		}
	}
	// Passing notifications would cover what the picture is for.
	eval[bool](p, `(() => { document.getElementById("toasts").replaceChildren(); return true })()`)
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.fail("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), shot, 0o644); err != nil {
		p.tb.Fatal(err)
	}
}

// grantClipboard lets pages of origin read and write the clipboard without a prompt.
func grantClipboard(tb testing.TB, p *page, origin string) {
	tb.Helper()
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		_, err := chromedp.CallBrowser(p.ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name},
			Setting:    browser.PermissionSettingGranted,
			Origin:     origin,
		})
		if err != nil {
			tb.Fatalf("grant %s: %v", name, err)
		}
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// repoRoot is the workspace root (the directory holding go.work) above the test's
// working directory, where docs/ lives.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.work above the test's directory")
		}
		dir = parent
	}
}
