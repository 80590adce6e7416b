package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

//go:embed static
var staticFiles embed.FS

// Pages are the client-side routes answered with the application shell (index.html); the
// JavaScript router renders the page that matches the path.
var Pages = []string{"/", "/login", "/register", "/dashboard", "/chat/{id}"}

// Config is what the UI needs to know about the deployment.
type Config struct {
	// OIDCEnabled shows the "sign in with single sign-on" button.
	OIDCEnabled bool
	// RealtimeURLs are the WebSocket URLs of the realtime service, tried in turn when a
	// connection fails. A single entry may hold a comma-separated list (the form of
	// GATEWAY_PUBLIC_REALTIME_URL).
	RealtimeURLs []string
	// Attachments, when set, shows the attach button: files go straight to the object
	// store at StorageOrigin, which the page's policy then lets it reach.
	Attachments *Attachments
}

// Attachments is what the UI needs to share files.
type Attachments struct {
	// MaxBytes is the largest file; Types the media types allowed.
	MaxBytes int64    `json:"max_bytes"`
	Types    []string `json:"types"`
	// StorageOrigin is scheme://host[:port] of the object store's signed URLs.
	StorageOrigin string `json:"-"`
}

// UI serves the browser client. Build it with New.
type UI struct {
	files  map[string]asset
	config []byte
	csp    string
}

// asset is one embedded file with what ServeContent needs to answer conditional requests.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// clientConfig is the JSON document served at /config.json.
type clientConfig struct {
	OIDC         bool     `json:"oidc"`
	RealtimeURLs []string `json:"realtime_urls"`
	// Attachments is null when the server stores no files.
	Attachments *Attachments `json:"attachments"`
}

// New reads the embedded files once and prepares the headers.
func New(cfg Config) (*UI, error) {
	urls := SplitURLs(cfg.RealtimeURLs...)
	conf, err := json.Marshal(clientConfig{OIDC: cfg.OIDCEnabled, RealtimeURLs: urls, Attachments: cfg.Attachments})
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	var storage []string
	if cfg.Attachments != nil {
		storage = append(storage, cfg.Attachments.StorageOrigin)
	}
	u := &UI{files: map[string]asset{}, config: conf, csp: ContentSecurityPolicy(urls, storage...)}
	root := Files()
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		u.files[p] = asset{body: body, contentType: contentType(p), etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: read embedded files: %w", err)
	}
	if _, ok := u.files["index.html"]; !ok {
		return nil, fmt.Errorf("web: index.html is not embedded")
	}
	return u, nil
}

// MustNew is New for composition roots, where a broken embed is a build bug.
func MustNew(cfg Config) *UI {
	u, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return u
}

// Register mounts the pages, /assets/* and /config.json on r (GET only).
func (u *UI) Register(r chi.Router) {
	for _, p := range Pages {
		r.Get(p, u.servePage)
	}
	r.Get("/assets/*", u.serveAsset)
	r.Get("/config.json", u.serveConfig)
}

func (u *UI) servePage(w http.ResponseWriter, r *http.Request) {
	u.serveFile(w, r, "index.html")
}

func (u *UI) serveAsset(w http.ResponseWriter, r *http.Request) {
	name := path.Clean(chi.URLParam(r, "*"))
	if name == "index.html" || strings.HasPrefix(name, "..") || strings.HasPrefix(name, "/") {
		u.notFound(w)
		return
	}
	u.serveFile(w, r, name)
}

func (u *UI) serveConfig(w http.ResponseWriter, _ *http.Request) {
	u.setHeaders(w)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(u.config)
}

func (u *UI) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := u.files[name]
	if !ok {
		u.notFound(w)
		return
	}
	u.setHeaders(w)
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	// No build step means no content-hashed names, so browsers revalidate every time;
	// the ETag keeps that to a 304.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}

func (u *UI) notFound(w http.ResponseWriter) {
	u.setHeaders(w)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte("not found\n"))
}

func (u *UI) setHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", u.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
}

// ContentSecurityPolicy is the policy every UI response carries: scripts and styles only
// from the gateway itself (no inline code, no eval), no framing, no plugins, network
// connections only to the gateway, the realtime origins and the object stores' origins
// (uploads), and images only from the gateway, data: and blob: URLs (previews of files
// before they are sent) and the object stores (attachments).
func ContentSecurityPolicy(realtimeURLs []string, storageOrigins ...string) string {
	connect := []string{"'self'"}
	for _, raw := range realtimeURLs {
		if o := wsOrigin(raw); o != "" && !slices.Contains(connect, o) {
			connect = append(connect, o)
		}
	}
	img := []string{"'self'", "data:"}
	for _, raw := range storageOrigins {
		if o := httpOrigin(raw); o != "" && !slices.Contains(img, o) {
			img = append(img, o)
			connect = append(connect, o)
		}
	}
	if len(img) > 2 {
		img = append(img, "blob:")
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src " + strings.Join(img, " "),
		"font-src 'self'",
		"manifest-src 'self'",
		"connect-src " + strings.Join(connect, " "),
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'none'",
		"object-src 'none'",
	}, "; ")
}

// wsOrigin returns scheme://host[:port] of a ws or wss URL, or "" when it is not one.
func wsOrigin(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return ""
	}
	// Only scheme, host and port may reach the header, so a configured URL cannot add
	// directives.
	if strings.ContainsAny(u.Host, " ;,'\"") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// httpOrigin returns scheme://host[:port] of an http or https URL, or "" when it is not
// one.
func httpOrigin(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(u.Host, " ;,'\"") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// SplitURLs flattens comma-separated lists of URLs, trimming blanks and dropping empty
// entries and duplicates.
func SplitURLs(lists ...string) []string {
	var out []string
	for _, l := range lists {
		for _, s := range strings.Split(l, ",") {
			if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json", ".webmanifest":
		return "application/json; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Files returns the embedded client files (index.html, app.css, js/…), for tests and tools.
func Files() fs.FS {
	root, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err)
	}
	return root
}
