package httpapi_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"

	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
	"github.com/quickchat-go/quickchat/pkg/gatewayapi"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/services/gateway/internal/app"
	"github.com/quickchat-go/quickchat/services/gateway/internal/httpapi"
	"github.com/quickchat-go/quickchat/services/gateway/internal/objectstore"
	"github.com/quickchat-go/quickchat/services/gateway/internal/ratelimit"
	"github.com/quickchat-go/quickchat/services/gateway/internal/web"
)

// fileEnv is an API whose attachments live in a bucket of their own on the real S3
// server, with a clock the test can move.
type fileEnv struct {
	*env
	bucket  string
	objects *minio.Client
	app     *app.App
	clock   *testClock
}

// testClock is the real time plus an offset the test moves forward.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// fileSettings are the defaults with room for tests to hit limits.
var fileSettings = app.AttachmentSettings{
	MaxBytes: 1 << 20, Types: []string{"image/png", "image/jpeg", "application/pdf", "text/plain"},
	GroupQuotaBytes: 4 << 20, UploadsPerMember: ratelimit.Rule{}, UploadTTL: 5 * time.Minute, RefTTL: time.Hour,
	DownloadTTL: 5 * time.Minute, OrphanAge: 24 * time.Hour, MaxPixels: 4_000_000, ThumbnailBox: 64,
}

func setupFiles(t *testing.T, settings app.AttachmentSettings) *fileEnv {
	t.Helper()
	opt, fe := withFiles(t, settings)
	fe.env = setup(t, opt)
	fe.app = fe.api.Deps.App
	return fe
}

// withFiles is the option of setup that stores attachments in a bucket of the test's own
// on the real S3 server; the returned fileEnv is complete once setup returns its env.
func withFiles(t *testing.T, settings app.AttachmentSettings) (func(*options), *fileEnv) {
	t.Helper()
	s3 := testenv.S3(t)
	fe := &fileEnv{bucket: testenv.S3Bucket(t), clock: &testClock{}}
	client, err := s3.Client()
	if err != nil {
		t.Fatal(err)
	}
	fe.objects = client
	return func(o *options) {
		o.files = func(t testing.TB, e *env, a *app.Deps, api *httpapi.Deps) {
			objects, err := objectstore.NewS3Store(objectstore.S3Config{
				Endpoint: s3.Endpoint, Bucket: fe.bucket, PathStyle: true, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey,
			})
			if err != nil {
				t.Fatal(err)
			}
			a.Objects, a.AttachmentRecords, a.AttachmentSettings, a.Now = objects, e.st, settings, fe.clock.now
			api.Attachments = &web.Attachments{MaxBytes: settings.MaxBytes, Types: settings.Types, StorageOrigin: objects.PublicOrigin()}
		}
	}, fe
}

// addAttachment has the world's guest upload a text file to g and send it in a message,
// for the matrix rows of the attachment routes.
func (w *world) addAttachment(t testing.TB) {
	t.Helper()
	fe := &fileEnv{env: w.e}
	_, r := fe.upload(t, w.g, w.guestJoin.Token, "notes.txt", "text/plain", []byte("matrix notes\n"))
	want(t, r, http.StatusOK)
	var ready gatewayapi.AttachmentReady
	r.decode(t, &ready)
	w.attachmentID = ready.Attachment.ID
	fe.send(t, w.g, w.guestJoin.Member.ID, ready.Attachment.ID)
}

// picture returns a w×h PNG.
func picture(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x * 7), uint8(y * 3), 200, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// requestUpload asks for an upload of body as name of contentType.
func (fe *fileEnv) requestUpload(t testing.TB, g group, bearer, name, contentType string, size int) *response {
	t.Helper()
	return fe.do(t, req{method: "POST", path: "/api/chat-group/" + g.ID.String() + "/attachments", bearer: bearer,
		body: gatewayapi.AttachmentRequest{Name: name, Size: int64(size), ContentType: contentType}})
}

