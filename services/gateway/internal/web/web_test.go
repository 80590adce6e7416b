package web_test

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/quickchat-go/quickchat/services/gateway/internal/web"
)

func setup(t testing.TB, cfg web.Config) *httptest.Server {
	t.Helper()
	ui, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	ui.Register(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

func get(t testing.TB, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestEveryPageServesTheApplicationShellUnderAStrictPolicy(t *testing.T) {
	t.Parallel()
	srv := setup(t, web.Config{RealtimeURLs: []string{"ws://127.0.0.1:9001/ws, wss://rt.example.com/ws"}})
	for _, path := range []string{"/", "/login", "/register", "/dashboard", "/chat/0b9d7a0e-6a3e-4c55-9a47-6a1f3b7b8c11"} {
		t.Run(path, func(t *testing.T) {
			resp, body := get(t, srv.URL+path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if !strings.Contains(body, `<script type="module" src="/assets/js/main.js"></script>`) {
				t.Errorf("page does not load the client:\n%s", body)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			for _, want := range []string{
				"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
				"base-uri 'none'", "object-src 'none'",
				"connect-src 'self' ws://127.0.0.1:9001 wss://rt.example.com",
			} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe") {
				t.Errorf("CSP allows unsafe sources: %q", csp)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", got)
			}
		})
	}
}

func TestAssetsHaveTheirTypesAndRevalidateWithETags(t *testing.T) {
	t.Parallel()
	srv := setup(t, web.Config{})
	for path, ct := range map[string]string{
		"/assets/js/main.js":         "text/javascript; charset=utf-8",
		"/assets/js/views/chat.js":   "text/javascript; charset=utf-8",
		"/assets/js/views/people.js": "text/javascript; charset=utf-8",
		"/assets/js/views/ended.js":  "text/javascript; charset=utf-8",
		"/assets/app.css":            "text/css; charset=utf-8",
		"/assets/icon.svg":           "image/svg+xml",
	} {
		resp, body := get(t, srv.URL+path)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != ct || body == "" {
			t.Errorf("%s: status %d, type %q, %d bytes", path, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
			continue
		}
		etag := resp.Header.Get("ETag")
		if etag == "" || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: ETag %q, Cache-Control %q", path, etag, resp.Header.Get("Cache-Control"))
			continue
		}
		again, _ := get(t, srv.URL+path, "If-None-Match", etag)
		if again.StatusCode != http.StatusNotModified {
			t.Errorf("%s with If-None-Match: status %d, want 304", path, again.StatusCode)
		}
	}
}

func TestUnknownAssetsAndTraversalAreNotFound(t *testing.T) {
	t.Parallel()
	srv := setup(t, web.Config{})
	for _, path := range []string{"/assets/nope.js", "/assets/", "/assets/index.html", "/assets/../web.go", "/assets/%2e%2e/web.go"} {
		resp, body := get(t, srv.URL+path)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404 (%q)", path, resp.StatusCode, body)
		}
	}
}

func TestConfigTellsTheClientAboutOIDCAndRealtimeURLs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  web.Config
		oidc bool
		urls []string
	}{
		{"without OIDC, one URL", web.Config{RealtimeURLs: []string{"ws://a:1/ws"}}, false, []string{"ws://a:1/ws"}},
		{"with OIDC, a comma-separated list", web.Config{OIDCEnabled: true, RealtimeURLs: []string{" ws://a:1/ws ,ws://b:2/ws,ws://a:1/ws"}}, true, []string{"ws://a:1/ws", "ws://b:2/ws"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := setup(t, tc.cfg)
			resp, body := get(t, srv.URL+"/config.json")
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			var got struct {
				OIDC         bool     `json:"oidc"`
				RealtimeURLs []string `json:"realtime_urls"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			if got.OIDC != tc.oidc || strings.Join(got.RealtimeURLs, " ") != strings.Join(tc.urls, " ") {
				t.Errorf("config %s, want oidc=%v urls=%v", body, tc.oidc, tc.urls)
			}
		})
	}
}

func TestPolicyIgnoresURLsThatAreNotWebSockets(t *testing.T) {
	t.Parallel()
	csp := web.ContentSecurityPolicy([]string{"http://x/ws", "ws://ok:1/ws", "ws://bad host;script-src */ws", "/ws"})
	if !strings.Contains(csp, "connect-src 'self' ws://ok:1;") {
		t.Errorf("connect-src wrong in %q", csp)
	}
	if strings.Count(csp, "script-src") != 1 {
		t.Errorf("a URL injected a directive: %q", csp)
	}
}

// The CSP forbids inline code; this catches it before a browser would silently refuse it,
// and also keeps HTML-parsing sinks out of the client so message text can never become
// markup.
var (
	inlineScript  = regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]`)
	inlineHandler = regexp.MustCompile(`(?i)<[a-z][^>]*\son[a-z]+\s*=`)
	inlineStyle   = regexp.MustCompile(`(?i)<[a-z][^>]*\sstyle\s*=|<style`)
	htmlSinks     = regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\("style"`)
)

func TestClientHasNoInlineCodeAndNoHTMLSinks(t *testing.T) {
	t.Parallel()
	root := web.Files()
	n := 0
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		s := string(data)
		switch {
		case strings.HasSuffix(p, ".html"):
			if inlineScript.MatchString(s) || inlineHandler.MatchString(s) || inlineStyle.MatchString(s) {
				t.Errorf("%s has inline script, handler or style", p)
			}
		case strings.HasSuffix(p, ".js"):
			n++
			if m := htmlSinks.FindString(s); m != "" {
				t.Errorf("%s uses %s", p, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Fatalf("walked only %d scripts", n)
	}
}
