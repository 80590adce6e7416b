package thumbnail

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"runtime"
	"testing"
)

// testLimits are the gateway's defaults, scaled down.
var testLimits = Limits{MaxPixels: 4_000_000, Box: 64}

// tinyWebP is a 1×1 lossless WebP (no Go encoder exists to make one).
var tinyWebP, _ = base64.StdEncoding.DecodeString("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")

// picture returns a w×h gradient.
func picture(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	return img
}

func encoded(t testing.TB, contentType string, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch contentType {
	case PNG:
		err = png.Encode(&b, img)
	case JPEG:
		err = jpeg.Encode(&b, img, nil)
	case GIF:
		err = gif.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestMake(t *testing.T) {
	tests := []struct {
		name           string
		contentType    string
		data           []byte
		wantW, wantH   int
		wantTW, wantTH int
		wantThumbType  string
		wantErr        error
	}{
		{"a wide PNG fits the box by its width", PNG, encoded(t, PNG, picture(200, 100)), 200, 100, 64, 32, PNG, nil},
		{"a tall JPEG fits the box by its height and stays a JPEG", JPEG, encoded(t, JPEG, picture(50, 400)), 50, 400, 8, 64, JPEG, nil},
		{"a small GIF is not enlarged", GIF, encoded(t, GIF, picture(10, 20)), 10, 20, 10, 20, PNG, nil},
		{"a WebP decodes", WebP, tinyWebP, 1, 1, 1, 1, PNG, nil},
		{"a PNG sent as a JPEG is not an image", JPEG, encoded(t, PNG, picture(10, 10)), 0, 0, 0, 0, "", ErrNotImage},
		{"a truncated PNG is not an image", PNG, encoded(t, PNG, picture(100, 100))[:200], 0, 0, 0, 0, "", ErrNotImage},
		{"text is not an image", PNG, []byte("hello, world"), 0, 0, 0, 0, "", ErrNotImage},
		{"an image over the pixel limit is refused", PNG, encoded(t, PNG, picture(2001, 2000)), 0, 0, 0, 0, "", ErrTooManyPixels},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Make(bytes.NewReader(tt.data), tt.contentType, 1<<20, testLimits)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Width != tt.wantW || got.Height != tt.wantH || got.ThumbWidth != tt.wantTW || got.ThumbHeight != tt.wantTH || got.ThumbType != tt.wantThumbType {
				t.Fatalf("got %d×%d, thumb %d×%d %s", got.Width, got.Height, got.ThumbWidth, got.ThumbHeight, got.ThumbType)
			}
			cfg, _, err := image.DecodeConfig(bytes.NewReader(got.Thumb))
			if err != nil || cfg.Width != tt.wantTW || cfg.Height != tt.wantTH {
				t.Fatalf("thumbnail decodes as %+v, %v", cfg, err)
			}
		})
	}
}

// bombPNG is a valid PNG header promising w×h pixels, followed by a little compressed
// data: what an attacker uploads to make a server allocate w×h×4 bytes.
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
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	chunk("IHDR", ihdr)
	// A zlib stream of a few kilobytes of zeros: it would inflate without end.
	chunk("IDAT", []byte{0x78, 0x9c, 0x63, 0x60, 0x18, 0x05, 0xa3, 0x60, 0x14, 0x0c, 0x77, 0x00, 0x00})
	chunk("IEND", nil)
	return b.Bytes()
}

func TestDecompressionBombsAreRefusedBeforeDecoding(t *testing.T) {
	for _, side := range []uint32{100_000, 40_000} {
		data := bombPNG(side, side)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := Make(bytes.NewReader(data), PNG, 1<<20, Limits{MaxPixels: 40_000_000, Box: 320})
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrTooManyPixels) {
			t.Fatalf("%d×%d: err = %v, want ErrTooManyPixels", side, side, err)
		}
		// Decoding would take side² × 4 bytes; refusing takes the 64 KiB read buffer.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Fatalf("%d×%d: refusing allocated %d bytes", side, side, grew)
		}
	}
}