// postForm uploads body to the store as a browser does with the upload's form, with the
// fields changed by edit, and returns the store's status.
func postForm(t testing.TB, up gatewayapi.Upload, body []byte, edit func(map[string]string)) int {
	t.Helper()
	fields := map[string]string{}
	for k, v := range up.Fields {
		fields[k] = v
	}
	if edit != nil {
		edit(fields)
	}
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	part, err := w.CreateFormFile("file", "upload")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = part.Write(body)
	_ = w.Close()
	res, err := http.Post(up.URL, w.FormDataContentType(), &b)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

// upload asks for an upload, sends body to the store and completes it.
func (fe *fileEnv) upload(t testing.TB, g group, bearer, name, contentType string, body []byte) (gatewayapi.Upload, *response) {
	t.Helper()
	r := fe.requestUpload(t, g, bearer, name, contentType, len(body))
	want(t, r, http.StatusCreated)
	var up gatewayapi.Upload
	r.decode(t, &up)
	if status := postForm(t, up, body, nil); status/100 != 2 {
		t.Fatalf("the store answered the upload with %d", status)
	}
	return up, fe.complete(t, g, bearer, up.AttachmentID)
}

func (fe *fileEnv) complete(t testing.TB, g group, bearer, id string) *response {
	t.Helper()
	return fe.do(t, req{method: "POST", path: "/api/chat-group/" + g.ID.String() + "/attachments/" + id + "/complete", bearer: bearer})
}

func (fe *fileEnv) links(t testing.TB, g group, bearer, id string) *response {
	t.Helper()
	return fe.do(t, req{method: "GET", path: "/api/chat-group/" + g.ID.String() + "/attachments/" + id, bearer: bearer})
}

// keys lists the objects of the bucket.
func (fe *fileEnv) keys(t testing.TB) []string {
	t.Helper()
	var out []string
	for o := range fe.objects.ListObjects(context.Background(), fe.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		out = append(out, o.Key)
	}
	return out
}

// send stores a message of member in g carrying the attachments, as the persister does.
func (fe *fileEnv) send(t testing.TB, g group, member uuid.UUID, ids ...string) uuid.UUID {
	t.Helper()
	m := store.Message{ID: uuid.Must(uuid.NewV7()), GroupID: g.ID, SenderID: member, SenderName: "Grace",
		ClientMsgID: uuid.NewString(), Body: "look", CreatedAt: time.Now()}
	for _, id := range ids {
		m.Attachments = append(m.Attachments, store.Attachment{ID: uuid.MustParse(id)})
	}
	if _, err := fe.st.ApplyEvents(context.Background(), []store.Event{{Message: m}}); err != nil {
		t.Fatal(err)
	}
	return m.ID
}

// fetch GETs a signed URL.
func fetch(t testing.TB, url string) (*http.Response, []byte) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

func TestAFileTravelsFromOneMemberThroughTheStoreToAnother(t *testing.T) {
	fe := setupFiles(t, fileSettings)
	owner := fe.register(t, "Ada")
	g := fe.createGroup(t, owner, "photos")
	guest := fe.join(t, g, "Grace", "")
	img := picture(t, 200, 100)

	up, r := fe.upload(t, g, guest.Token, "../../holiday.png", "image/png", img)
	want(t, r, http.StatusOK)
	var ready gatewayapi.AttachmentReady
	r.decode(t, &ready)
	a := ready.Attachment
	if a.ID != up.AttachmentID || a.Name != "holiday.png" || a.ContentType != "image/png" || a.Size != int64(len(img)) ||
		a.Width != 200 || a.Height != 100 || a.Thumbnail == nil || a.Thumbnail.Width != 64 || a.Thumbnail.Height != 32 {
		t.Fatalf("checked attachment = %+v", a)
	}
	claims, err := token.NewStaticVerifier(fe.signer.PublicKeys(), token.KindAttachment).Verify(context.Background(), ready.Ref)
	if err != nil || claims.Subject != a.ID || claims.GroupID != g.ID.String() || claims.File.Uploader != guest.Member.ID.String() ||
		claims.File.Size != a.Size || claims.File.ThumbWidth != 64 {
		t.Fatalf("reference claims %+v, %v", claims, err)
	}
	if _, err := fe.verifyAny(ready.Ref); err == nil {
		t.Fatal("an attachment reference passes as a bearer token")
	}

	t.Run("a member reads a file before the persister links its message", func(t *testing.T) {
		want(t, fe.links(t, g, owner.access, a.ID), http.StatusOK)
		want(t, fe.links(t, g, guest.Token, a.ID), http.StatusOK)
	})
	fe.send(t, g, guest.Member.ID, a.ID)

	t.Run("another member downloads the same bytes", func(t *testing.T) {
		r := fe.links(t, g, owner.access, a.ID)
		want(t, r, http.StatusOK)
		var links gatewayapi.AttachmentLinks
		r.decode(t, &links)
		res, body := fetch(t, links.URL)
		if res.StatusCode != http.StatusOK || !bytes.Equal(body, img) {
			t.Fatalf("download: %d, %d bytes (want %d)", res.StatusCode, len(body), len(img))
		}
		if got := res.Header.Get("Content-Disposition"); !strings.HasPrefix(got, "inline") || !strings.Contains(got, "holiday.png") {
			t.Errorf("an image is served with Content-Disposition %q", got)
		}
		res, thumb := fetch(t, links.ThumbnailURL)
		cfg, err := png.DecodeConfig(bytes.NewReader(thumb))
		if res.StatusCode != http.StatusOK || err != nil || cfg.Width != 64 || cfg.Height != 32 {
			t.Fatalf("thumbnail: %d, %+v, %v", res.StatusCode, cfg, err)
		}
	})
	t.Run("history carries the attachment", func(t *testing.T) {
		r := fe.do(t, req{method: "GET", path: "/api/chats/" + g.ID.String(), bearer: owner.access})
		want(t, r, http.StatusOK)
		var page gatewayapi.HistoryPage
		r.decode(t, &page)
		if len(page.Messages) != 1 || len(page.Messages[0].Attachments) != 1 || page.Messages[0].Attachments[0] != withoutThumb(a, page.Messages[0].Attachments[0]) {
			t.Fatalf("history = %+v", page.Messages)
		}
	})
	t.Run("non-members never reach the file", func(t *testing.T) {
		stranger := fe.register(t, "Mallory")
		other := fe.createGroup(t, stranger, "elsewhere")
		want(t, fe.links(t, g, stranger.access, a.ID), http.StatusNotFound)
		want(t, fe.links(t, g, "", a.ID), http.StatusUnauthorized)
		// A member of another group naming its own group and someone else's file.
		want(t, fe.links(t, other, stranger.access, a.ID), http.StatusNotFound)
		want(t, fe.complete(t, other, stranger.access, a.ID), http.StatusNotFound)
		// Another member cannot complete (and so re-reference) the uploader's file.
		want(t, fe.complete(t, g, owner.access, a.ID), http.StatusNotFound)
	})
	t.Run("completing again gives a fresh reference to the same check", func(t *testing.T) {
		r := fe.complete(t, g, guest.Token, a.ID)
		want(t, r, http.StatusOK)
		var again gatewayapi.AttachmentReady
		r.decode(t, &again)
		if again.Attachment != withoutThumb(a, again.Attachment) || again.Ref == "" {
			t.Fatalf("second completion = %+v", again)
		}
	})
	t.Run("documents are served as downloads", func(t *testing.T) {
		text := []byte("minutes of the meeting\n")
		_, r := fe.upload(t, g, guest.Token, "minutes.txt", "text/plain", text)
		want(t, r, http.StatusOK)
		var doc gatewayapi.AttachmentReady
		r.decode(t, &doc)
		if doc.Attachment.Thumbnail != nil || doc.Attachment.Width != 0 {
			t.Errorf("a text file got image metadata: %+v", doc.Attachment)
		}
		fe.send(t, g, guest.Member.ID, doc.Attachment.ID)
		r = fe.links(t, g, owner.access, doc.Attachment.ID)
		want(t, r, http.StatusOK)
		var links gatewayapi.AttachmentLinks
		r.decode(t, &links)
		res, body := fetch(t, links.URL)
		if !bytes.Equal(body, text) || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("a text file is served as %q with %q", res.Header.Get("Content-Disposition"), body)
		}
		if links.ThumbnailURL != "" {
			t.Errorf("a text file has a thumbnail URL")
		}
	})
}

// withoutThumb returns a with the thumbnail pointer of got, so structs compare by value.
func withoutThumb(a, got gatewayapi.Attachment) gatewayapi.Attachment {
	if a.Thumbnail != nil && got.Thumbnail != nil && *a.Thumbnail == *got.Thumbnail {
		a.Thumbnail = got.Thumbnail
	}
	return a
}

// verifyAny checks raw as the API's bearer tokens are checked.
func (fe *fileEnv) verifyAny(raw string) (token.Claims, error) {
	return token.NewStaticVerifier(fe.signer.PublicKeys(), token.KindAccess, token.KindMember).Verify(context.Background(), raw)
}

func TestTheStoreItselfRefusesUploadsOutsideTheirPolicy(t *testing.T) {
	fe := setupFiles(t, fileSettings)
	owner := fe.register(t, "Ada")
	g := fe.createGroup(t, owner, "files")
	body := picture(t, 20, 20)
	r := fe.requestUpload(t, g, owner.access, "a.png", "image/png", len(body))
	want(t, r, http.StatusCreated)
	var up gatewayapi.Upload
	r.decode(t, &up)
	if up.Method != http.MethodPost || up.MaxBytes != fileSettings.MaxBytes || time.Until(up.ExpiresAt.Time) > 6*time.Minute {
		t.Fatalf("upload = %+v", up)
	}
	for _, tc := range []struct {
		name string
		body []byte
		edit func(map[string]string)
	}{
		{"a file one byte longer than announced", append(bytes.Clone(body), 0), nil},
		{"a file one byte shorter than announced", body[:len(body)-1], nil},
		{"another content type", body, func(f map[string]string) { f["Content-Type"] = "text/html" }},
		{"another key", body, func(f map[string]string) { f["key"] = "groups/" + uuid.NewString() + "/x" }},
		{"a forged policy", body, func(f map[string]string) { f["policy"] = strings.ToUpper(f["policy"][:4]) + f["policy"][4:] }},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			if status := postForm(t, up, tc.body, tc.edit); status/100 == 2 {
				t.Fatalf("the store accepted it (%d)", status)
			}
		})
	}
	if keys := fe.keys(t); len(keys) != 0 {
		t.Fatalf("refused uploads left objects: %v", keys)
	}
	t.Run("completing before any upload is a conflict", func(t *testing.T) {
		want(t, fe.complete(t, g, owner.access, up.AttachmentID), http.StatusConflict)
	})
	t.Run("an upload after the policy expired is refused", func(t *testing.T) {
		fe.clock.advance(-10 * time.Minute) // the next policy expires five minutes ago
		defer fe.clock.advance(10 * time.Minute)
		r := fe.requestUpload(t, g, owner.access, "a.png", "image/png", len(body))
		want(t, r, http.StatusCreated)
		var late gatewayapi.Upload
		r.decode(t, &late)
		if status := postForm(t, late, body, nil); status/100 == 2 {
			t.Fatalf("the store accepted an expired upload (%d)", status)
		}
	})
}

// bombPNG is a PNG header promising w×h pixels with a little compressed data after it.
func bombPNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		b.WriteString(typ)
		b.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x63, 0x60, 0x18, 0x05, 0xa3, 0x60, 0x14, 0x0c, 0x77, 0x00, 0x00})
	chunk("IEND", nil)
	return b.Bytes()
}

func TestTheGatewayRefusesFilesThatAreNotWhatTheyClaim(t *testing.T) {
	fe := setupFiles(t, fileSettings)
	owner := fe.register(t, "Ada")
	g := fe.createGroup(t, owner, "files")
	for _, tc := range []struct {
		name, contentType string
		body              []byte
		message           string
	}{
		{"markup sent as a PNG", "image/png", []byte("<html><script>alert(1)</script></html>"), "not image/png"},
		{"markup sent as text", "text/plain", []byte("<!DOCTYPE html><html><body>hi</body></html>"), "text/html"},
		{"a PNG sent as a JPEG", "image/jpeg", picture(t, 10, 10), "image/png, not image/jpeg"},
		{"a decompression bomb", "image/png", bombPNG(100_000, 100_000), "pixels"},
		{"a truncated image", "image/png", picture(t, 300, 300)[:400], "well-formed"},
	} {
		t.Run(tc.name+" is refused and deleted", func(t *testing.T) {
			_, r := fe.upload(t, g, owner.access, "f", tc.contentType, tc.body)
			want(t, r, http.StatusBadRequest)
			if !strings.Contains(string(r.body), tc.message) {
				t.Errorf("refusal %s does not say %q", r.body, tc.message)
			}
			if keys := fe.keys(t); len(keys) != 0 {
				t.Fatalf("the refused file is still stored: %v", keys)
			}
		})
	}
	t.Run("requests the gateway refuses before any upload", func(t *testing.T) {
		for _, tc := range []struct {
			name, fileName, contentType string
			size, status                int
		}{
			{"a file over the size limit", "big.pdf", "application/pdf", 1<<20 + 1, http.StatusRequestEntityTooLarge},
			{"a type that is not allowed", "x.svg", "image/svg+xml", 10, http.StatusBadRequest},
			{"an empty file", "x.pdf", "application/pdf", 0, http.StatusBadRequest},
			{"a name with a right-to-left override", "photo\u202egnp.exe", "image/png", 10, http.StatusBadRequest},
			{"a name of control characters", "a\x00b", "image/png", 10, http.StatusBadRequest},
		} {
			t.Run(tc.name, func(t *testing.T) {
				want(t, fe.requestUpload(t, g, owner.access, tc.fileName, tc.contentType, tc.size), tc.status)
			})
		}
	})
}

func TestUploadsAreLimitedPerMemberAndPerGroup(t *testing.T) {
	settings := fileSettings
	settings.GroupQuotaBytes = 2500
	settings.UploadsPerMember = ratelimit.Rule{Limit: 3, Per: time.Hour}
	fe := setupFiles(t, settings)
	owner := fe.register(t, "Ada")
	g := fe.createGroup(t, owner, "quota")
	guest := fe.join(t, g, "Grace", "")
	want(t, fe.requestUpload(t, g, owner.access, "a.pdf", "application/pdf", 1000), http.StatusCreated)
	want(t, fe.requestUpload(t, g, owner.access, "b.pdf", "application/pdf", 1000), http.StatusCreated)
	r := fe.requestUpload(t, g, guest.Token, "c.pdf", "application/pdf", 1000)
	want(t, r, http.StatusConflict)
	if !strings.Contains(string(r.body), "group's files") {
		t.Errorf("quota refusal says %s", r.body)
	}
	want(t, fe.requestUpload(t, g, owner.access, "d.pdf", "application/pdf", 10), http.StatusCreated)
	want(t, fe.requestUpload(t, g, owner.access, "e.pdf", "application/pdf", 10), http.StatusTooManyRequests)
}

func TestFilesNoMessageShowsAreDeleted(t *testing.T) {
	fe := setupFiles(t, fileSettings)
	owner := fe.register(t, "Ada")
	g := fe.createGroup(t, owner, "janitor")
	img := picture(t, 40, 40)
	sent := func(name string) string {
		t.Helper()
		_, r := fe.upload(t, g, owner.access, name, "image/png", img)
		want(t, r, http.StatusOK)
		var ready gatewayapi.AttachmentReady
		r.decode(t, &ready)
		return ready.Attachment.ID
	}
	kept, orphan, deleted := sent("kept.png"), sent("orphan.png"), sent("deleted.png")
	member, err := fe.st.MemberByUser(context.Background(), g.ID, owner.id)
	if err != nil {
		t.Fatal(err)
	}
	fe.send(t, g, member.ID, kept)
	gone := fe.send(t, g, member.ID, deleted)
	if _, err := fe.st.ApplyEvents(context.Background(), []store.Event{{Deletion: &store.Deletion{
		EventID: uuid.Must(uuid.NewV7()), MessageID: gone, GroupID: g.ID, DeletedBy: member.ID, DeletedAt: time.Now(),
	}}}); err != nil {
		t.Fatal(err)
	}
	objectsOf := func(id string) int {
		n := 0
		for _, k := range fe.keys(t) {
			if strings.Contains(k, id) {
				n++
			}
		}
		return n
	}
	want(t, fe.links(t, g, owner.access, deleted), http.StatusNotFound)

	t.Run("a sweep before the orphan age keeps the unsent file", func(t *testing.T) {
		if _, err := fe.app.Attachments.Sweep(context.Background(), 100); err != nil {
			t.Fatal(err)
		}
		if objectsOf(orphan) != 2 || objectsOf(kept) != 2 || objectsOf(deleted) != 0 {
			t.Fatalf("after the first sweep: %v", fe.keys(t))
		}
	})
	t.Run("after the orphan age the unsent file goes and the sent one stays", func(t *testing.T) {
		fe.clock.advance(fileSettings.OrphanAge + time.Minute)
		if n, err := fe.app.Attachments.Sweep(context.Background(), 100); err != nil || n != 1 {
			t.Fatalf("Sweep = %d, %v; want the orphan", n, err)
		}
		if objectsOf(orphan) != 0 || objectsOf(kept) != 2 {
			t.Fatalf("after the second sweep: %v", fe.keys(t))
		}
		if _, err := fe.st.Attachment(context.Background(), uuid.MustParse(orphan)); err == nil {
			t.Fatal("the orphan's record is still there")
		}
		want(t, fe.links(t, g, owner.access, kept), http.StatusOK)
	})
	t.Run("deleting the group deletes its files at once", func(t *testing.T) {
		want(t, fe.do(t, req{method: "DELETE", path: "/api/chat-group/" + g.ID.String(), bearer: owner.access}), http.StatusNoContent)
		if keys := fe.keys(t); len(keys) != 0 {
			t.Fatalf("the deleted group's files remain: %v", keys)
		}
		if as, err := fe.st.GroupAttachments(context.Background(), g.ID, 10); err != nil || len(as) != 0 {
			t.Fatalf("the deleted group's records remain: %v, %v", as, err)
		}
	})
}

func TestAttachmentRoutesAnswer404WhenAttachmentsAreOff(t *testing.T) {
	e := setup(t)
	owner := e.register(t, "Ada")
	g := e.createGroup(t, owner, "plain")
	r := e.do(t, req{method: "POST", path: "/api/chat-group/" + g.ID.String() + "/attachments", bearer: owner.access,
		body: gatewayapi.AttachmentRequest{Name: "a.png", Size: 10, ContentType: "image/png"}})
	want(t, r, http.StatusNotFound)
	if !strings.Contains(string(r.body), "not enabled") {
		t.Errorf("body %s", r.body)
	}
	r = e.do(t, req{method: "GET", path: "/config.json"})
	if !strings.Contains(string(r.body), `"attachments":null`) {
		t.Errorf("config.json = %s", r.body)
	}
}
